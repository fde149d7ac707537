import Foundation

/// A day's appointments as a booking system exports them: a header line naming the columns
/// `id, site, serviceCode, queue, idNumber, name, startsAt, endsAt` (any order), then one line per
/// appointment; fields may be quoted ("" for a quote); times in ISO 8601.
public enum AppointmentCSV {
    /// What is wrong with a CSV file, by line and column.
    public struct Failure: Error, CustomStringConvertible, Equatable {
        public var line: Int
        public var column: String?
        public var reason: String
        public var description: String { "line \(line)" + (column.map { ", column \($0)" } ?? "") + ": \(reason)" }
    }

    public static let columns = ["id", "site", "serviceCode", "queue", "idNumber", "name", "startsAt", "endsAt"]

    /// The appointments of `text`, each checked as the registry checks them.
    public static func parse(_ text: String) throws(Failure) -> [Appointment] {
        let lines = text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).map(String.init)
        guard let headerLine = lines.first, !headerLine.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw Failure(line: 1, column: nil, reason: "the file is empty; the first line names the columns \(columns.joined(separator: ","))")
        }
        let header = try fields(headerLine, line: 1).map { $0.trimmingCharacters(in: .whitespaces) }
        var index: [String: Int] = [:]
        for column in columns {
            guard let at = header.firstIndex(of: column) else {
                throw Failure(line: 1, column: column, reason: "missing from the header (\(columns.joined(separator: ",")))")
            }
            index[column] = at
        }
        let iso = ISO8601DateFormatter()
        var out: [Appointment] = []
        for (offset, line) in lines.enumerated().dropFirst() where !line.trimmingCharacters(in: .whitespaces).isEmpty {
            let number = offset + 1
            guard out.count < 100_000 else { throw Failure(line: number, column: nil, reason: "at most 100,000 appointments in one file") }
            let values = try fields(line, line: number)
            func value(_ column: String) throws(Failure) -> String {
                guard let at = index[column], values.indices.contains(at) else { throw Failure(line: number, column: column, reason: "missing") }
                return values[at].trimmingCharacters(in: .whitespaces)
            }
            func date(_ column: String) throws(Failure) -> Date {
                let text = try value(column)
                guard let date = iso.date(from: text) else { throw Failure(line: number, column: column, reason: "'\(text.prefix(40))' is not an ISO 8601 time") }
                return date
            }
            let appointment = Appointment(id: try value("id"), site: try value("site"), serviceCode: try value("serviceCode"), queue: try value("queue"),
                                          idNumber: try value("idNumber"), name: try value("name"), startsAt: try date("startsAt"),
                                          endsAt: try date("endsAt"))
            if let problem = appointment.problem() { throw Failure(line: number, column: nil, reason: problem) }
            out.append(appointment)
        }
        return out
    }

    /// The fields of one line; quoted fields may hold commas and doubled quotes.
    static func fields(_ line: String, line number: Int) throws(Failure) -> [String] {
        var out: [String] = [], field = "", quoted = false, wasQuoted = false
        var chars = Array(line)[...]
        while let c = chars.popFirst() {
            if quoted {
                if c == "\"" {
                    if chars.first == "\"" { field.append("\""); chars.removeFirst() } else { quoted = false }
                } else { field.append(c) }
            } else if c == "\"" && field.trimmingCharacters(in: .whitespaces).isEmpty && !wasQuoted {
                field = ""
                quoted = true
                wasQuoted = true
            } else if c == "," {
                out.append(field)
                field = ""
                wasQuoted = false
            } else {
                field.append(c)
            }
        }
        guard !quoted else { throw Failure(line: number, column: nil, reason: "a quoted field is not closed") }
        out.append(field)
        return out
    }
}
