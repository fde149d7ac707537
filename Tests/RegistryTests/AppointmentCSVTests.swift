import Foundation
import Registry
import Testing

/// A booking system's CSV export, read as registryd imports it: columns by name, quoted fields,
/// and every fault named by line and column.
@Suite struct AppointmentCSVTests {
    static let header = "name,id,site,serviceCode,queue,idNumber,startsAt,endsAt"

    @Test func columnsInAnyOrderAndQuotedFields() throws {
        let text = Self.header + "\n"
            + "\"张三, 代办\",booking-00000001,demo-hall,SC-FUND,B,441900199003181234,2026-12-04T01:00:00Z,2026-12-04T01:30:00Z\r\n"
            + "\n"
            + "\"李\"\"四\",booking-00000002,demo-hall,SC-ESTATE,A,11010519491231002X,2026-12-04T02:00:00Z,2026-12-04T02:30:00Z\n"
        let appointments = try AppointmentCSV.parse(text)
        #expect(appointments.map(\.name) == ["张三, 代办", "李\"四"])
        #expect(appointments.first?.queue == "B" && appointments.last?.idNumber == "11010519491231002X")
    }

    @Test func faultsAreNamedByLineAndColumn() {
        let cases: [(String, String)] = [
            ("", "line 1"),
            ("id,site,serviceCode,queue,idNumber,name,startsAt", "column endsAt: missing from the header"),
            (Self.header + "\n张三,booking-00000001,demo-hall,SC-FUND,B,441900199003181234,tomorrow,2026-12-04T01:30:00Z", "line 2, column startsAt"),
            (Self.header + "\n张三,booking-00000001,demo-hall,SC-FUND,B,441900199003181235,2026-12-04T01:00:00Z,2026-12-04T01:30:00Z", "line 2: idNumber"),
            (Self.header + "\n\"张三,booking-00000001", "line 2: a quoted field is not closed"),
            (Self.header + "\n张三,booking-00000001,demo-hall", "line 2, column serviceCode: missing"),
        ]
        for (text, says) in cases {
            do {
                _ = try AppointmentCSV.parse(text)
                Issue.record("accepted: \(text)")
            } catch {
                #expect(error.description.contains(says), "\(error.description) for \(text.suffix(40))")
            }
        }
    }
}
