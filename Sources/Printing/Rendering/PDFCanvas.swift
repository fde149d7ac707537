import CCairo
import CQREncode
import Foundation
import KioskCore

/// Why a document could not be rendered.
public enum RenderError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The fonts have no glyph for a character of the input.
    case missingGlyph(character: String, codePoint: String, field: String)
    /// No font file of the document font set was found.
    case fontsMissing(String)
    /// The input is not valid for the document kind.
    case invalidInput(field: String, reason: String)
    /// A template is missing or malformed.
    case template(String)
    /// cairo reported an error.
    case cairo(String)

    public var description: String {
        switch self {
        case let .missingGlyph(character, codePoint, field):
            return "field \(field): character '\(character)' (\(codePoint)) has no glyph in the document fonts; correct the text or install a font that has it"
        case .fontsMissing(let what): return "document fonts missing: \(what) (install fonts-noto-cjk)"
        case let .invalidInput(field, reason): return "field \(field): \(reason)"
        case .template(let why): return "template: \(why)"
        case .cairo(let why): return "PDF rendering failed: \(why)"
        }
    }
}

/// The project's fonts, through a private fontconfig configuration: output never depends on what
/// other fonts the machine has.
// Unchecked: the fontconfig and pango handles are raw pointers, not changed after init.
public final class DocumentFonts: @unchecked Sendable {
    let config: OpaquePointer
    let fontMap: UnsafeMutablePointer<PangoFontMap>
    private var charsets: [OpaquePointer] = []

    /// The font files used: Noto CJK (fonts-noto-cjk). When `scripts/fonts.sh` has prepared
    /// desubroutinized copies (`$YITIJI_FONT_DIR`, else `/var/cache/yitiji/fonts`), those are used:
    /// the same glyphs, but cairo can then embed only the glyphs a document uses, which keeps a
    /// page's PDF small.
    public static var defaultFiles: [String] {
        let prepared = preparedFiles(suffix: "")
        if prepared.allSatisfy({ FileManager.default.fileExists(atPath: $0) }) { return prepared }
        return [
            "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
            "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
            "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
            "/usr/share/fonts/opentype/noto/NotoSerifCJK-Bold.ttc",
        ]
    }

    /// The files `scripts/fonts.sh` writes: `$YITIJI_FONT_DIR` (else `/var/cache/yitiji/fonts`)
    /// `/Noto{Sans,Serif}CJKsc-{Regular,Bold}{suffix}.otf`.
    static func preparedFiles(suffix: String) -> [String] {
        let dir = ProcessInfo.processInfo.environment["YITIJI_FONT_DIR"] ?? "/var/cache/yitiji/fonts"
        return ["NotoSansCJKsc-Regular", "NotoSansCJKsc-Bold", "NotoSerifCJKsc-Regular", "NotoSerifCJKsc-Bold"]
            .map { "\(dir)/\($0)\(suffix).otf" }
    }

    /// The shared instances, made once each.
    private struct SharedInstances {
        /// One shared instance (fontconfig set-up costs tens of milliseconds).
        var full: DocumentFonts?
        /// The common-characters instance; `.some(nil)` once found missing.
        var common: DocumentFonts??
    }

    private static let sharedInstances = Locked(SharedInstances())

    /// The prepared fonts cut down to common characters (GB 2312 and punctuation), when
    /// `scripts/fonts.sh` made them: far less font data for cairo to read per document.
    public static func sharedCommon() -> DocumentFonts? {
        sharedInstances.withLock { instances in
            if let c = instances.common { return c }
            let files = preparedFiles(suffix: "-common")
            let c: DocumentFonts? = files.allSatisfy({ FileManager.default.fileExists(atPath: $0) }) ? try? DocumentFonts(files: files) : nil
            instances.common = .some(c)
            return c
        }
    }

    /// True when every character of `text` has a glyph here.
    public func covers(_ text: String) -> Bool {
        for scalar in text.unicodeScalars where scalar.value >= 0x20 {
            let value = FcChar32(scalar.value)
            if !charsets.contains(where: { FcCharSetHasChar($0, value) != 0 }) { return false }
        }
        return true
    }

    public static func shared() throws(RenderError) -> DocumentFonts {
        try sharedInstances.withLock { instances throws(RenderError) -> DocumentFonts in
            if let f = instances.full { return f }
            let f = try DocumentFonts(files: defaultFiles)
            instances.full = f
            return f
        }
    }

    public init(files: [String]) throws(RenderError) {
        guard let config = FcConfigCreate() else { throw .fontsMissing("fontconfig could not start") }
        var loaded = 0
        for file in files where FileManager.default.fileExists(atPath: file) {
            if FcConfigAppFontAddFile(config, file) != 0 { loaded += 1 }
        }
        guard loaded > 0 else {
            FcConfigDestroy(config)
            throw .fontsMissing(files.joined(separator: ", "))
        }
        self.config = config
        guard let map = pango_cairo_font_map_new_for_font_type(CAIRO_FONT_TYPE_FT) else {
            throw .fontsMissing("pango has no FreeType font map")
        }
        fontMap = map
        pango_fc_font_map_set_config(OpaquePointer(map), config)
        if let set = FcConfigGetFonts(config, FcSetApplication) {
            for i in 0..<Int(set.pointee.nfont) {
                guard let pattern = set.pointee.fonts[i] else { continue }
                var cs: OpaquePointer?
                if FcPatternGetCharSet(pattern, FC_CHARSET, 0, &cs) == FcResultMatch, let cs {
                    charsets.append(cs)
                }
            }
        }
    }

    /// Throws for the first character of `text` that no document font can draw.
    public func checkGlyphs(_ text: String, field: String) throws(RenderError) {
        for scalar in text.unicodeScalars {
            if scalar == "\n" || scalar == "\t" || scalar.properties.generalCategory == .format { continue }
            let value = FcChar32(scalar.value)
            if !charsets.contains(where: { FcCharSetHasChar($0, value) != 0 }) {
                let hex = String(scalar.value, radix: 16, uppercase: true)
                throw .missingGlyph(character: String(scalar), codePoint: "U+" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex, field: field)
            }
        }
    }
}

/// A font as templates name it.
public struct FontSpec: Codable, Sendable, Equatable {
    public var family: String
    public var size: Double
    public var bold: Bool?

    public init(family: String, size: Double, bold: Bool? = nil) {
        self.family = family
        self.size = size
        self.bold = bold
    }

    var pangoDescription: String { "\(family)\(bold == true ? " Bold" : "") \(size)" }
}

/// Text alignment in a box.
public enum TextAlignment: String, Codable, Sendable { case left, center, right, justify }

/// A PDF being drawn: cairo surface in memory, pango text with the document fonts, in points.
final class PDFCanvas {
    private final class Sink { var data = Data() }
    private let sink = Sink()
    private let surface: OpaquePointer
    let cr: OpaquePointer
    let fonts: DocumentFonts
    private let context: OpaquePointer
    let width: Double
    let height: Double
    private(set) var pageCount = 1

    init(width: Double, height: Double, fonts: DocumentFonts, title: String, subject: String, keywords: String) throws(RenderError) {
        self.width = width
        self.height = height
        self.fonts = fonts
        let box = Unmanaged.passUnretained(sink).toOpaque()
        guard let surface = cairo_pdf_surface_create_for_stream({ closure, data, length in
            guard let closure, let data else { return CAIRO_STATUS_WRITE_ERROR }
            let sink = Unmanaged<Sink>.fromOpaque(closure).takeUnretainedValue()
            sink.data.append(data, count: Int(length))
            return CAIRO_STATUS_SUCCESS
        }, box, width, height) else { throw .cairo("cannot create a PDF surface") }
        self.surface = surface
        cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_TITLE, title)
        cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_SUBJECT, subject)
        cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_KEYWORDS, keywords)
        cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_CREATOR, "Yitiji")
        guard let cr = cairo_create(surface) else { throw .cairo("cannot create a cairo context") }
        self.cr = cr
        guard let ctx = pango_font_map_create_context(fonts.fontMap) else { throw .cairo("no pango context") }
        context = ctx
        pango_cairo_context_set_resolution(ctx, 72)
        pango_cairo_update_context(cr, ctx)
    }

    deinit {
        for d in descriptions.values { pango_font_description_free(d) }
        g_object_unref(UnsafeMutableRawPointer(context))
        cairo_destroy(cr)
        cairo_surface_destroy(surface)
    }

    /// Finishes the PDF and returns its bytes.
    func finish() throws(RenderError) -> Data {
        cairo_surface_finish(surface)
        let status = cairo_surface_status(surface)
        guard status == CAIRO_STATUS_SUCCESS else { throw .cairo(String(cString: cairo_status_to_string(status))) }
        return sink.data
    }

    func newPage() {
        cairo_show_page(cr)
        pageCount += 1
    }

    private var descriptions: [String: OpaquePointer] = [:]

    private func description(_ font: FontSpec) -> OpaquePointer? {
        let key = font.pangoDescription
        if let d = descriptions[key] { return d }
        let d = pango_font_description_from_string(key)
        descriptions[key] = d
        return d
    }

    /// Text laid out once, to measure and then draw.
    final class Prepared {
        let layout: OpaquePointer
        let width: Double
        let height: Double
        init(_ layout: OpaquePointer) {
            self.layout = layout
            var w: Int32 = 0, h: Int32 = 0
            pango_layout_get_size(layout, &w, &h)
            width = Double(w) / Double(PANGO_SCALE)
            height = Double(h) / Double(PANGO_SCALE)
        }
        deinit { g_object_unref(UnsafeMutableRawPointer(layout)) }
    }

    /// Laid-out texts of this document: table cells repeat (insurance types, amounts, employers),
    /// and a layout can be drawn any number of times.
    private var prepared: [String: Prepared] = [:]

    func prepare(_ text: String, font: FontSpec, width: Double?, alignment: TextAlignment = .left) -> Prepared {
        let key = "\(font.pangoDescription)|\(width ?? -1)|\(alignment.rawValue)|\(text)"
        if let p = prepared[key] { return p }
        let p = Prepared(layout(text, font: font, width: width, alignment: alignment))
        prepared[key] = p
        return p
    }

    func draw(_ prepared: Prepared, x: Double, y: Double) {
        cairo_set_source_rgb(cr, 0, 0, 0)
        cairo_move_to(cr, x, y)
        pango_cairo_show_layout(cr, prepared.layout)
    }

    private func layout(_ text: String, font: FontSpec, width: Double?, alignment: TextAlignment) -> OpaquePointer {
        let layout = pango_layout_new(context)!
        pango_layout_set_font_description(layout, description(font))
        if let width {
            pango_layout_set_width(layout, Int32(width * Double(PANGO_SCALE)))
            pango_layout_set_wrap(layout, PANGO_WRAP_WORD_CHAR)
        }
        switch alignment {
        case .left: pango_layout_set_alignment(layout, PANGO_ALIGN_LEFT)
        case .center: pango_layout_set_alignment(layout, PANGO_ALIGN_CENTER)
        case .right: pango_layout_set_alignment(layout, PANGO_ALIGN_RIGHT)
        case .justify:
            pango_layout_set_alignment(layout, PANGO_ALIGN_LEFT)
            pango_layout_set_justify(layout, 1)
        }
        pango_layout_set_text(layout, text, -1)
        return layout
    }

    /// The height `text` takes in a box `width` wide.
    func measure(_ text: String, font: FontSpec, width: Double?, alignment: TextAlignment = .left) -> (width: Double, height: Double) {
        let l = layout(text, font: font, width: width, alignment: alignment)
        defer { g_object_unref(UnsafeMutableRawPointer(l)) }
        var w: Int32 = 0, h: Int32 = 0
        pango_layout_get_size(l, &w, &h)
        return (Double(w) / Double(PANGO_SCALE), Double(h) / Double(PANGO_SCALE))
    }

    /// Draws `text` with its top-left at (x, y); returns the height used.
    @discardableResult
    func text(_ text: String, x: Double, y: Double, font: FontSpec, width: Double? = nil,
              alignment: TextAlignment = .left, color: (Double, Double, Double) = (0, 0, 0)) -> Double {
        let l = layout(text, font: font, width: width, alignment: alignment)
        defer { g_object_unref(UnsafeMutableRawPointer(l)) }
        cairo_set_source_rgb(cr, color.0, color.1, color.2)
        cairo_move_to(cr, x, y)
        pango_cairo_show_layout(cr, l)
        var w: Int32 = 0, h: Int32 = 0
        pango_layout_get_size(l, &w, &h)
        return Double(h) / Double(PANGO_SCALE)
    }

    func line(x1: Double, y1: Double, x2: Double, y2: Double, width: Double = 0.6) {
        cairo_set_source_rgb(cr, 0, 0, 0)
        cairo_set_line_width(cr, width)
        cairo_move_to(cr, x1, y1)
        cairo_line_to(cr, x2, y2)
        cairo_stroke(cr)
    }

    func rectangle(x: Double, y: Double, width w: Double, height h: Double, lineWidth: Double = 0.8) {
        cairo_set_source_rgb(cr, 0, 0, 0)
        cairo_set_line_width(cr, lineWidth)
        cairo_rectangle(cr, x, y, w, h)
        cairo_stroke(cr)
    }

    /// A QR code for `payload`, `size` points square, top-left at (x, y).
    func qrCode(_ payload: String, x: Double, y: Double, size: Double) throws(RenderError) {
        guard let code = QRcode_encodeString8bit(payload, 0, QR_ECLEVEL_M) else {
            throw .cairo("QR code could not be encoded")
        }
        defer { QRcode_free(code) }
        let modules = Int(code.pointee.width)
        let cell = size / Double(modules + 2)
        cairo_set_source_rgb(cr, 0, 0, 0)
        for row in 0..<modules {
            for col in 0..<modules where code.pointee.data[row * modules + col] & 1 == 1 {
                cairo_rectangle(cr, x + Double(col + 1) * cell, y + Double(row + 1) * cell, cell, cell)
            }
        }
        cairo_fill(cr)
    }

    /// An official seal: red ring, star, the authority's name along the upper arc.
    func seal(_ name: String, centerX: Double, centerY: Double, radius: Double, font: FontSpec) {
        cairo_save(cr)
        cairo_set_source_rgba(cr, 0.85, 0.05, 0.05, 0.85)
        cairo_set_line_width(cr, radius * 0.06)
        cairo_arc(cr, centerX, centerY, radius, 0, 2 * Double.pi)
        cairo_stroke(cr)
        // five-pointed star
        let r = radius * 0.28
        for i in 0..<10 {
            let angle = -Double.pi / 2 + Double(i) * Double.pi / 5
            let rr = i % 2 == 0 ? r : r * 0.4
            let px = centerX + rr * cos(angle), py = centerY + rr * sin(angle)
            if i == 0 { cairo_move_to(cr, px, py) } else { cairo_line_to(cr, px, py) }
        }
        cairo_close_path(cr)
        cairo_fill(cr)
        let characters = Array(name)
        let span = min(Double.pi * 1.4, Double(characters.count) * 0.32)
        for (i, ch) in characters.enumerated() {
            let t = characters.count == 1 ? 0.5 : Double(i) / Double(characters.count - 1)
            let angle = -Double.pi / 2 - span / 2 + span * t
            let l = layout(String(ch), font: font, width: nil, alignment: .center)
            var w: Int32 = 0, h: Int32 = 0
            pango_layout_get_size(l, &w, &h)
            cairo_save(cr)
            cairo_translate(cr, centerX + radius * 0.72 * cos(angle), centerY + radius * 0.72 * sin(angle))
            cairo_rotate(cr, angle + Double.pi / 2)
            cairo_move_to(cr, -Double(w) / Double(PANGO_SCALE) / 2, -Double(h) / Double(PANGO_SCALE) / 2)
            pango_cairo_show_layout(cr, l)
            cairo_restore(cr)
            g_object_unref(UnsafeMutableRawPointer(l))
        }
        cairo_restore(cr)
    }
}
