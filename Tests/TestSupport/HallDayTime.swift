import Foundation
import KioskCore

/// The hall's day and hour (Beijing time), for appointments that lie within one day whatever
/// the hour a test runs at.
public enum HallDayTime {
    static var calendar: Calendar {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = .kiosk
        return calendar
    }

    /// The hour of `date` in Beijing.
    public static func hour(_ date: Date) -> Int { calendar.component(.hour, from: date) }

    /// `date` less `seconds`, but no earlier than the start of its day.
    public static func startOfDay(_ date: Date, within seconds: TimeInterval) -> Date {
        max(date.addingTimeInterval(-seconds), calendar.startOfDay(for: date))
    }

    /// `date` plus `seconds`, but no later than the last second of its day.
    public static func endOfDay(_ date: Date, within seconds: TimeInterval) -> Date {
        let next = calendar.startOfDay(for: date).addingTimeInterval(86_400 - 1)
        return min(date.addingTimeInterval(seconds), next)
    }
}
