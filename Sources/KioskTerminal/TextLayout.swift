/// Fitting text into terminal columns, counting wide characters as two.
public enum TextLayout {
    /// Punctuation that must not start a line (Chinese line-breaking rules, 避头点).
    static let noLineStart: Set<Character> = [
        "，", "。", "、", "；", "：", "？", "！", "）", "」", "』", "】", "》", "〉", "”", "’", "…",
        ",", ".", ";", ":", "?", "!", ")", "]", "}", "%", "·",
    ]
    /// Punctuation that must not end a line (避尾点).
    static let noLineEnd: Set<Character> = ["（", "「", "『", "【", "《", "〈", "“", "‘", "(", "[", "{"]

    /// Wraps `text` into lines of at most `width` columns. Chinese breaks between any two
    /// characters; Latin words break at spaces (a word longer than a line is split). Explicit
    /// newlines are kept, and punctuation never starts a line when it can be avoided.
    public static func wrap(_ text: String, width: Int) -> [String] {
        guard width > 0 else { return [] }
        var lines: [String] = []
        for paragraph in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lines.append(contentsOf: wrapParagraph(Array(paragraph), width: width))
        }
        return lines
    }

    private static func isWordCharacter(_ c: Character) -> Bool {
        DisplayWidth.of(c) == 1 && !c.isWhitespace && !noLineStart.contains(c) && !noLineEnd.contains(c)
    }

    private static func wrapParagraph(_ chars: [Character], width: Int) -> [String] {
        if chars.isEmpty { return [""] }
        // Tokens: a run of narrow word characters, or any single other character.
        var tokens: [[Character]] = []
        var index = 0
        while index < chars.count {
            if isWordCharacter(chars[index]) {
                var end = index
                while end < chars.count, isWordCharacter(chars[end]) { end += 1 }
                tokens.append(Array(chars[index..<end]))
                index = end
            } else {
                tokens.append([chars[index]])
                index += 1
            }
        }
        var lines: [String] = []
        var line: [Character] = []
        var lineWidth = 0
        func flush() {
            while let last = line.last, last == " " { line.removeLast() }
            lines.append(String(line))
            line = []
            lineWidth = 0
        }
        var i = 0
        while i < tokens.count {
            var token = tokens[i]
            let tokenWidth = DisplayWidth.of(String(token))
            if token == [" "], line.isEmpty, !lines.isEmpty { i += 1; continue }
            if lineWidth + tokenWidth <= width {
                line += token
                lineWidth += tokenWidth
                i += 1
                continue
            }
            if token.count == 1, noLineStart.contains(token[0]), !line.isEmpty {
                // Pull the previous character down so punctuation does not start the next line.
                if let last = line.popLast() {
                    flush()
                    line = [last]
                    lineWidth = DisplayWidth.of(last)
                    continue
                }
            }
            if tokenWidth > width {
                // A word longer than a line: split it.
                while !token.isEmpty {
                    var piece: [Character] = []
                    var pieceWidth = 0
                    while let c = token.first, lineWidth + pieceWidth + DisplayWidth.of(c) <= width {
                        piece.append(c)
                        pieceWidth += DisplayWidth.of(c)
                        token.removeFirst()
                    }
                    if piece.isEmpty { flush(); continue }
                    line += piece
                    lineWidth += pieceWidth
                    if !token.isEmpty { flush() }
                }
                i += 1
                continue
            }
            if let last = line.last, noLineEnd.contains(last) {
                line.removeLast()
                flush()
                line = [last]
                lineWidth = DisplayWidth.of(last)
                continue
            }
            flush()
        }
        if !line.isEmpty || lines.isEmpty { flush() }
        return lines
    }

    /// Cuts `text` to at most `width` columns, ending with `…` when something was cut.
    public static func truncate(_ text: String, width: Int) -> String {
        guard DisplayWidth.of(text) > width else { return text }
        guard width > 0 else { return "" }
        var result = ""
        var used = 0
        for c in text {
            let w = DisplayWidth.of(c)
            if used + w > width - 1 { break }
            result.append(c)
            used += w
        }
        return result + "…"
    }

    /// Pads (or truncates) `text` to exactly `width` columns.
    public static func pad(_ text: String, width: Int, alignment: Alignment = .left) -> String {
        let fitted = truncate(text, width: width)
        let gap = max(0, width - DisplayWidth.of(fitted))
        switch alignment {
        case .left: return fitted + String(repeating: " ", count: gap)
        case .right: return String(repeating: " ", count: gap) + fitted
        case .center: return String(repeating: " ", count: gap / 2) + fitted + String(repeating: " ", count: gap - gap / 2)
        }
    }

    /// Horizontal alignment in a column.
    public enum Alignment: Sendable { case left, right, center }

    /// Lays out a table: each row's cells padded to the column widths; columns that do not fit in
    /// `width` are shrunk from the widest, and long cells truncated.
    public static func table(header: [String], rows: [[String]], width: Int, separator: String = "  ") -> [String] {
        let columns = header.count
        guard columns > 0 else { return [] }
        var widths = (0..<columns).map { column in
            ([header] + rows).map { $0.indices.contains(column) ? DisplayWidth.of($0[column]) : 0 }.max() ?? 0
        }
        let available = width - DisplayWidth.of(separator) * (columns - 1)
        while widths.reduce(0, +) > available, let widest = widths.indices.max(by: { widths[$0] < widths[$1] }), widths[widest] > 2 {
            widths[widest] -= 1
        }
        func render(_ row: [String]) -> String {
            (0..<columns).map { pad(row.indices.contains($0) ? row[$0] : "", width: widths[$0]) }
                .joined(separator: separator)
        }
        let rule = widths.map { String(repeating: "-", count: $0) }.joined(separator: separator)
        return [render(header), rule] + rows.map(render)
    }
}
