import Foundation

/// A calendar date with no time or zone, as printed on cards and documents.
/// Codable as `YYYY-MM-DD`; parses `YYYYMMDD` (card text) and `YYYY-MM-DD` (JSON).
public struct CalendarDate: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    public let year: Int
    public let month: Int
    public let day: Int

    /// A validated date, or nil when no such day exists (years 1000–9999).
    public init?(year: Int, month: Int, day: Int) {
        guard (1000...9999).contains(year), (1...12).contains(month),
              (1...CalendarDate.daysIn(month: month, year: year)).contains(day) else { return nil }
        self.year = year
        self.month = month
        self.day = day
    }

    /// A date known to be valid at compile time.
    init(unchecked year: Int, _ month: Int, _ day: Int) {
        self.year = year
        self.month = month
        self.day = day
    }

    /// Parses `YYYYMMDD` or `YYYY-MM-DD`; nil for anything else or an impossible day.
    public init?(_ text: some StringProtocol) {
        let digits: [UInt8]
        let bytes = Array(text.utf8)
        if bytes.count == 8 {
            digits = bytes
        } else if bytes.count == 10, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-") {
            digits = Array(bytes[0..<4] + bytes[5..<7] + bytes[8..<10])
        } else {
            return nil
        }
        guard digits.allSatisfy({ (48...57).contains($0) }) else { return nil }
        func number(_ range: Range<Int>) -> Int {
            digits[range].reduce(0) { $0 * 10 + Int($1 - 48) }
        }
        self.init(year: number(0..<4), month: number(4..<6), day: number(6..<8))
    }

    /// `YYYY-MM-DD`.
    public var description: String {
        func pad(_ value: Int, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))"
    }

    /// `YYYY年MM月DD日`, as printed on Chinese documents.
    public var chineseDescription: String {
        let text = description
        let parts = text.split(separator: "-")
        return "\(parts[0])年\(parts[1])月\(parts[2])日"
    }

    public static func < (lhs: CalendarDate, rhs: CalendarDate) -> Bool {
        (lhs.year, lhs.month, lhs.day) < (rhs.year, rhs.month, rhs.day)
    }

    /// Days in a month of the Gregorian calendar.
    public static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 1, 3, 5, 7, 8, 10, 12: return 31
        case 4, 6, 9, 11: return 30
        case 2:
            let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
            return leap ? 29 : 28
        default: return 0
        }
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let date = CalendarDate(text) else {
            throw DecodingError.dataCorruptedError(
                in: container, debugDescription: "'\(text)' is not a date: expected YYYY-MM-DD")
        }
        self = date
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

extension TimeZone {
    /// China Standard Time (Beijing, UTC+8, no daylight saving): the kiosks' and registry's days,
    /// receipts' clocks and tracking numbers' dates.
    public static let kiosk = TimeZone(identifier: "Asia/Shanghai") ?? TimeZone(secondsFromGMT: 8 * 3600) ?? .current
}

extension CalendarDate {
    /// Today's date in the given time zone (China Standard Time by default).
    public static func today(in timeZone: TimeZone = .kiosk,
                             now: Date = Date()) -> CalendarDate {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let parts = calendar.dateComponents([.year, .month, .day], from: now)
        let fallback = CalendarDate(unchecked: 2000, 1, 1)
        return CalendarDate(year: parts.year ?? 2000, month: parts.month ?? 1, day: parts.day ?? 1) ?? fallback
    }
}

/// RFC 3339 UTC timestamps (`2026-11-23T17:55:22Z`) without Foundation's formatters, which load
/// ICU data (several megabytes of memory) on first use.
public enum Timestamp {
    /// `date` as `YYYY-MM-DDTHH:MM:SSZ`.
    public static func rfc3339(_ date: Date = Date()) -> String {
        var seconds = time_t(date.timeIntervalSince1970.rounded(.down))
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec))Z"
    }
}
