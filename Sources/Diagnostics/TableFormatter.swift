import Foundation
import KioskTerminal

/// The technician's table: check, status, detail, what to do. Column widths count terminal
/// columns (汉字 take two); long details wrap inside their column.
public struct TableFormatter: Sendable {
    /// Colour the status (green, yellow, red) with ANSI escapes.
    public var colour: Bool
    /// The width to fit, in columns.
    public var width: Int
    /// Add the verbose lines under each row.
    public var verbose: Bool

    public init(colour: Bool = false, width: Int = 120, verbose: Bool = false) {
        self.colour = colour
        self.width = max(60, width)
        self.verbose = verbose
    }

    /// Whether to colour: only on a terminal, and never with `NO_COLOR` set (any value) or TERM=dumb.
    public static func wantsColour(isTerminal: Bool, environment: [String: String] = ProcessInfo.processInfo.environment) -> Bool {
        guard isTerminal else { return false }
        if environment["NO_COLOR"] != nil { return false }
        return environment["TERM"] != "dumb"
    }

    /// Pads `text` with spaces to `columns` terminal columns.
    static func pad(_ text: String, _ columns: Int) -> String {
        text + String(repeating: " ", count: max(0, columns - DisplayWidth.of(text)))
    }

    /// Splits `text` into lines of at most `columns` terminal columns, at spaces where possible.
    static func wrap(_ text: String, _ columns: Int) -> [String] {
        guard columns > 0 else { return [text] }
        var lines: [String] = []
        var line = ""
        var lineWidth = 0
        for word in text.split(separator: " ", omittingEmptySubsequences: false).map(String.init) {
            let w = DisplayWidth.of(word)
            if lineWidth > 0, lineWidth + 1 + w > columns {
                lines.append(line)
                line = ""
                lineWidth = 0
            }
            var rest = word
            var restWidth = w
            // A word longer than the column is cut by columns.
            while restWidth > columns {
                var head = ""
                var headWidth = 0
                for ch in rest {
                    let cw = DisplayWidth.of(ch)
                    if headWidth + cw > columns - lineWidth - (lineWidth > 0 ? 1 : 0) { break }
                    head.append(ch)
                    headWidth += cw
                }
                if head.isEmpty {
                    if lineWidth > 0 {
                        lines.append(line)
                        line = ""
                        lineWidth = 0
                        continue
                    }
                    // Not even one character fits: take it anyway rather than loop.
                    guard let first = rest.first else { break }
                    head = String(first)
                }
                line += (lineWidth > 0 ? " " : "") + head
                lines.append(line)
                line = ""
                lineWidth = 0
                rest = String(rest.dropFirst(head.count))
                restWidth = DisplayWidth.of(rest)
            }
            if lineWidth > 0 { line += " "; lineWidth += 1 }
            line += rest
            lineWidth += restWidth
        }
        lines.append(line)
        return lines
    }

    func paint(_ status: CheckStatus) -> String {
        let text = status.rawValue
        guard colour else { return text }
        let code: String
        switch status {
        case .ok: code = "32"
        case .warn: code = "33"
        case .fail: code = "31"
        }
        return "\u{1B}[\(code)m\(text)\u{1B}[0m"
    }

    /// The table, then a one-line summary.
    public func render(_ report: DiagnosticReport) -> String {
        let results = report.results
        let idWidth = max(5, results.map { DisplayWidth.of($0.id) }.max() ?? 5)
        let statusWidth = 6
        let rest = width - idWidth - statusWidth - 6
        let detailWidth = max(24, rest * 3 / 5)
        let actionWidth = max(16, rest - detailWidth)
        var out = [pad("CHECK", idWidth) + "  " + pad("STATUS", statusWidth) + "  " + pad("DETAIL", detailWidth) + "  WHAT TO DO"]
        for result in results {
            let detail = TableFormatter.wrap(result.detail, detailWidth)
            let action = TableFormatter.wrap(result.action.isEmpty ? "-" : result.action, actionWidth)
            for i in 0..<max(detail.count, action.count) {
                let first = i == 0
                let idCell = TableFormatter.pad(first ? result.id : "", idWidth)
                let statusCell = first ? paint(result.status) + String(repeating: " ", count: statusWidth - result.status.rawValue.count) : String(repeating: " ", count: statusWidth)
                let detailCell = TableFormatter.pad(i < detail.count ? detail[i] : "", detailWidth)
                let actionCell = i < action.count ? action[i] : ""
                out.append((idCell + "  " + statusCell + "  " + detailCell + "  " + actionCell).replacingOccurrences(of: "\\s+$", with: "", options: .regularExpression))
            }
            if verbose {
                for line in result.verbose { out.append("    " + line) }
            }
        }
        let counts = CheckStatus.allCases.map { status in "\(results.filter { $0.status == status }.count) \(status.rawValue)" }
        out.append("")
        out.append("\(results.count) checks: " + counts.joined(separator: ", ") + " — exit \(report.exitCode)")
        return out.joined(separator: "\n")
    }

    func pad(_ text: String, _ columns: Int) -> String { TableFormatter.pad(text, columns) }
}
