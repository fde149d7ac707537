import Foundation
import KioskCore

/// What is wrong with a card's data.
public enum CardDataError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The read response's length fields do not match its size.
    case layout(String)
    /// A field holds something its kind cannot hold.
    case field(String, String)

    public var description: String {
        switch self {
        case .layout(let why): return "read response layout: \(why)"
        case let .field(name, why): return "field \(name): \(why)"
        }
    }
}

/// A card as the reader returned it: the identity, and the photo and fingerprint as raw bytes.
///
/// Personal data: call `wipe()` when the session ends.
public struct CardRead: Sendable {
    public let identity: CardIdentity
    /// 1024 bytes of WLT-encoded photo.
    public let photo: SensitiveBytes
    /// 0, 512 or 1024 bytes of fingerprint templates.
    public let fingerprint: SensitiveBytes

    public init(identity: CardIdentity, photo: [UInt8], fingerprint: [UInt8]) {
        self.identity = identity
        self.photo = SensitiveBytes(photo)
        self.fingerprint = SensitiveBytes(fingerprint)
    }

    /// Zeroes the photo and fingerprint.
    public func wipe() {
        photo.wipe()
        fingerprint.wipe()
    }
}

/// The parts of a `30 01` or `30 10` response.
public struct ReadResponseLayout: Sendable {
    public var text: [UInt8]
    public var photo: [UInt8]
    public var fingerprint: [UInt8]

    /// Splits a read response's data (after SW3), using its own length fields.
    /// Tells `30 01` (two length fields) from `30 10` (three) by the total size.
    public init(data: [UInt8]) throws(CardDataError) {
        func be(_ i: Int) -> Int { Int(data[i]) << 8 | Int(data[i + 1]) }
        guard data.count >= 4 else { throw .layout("\(data.count) bytes, too short for the length fields") }
        let textCount = be(0), photoCount = be(2)
        if data.count == 4 + textCount + photoCount {
            text = Array(data[4..<(4 + textCount)])
            photo = Array(data[(4 + textCount)...])
            fingerprint = []
        } else if data.count >= 6, data.count == 6 + textCount + photoCount + be(4) {
            let t = 6, p = t + textCount, f = p + photoCount
            text = Array(data[t..<p])
            photo = Array(data[p..<f])
            fingerprint = Array(data[f...])
        } else {
            throw .layout("text \(textCount) + photo \(photoCount) bytes do not fit the \(data.count) bytes received")
        }
        guard text.count == CardText.blockSize else {
            throw .layout("text block is \(text.count) bytes, expected \(CardText.blockSize)")
        }
    }

    /// Builds a response's data: `30 01` form when `withFingerprintField` is false.
    public static func encode(text: [UInt8], photo: [UInt8], fingerprint: [UInt8], withFingerprintField: Bool) -> [UInt8] {
        func be(_ v: Int) -> [UInt8] { [UInt8(truncatingIfNeeded: v >> 8), UInt8(truncatingIfNeeded: v)] }
        if withFingerprintField {
            return be(text.count) + be(photo.count) + be(fingerprint.count) + text + photo + fingerprint
        }
        return be(text.count) + be(photo.count) + text + photo
    }
}

/// The 256-byte UCS-2LE text block of every card kind.
public enum CardText {
    public static let blockSize = 256

    /// Decodes a read response's data into a card.
    public static func decodeRead(data: [UInt8]) throws(CardDataError) -> CardRead {
        var layout = try ReadResponseLayout(data: data)
        defer { wipeBytes(&layout.text) }
        let identity = try decode(layout.text)
        return CardRead(identity: identity, photo: layout.photo, fingerprint: layout.fingerprint)
    }

    /// Decodes a 256-byte text block.
    public static func decode(_ block: [UInt8]) throws(CardDataError) -> CardIdentity {
        guard block.count == blockSize else {
            throw .layout("text block is \(block.count) bytes, expected \(blockSize)")
        }
        var fields = FieldReader(block: block)
        switch fields.string(248, 2) {
        case "J": return try decodePermit(&fields)
        case "I": return try decodeForeigner2017(&fields)
        case "Y": return try decodeForeigner2023(&fields)
        default: return try decodeResident(&fields)
        }
    }

    private static func decodeResident(_ f: inout FieldReader) throws(CardDataError) -> CardIdentity {
        let code = f.string(32, 4)
        guard let ethnicity = Ethnicity.name(code: code) else {
            throw .field("ethnicity", "code '\(code)' is not in GB 3304")
        }
        return CardIdentity(
            cardType: .resident, name: try f.required("name", 0, 30), sex: try f.sex(30),
            ethnicity: ethnicity, birthDate: try f.date("birthDate", 36), address: f.optional(52, 70),
            idNumber: try f.required("idNumber", 122, 36), issuer: f.optional(158, 30),
            validFrom: try f.date("validFrom", 188), validUntil: try f.endDate("validUntil", 204))
    }

    private static func decodePermit(_ f: inout FieldReader) throws(CardDataError) -> CardIdentity {
        let countText = f.string(238, 4)
        guard let issueCount = Int(countText) else {
            throw .field("issueCount", "'\(countText)' is not a number")
        }
        return CardIdentity(
            cardType: .hkMacaoTaiwan, name: try f.required("name", 0, 30), sex: try f.sex(30),
            birthDate: try f.date("birthDate", 36), address: f.optional(52, 70),
            idNumber: try f.required("idNumber", 122, 36), issuer: f.optional(158, 30),
            validFrom: try f.date("validFrom", 188), validUntil: try f.endDate("validUntil", 204),
            passNumber: try f.required("passNumber", 220, 18), issueCount: issueCount)
    }

    private static func decodeForeigner2017(_ f: inout FieldReader) throws(CardDataError) -> CardIdentity {
        CardIdentity(
            cardType: .foreigner2017, name: f.optional(158, 30),
            englishName: try f.required("englishName", 0, 120), sex: try f.sex(120),
            birthDate: try f.date("birthDate", 220), idNumber: try f.required("idNumber", 122, 30),
            issuer: f.optional(240, 8), validFrom: try f.date("validFrom", 188),
            validUntil: try f.endDate("validUntil", 204), nationality: try f.required("nationality", 152, 6),
            cardVersion: f.optional(236, 4))
    }

    private static func decodeForeigner2023(_ f: inout FieldReader) throws(CardDataError) -> CardIdentity {
        let renewalText = f.string(32, 4)
        guard let renewals = Int(renewalText) else {
            throw .field("renewalCount", "'\(renewalText)' is not a number")
        }
        let english = f.string(52, 70) + f.string(220, 22)
        return CardIdentity(
            cardType: .foreigner2023, name: f.optional(0, 30),
            englishName: english.isEmpty ? nil : english, sex: try f.sex(30),
            birthDate: try f.date("birthDate", 36), idNumber: try f.required("idNumber", 122, 36),
            validFrom: try f.date("validFrom", 188), validUntil: try f.endDate("validUntil", 204),
            nationality: try f.required("nationality", 242, 6), renewalCount: renewals,
            previousNumber: f.optional(250, 6))
    }

    /// Encodes a card into a text block (the simulator's side, and test fixtures).
    public static func encode(_ card: CardIdentity) -> [UInt8] {
        var w = FieldWriter()
        let until = card.validUntil.map(compactDate) ?? "长期"
        switch card.cardType {
        case .resident, .hkMacaoTaiwan:
            w.put(card.name ?? "", 0, 30)
            w.put(card.sex.code, 30, 2)
            if card.cardType == .resident {
                w.put(card.ethnicity.flatMap(Ethnicity.code(name:)) ?? "01", 32, 4)
            }
            w.put(compactDate(card.birthDate), 36, 16)
            w.put(card.address ?? "", 52, 70)
            w.put(card.idNumber, 122, 36)
            w.put(card.issuer ?? "", 158, 30)
            w.put(compactDate(card.validFrom), 188, 16)
            w.put(until, 204, 16)
            if card.cardType == .hkMacaoTaiwan {
                w.put(card.passNumber ?? "", 220, 18)
                w.put(pad(card.issueCount ?? 0, 2), 238, 4)
                w.put("J", 248, 2)
            }
        case .foreigner2017:
            w.put(card.englishName ?? "", 0, 120)
            w.put(card.sex.code, 120, 2)
            w.put(card.idNumber, 122, 30)
            w.put(card.nationality ?? "", 152, 6)
            w.put(card.name ?? "", 158, 30)
            w.put(compactDate(card.validFrom), 188, 16)
            w.put(until, 204, 16)
            w.put(compactDate(card.birthDate), 220, 16)
            w.put(card.cardVersion ?? "", 236, 4)
            w.put(card.issuer ?? "", 240, 8)
            w.put("I", 248, 2)
        case .foreigner2023:
            let english = Array(card.englishName ?? "")
            w.put(card.name ?? "", 0, 30)
            w.put(card.sex.code, 30, 2)
            w.put(pad(card.renewalCount ?? 0, 2), 32, 4)
            w.put(compactDate(card.birthDate), 36, 16)
            w.put(String(english.prefix(35)), 52, 70)
            w.put(card.idNumber, 122, 36)
            w.put(compactDate(card.validFrom), 188, 16)
            w.put(until, 204, 16)
            w.put(String(english.dropFirst(35).prefix(11)), 220, 22)
            w.put(card.nationality ?? "", 242, 6)
            w.put("Y", 248, 2)
            w.put(card.previousNumber ?? "", 250, 6)
        }
        return w.block
    }

    /// UCS-2 little-endian text with trailing spaces and NULs trimmed (the card's field padding).
    public static func decodeUCS2LE<C: Collection>(_ bytes: C) -> String where C.Element == UInt8, C.Index == Int {
        var units: [UInt16] = []
        units.reserveCapacity(bytes.count / 2)
        var i = bytes.startIndex
        while i + 1 < bytes.endIndex {
            units.append(UInt16(bytes[i]) | UInt16(bytes[i + 1]) << 8)
            i += 2
        }
        while let last = units.last, last == 0x20 || last == 0 { units.removeLast() }
        return String(decoding: units, as: UTF16.self)
    }

    /// `text` as UCS-2 little-endian in exactly `byteCount` bytes, cut or padded with spaces.
    public static func encodeUCS2LE(_ text: String, byteCount: Int) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(byteCount)
        for unit in text.utf16 where bytes.count + 1 < byteCount {
            bytes += [UInt8(truncatingIfNeeded: unit), UInt8(truncatingIfNeeded: unit >> 8)]
        }
        while bytes.count + 1 < byteCount { bytes += [0x20, 0x00] }
        if bytes.count < byteCount { bytes.append(0) }
        return bytes
    }

    static func compactDate(_ d: CalendarDate) -> String {
        d.description.replacingOccurrences(of: "-", with: "")
    }

    static func pad(_ v: Int, _ width: Int) -> String {
        let s = String(v)
        return String(repeating: "0", count: max(0, width - s.count)) + s
    }
}

/// Reads UCS-2LE fields out of a text block.
private struct FieldReader {
    let block: [UInt8]

    /// The field's text with trailing spaces and NULs trimmed.
    func string(_ offset: Int, _ count: Int) -> String {
        CardText.decodeUCS2LE(block[offset..<(offset + count)])
    }

    func optional(_ offset: Int, _ count: Int) -> String? {
        let s = string(offset, count)
        return s.isEmpty ? nil : s
    }

    func required(_ name: String, _ offset: Int, _ count: Int) throws(CardDataError) -> String {
        guard let s = optional(offset, count) else { throw .field(name, "empty") }
        guard !s.contains("\u{FFFD}") else { throw .field(name, "not valid UCS-2 text") }
        return s
    }

    func sex(_ offset: Int) throws(CardDataError) -> Sex {
        let code = string(offset, 2)
        guard let sex = Sex(code: code) else { throw .field("sex", "code '\(code)' is not 0, 1, 2 or 9") }
        return sex
    }

    func date(_ name: String, _ offset: Int) throws(CardDataError) -> CalendarDate {
        let text = string(offset, 16)
        guard let date = CalendarDate(text), text.count == 8 else {
            throw .field(name, "'\(text)' is not a YYYYMMDD date")
        }
        return date
    }

    /// A validity end: a date, or 长期 for none.
    func endDate(_ name: String, _ offset: Int) throws(CardDataError) -> CalendarDate? {
        if string(offset, 16).hasPrefix("长期") { return nil }
        return try date(name, offset)
    }
}

/// Writes UCS-2LE fields into a space-padded text block.
private struct FieldWriter {
    var block = CardText.encodeUCS2LE("", byteCount: CardText.blockSize)

    mutating func put(_ text: String, _ offset: Int, _ count: Int) {
        block.replaceSubrange(offset..<(offset + count), with: CardText.encodeUCS2LE(text, byteCount: count))
    }
}

/// GB 3304 ethnicity codes.
public enum Ethnicity {
    static let names: [String] = [
        "汉", "蒙古", "回", "藏", "维吾尔", "苗", "彝", "壮", "布依", "朝鲜", "满", "侗", "瑶", "白", "土家",
        "哈尼", "哈萨克", "傣", "黎", "傈僳", "佤", "畲", "高山", "拉祜", "水", "东乡", "纳西", "景颇",
        "柯尔克孜", "土", "达斡尔", "仫佬", "羌", "布朗", "撒拉", "毛南", "仡佬", "锡伯", "阿昌", "普米",
        "塔吉克", "怒", "乌孜别克", "俄罗斯", "鄂温克", "德昂", "保安", "裕固", "京", "塔塔尔", "独龙",
        "鄂伦春", "赫哲", "门巴", "珞巴", "基诺",
    ]

    /// The name for a 2-digit code: 01 汉 … 56 基诺, 57 or 97 其他, 98 外国血统中国籍人士.
    public static func name(code: String) -> String? {
        guard code.count == 2, let n = Int(code) else { return nil }
        switch n {
        case 1...56: return names[n - 1]
        case 57, 97: return "其他"
        case 98: return "外国血统中国籍人士"
        default: return nil
        }
    }

    /// The code for a name, e.g. 汉 → 01.
    public static func code(name: String) -> String? {
        if let i = names.firstIndex(of: name) { return CardText.pad(i + 1, 2) }
        if name == "其他" { return "97" }
        if name == "外国血统中国籍人士" { return "98" }
        return nil
    }
}
