/// A grid of terminal cells that knows wide characters take two cells, rendered to ANSI text.
///
/// Draw into it, then `render()` emits only what changed since the last frame; `invalidate()`
/// forces a full redraw (after a resize).
public struct ScreenBuffer: Sendable {
    /// Text attributes of a cell.
    public struct Style: Equatable, Sendable {
        public var bold = false
        public var reverse = false
        public var dim = false
        /// ANSI foreground colour 30–37, or nil for the default.
        public var color: Int?

        public init(bold: Bool = false, reverse: Bool = false, dim: Bool = false, color: Int? = nil) {
            self.bold = bold
            self.reverse = reverse
            self.dim = dim
            self.color = color
        }

        public static let plain = Style()
        public static let title = Style(bold: true)
        public static let selected = Style(reverse: true)
        public static let warning = Style(bold: true, color: 31)

        var sgr: String {
            var codes = ["0"]
            if bold { codes.append("1") }
            if dim { codes.append("2") }
            if reverse { codes.append("7") }
            if let color { codes.append(String(color)) }
            return "\u{1B}[" + codes.joined(separator: ";") + "m"
        }
    }

    struct Cell: Equatable, Sendable {
        /// The character, or nil for the right half of a wide character.
        var character: Character?
        var style: Style
        static let blank = Cell(character: " ", style: .plain)
    }

    public private(set) var width: Int
    public private(set) var height: Int
    private var cells: [Cell]
    private var shown: [Cell]?
    /// Whether colour and attributes are emitted (off for NO_COLOR).
    public var useStyles: Bool

    public init(width: Int, height: Int, useStyles: Bool = true) {
        self.width = max(1, width)
        self.height = max(1, height)
        self.useStyles = useStyles
        cells = Array(repeating: .blank, count: self.width * self.height)
    }

    /// Clears to blanks, keeping the last frame so `render()` still sends only the difference.
    public mutating func clear() {
        cells = Array(repeating: .blank, count: width * height)
    }

    /// Changes the size; the next `render()` redraws everything.
    public mutating func resize(width: Int, height: Int) {
        self.width = max(1, width)
        self.height = max(1, height)
        cells = Array(repeating: .blank, count: self.width * self.height)
        shown = nil
    }

    /// Forces the next `render()` to redraw everything.
    public mutating func invalidate() { shown = nil }

    /// Writes `text` at column `x`, row `y`, clipped at the right edge (a wide character that
    /// does not fit is not drawn). Returns the column after the text.
    @discardableResult
    public mutating func put(_ text: String, x: Int, y: Int, style: Style = .plain) -> Int {
        guard (0..<height).contains(y) else { return x }
        var column = x
        for character in text {
            let w = DisplayWidth.of(character)
            if w == 0 { continue }
            if column < 0 { column += w; continue }
            if column + w > width { break }
            // Overwriting half of a wide character blanks its other half.
            if let existing = cells[y * width + column].character, DisplayWidth.of(existing) == 2, w == 1, column + 1 < width {
                cells[y * width + column + 1] = Cell(character: " ", style: style)
            }
            if cells[y * width + column].character == nil, column > 0 {
                cells[y * width + column - 1] = Cell(character: " ", style: cells[y * width + column - 1].style)
            }
            cells[y * width + column] = Cell(character: character, style: style)
            if w == 2 { cells[y * width + column + 1] = Cell(character: nil, style: style) }
            column += w
        }
        return column
    }

    /// Fills row `y` from column `x` to the right edge with `style`.
    public mutating func fillRow(_ y: Int, from x: Int = 0, style: Style) {
        guard (0..<height).contains(y) else { return }
        for column in max(0, x)..<width where cells[y * width + column].character == " " {
            cells[y * width + column].style = style
        }
    }

    /// The visible text of row `y` (for tests and snapshots).
    public func rowText(_ y: Int) -> String {
        guard (0..<height).contains(y) else { return "" }
        return String(cells[(y * width)..<((y + 1) * width)].compactMap(\.character))
    }

    /// ANSI output that brings the terminal from the last rendered frame to this one.
    public mutating func render() -> String {
        var out = ""
        var currentStyle: Style?
        if shown == nil {
            out += "\u{1B}[0m\u{1B}[2J"
        }
        for y in 0..<height {
            var x = 0
            var cursorAt: Int?
            while x < width {
                let index = y * width + x
                let cell = cells[index]
                if let shown, shown[index] == cell, cell.character != nil {
                    x += 1
                    continue
                }
                guard let character = cell.character else { x += 1; continue }
                if cursorAt != x { out += "\u{1B}[\(y + 1);\(x + 1)H" }
                if useStyles, currentStyle != cell.style {
                    out += cell.style.sgr
                    currentStyle = cell.style
                }
                out.append(character)
                let w = max(1, DisplayWidth.of(character))
                x += w
                cursorAt = x
            }
        }
        if useStyles, currentStyle != nil { out += "\u{1B}[0m" }
        shown = cells
        return out
    }
}
