import Foundation
import KioskCore

/// What a receipt slip says.
public struct ReceiptSlip: Codable, Sendable, Equatable {
    /// The service, e.g. 企业设立登记预申请.
    public var service: String
    /// When it happened, ISO 8601.
    public var time: Date
    /// The kiosk's id.
    public var kiosk: String
    /// The local (or registry) tracking number.
    public var trackingNumber: String
    /// An optional line, e.g. 网络恢复后将自动提交.
    public var note: String?

    public init(service: String, time: Date, kiosk: String, trackingNumber: String, note: String? = nil) {
        self.service = service
        self.time = time
        self.kiosk = kiosk
        self.trackingNumber = trackingNumber
        self.note = note
    }
}

/// What a queue ticket says: the number large, the service, the people ahead, time, site, and a
/// QR code holding the ticket's id.
public struct QueueTicketSlip: Codable, Sendable, Equatable {
    /// The number, e.g. A023.
    public var number: String
    /// The service, e.g. 不动产登记.
    public var service: String
    /// 前面还有 5 人, or 约 5 人 when the figure is the last one known.
    public var waiting: String
    /// When the number was given.
    public var time: Date
    /// The hall (site) and kiosk.
    public var site: String
    public var kiosk: String
    /// The ticket's id, in the QR code.
    public var ticketId: String
    /// A line under the number, e.g. 预约优先 or 请留意叫号.
    public var note: String?
    /// Where the service is done, e.g. 二楼 A 区 1–3 号窗口.
    public var counters: String?

    public init(number: String, service: String, waiting: String, time: Date, site: String, kiosk: String, ticketId: String,
                note: String? = nil, counters: String? = nil) {
        self.counters = counters
        self.number = number
        self.service = service
        self.waiting = waiting
        self.time = time
        self.site = site
        self.kiosk = kiosk
        self.ticketId = ticketId
        self.note = note
    }
}

/// What a printed service guide says, in Chinese.
public struct GuideSlip: Codable, Sendable, Equatable {
    public var service: String
    public var type: String
    public var department: String
    public var legalBasis: String
    public var materials: [String]
    public var timeLimit: String
    public var fee: String
    public var location: String?
    public var hours: String?
    public var time: Date

    public init(service: String, type: String, department: String, legalBasis: String, materials: [String], timeLimit: String,
                fee: String, location: String?, hours: String?, time: Date) {
        self.service = service
        self.type = type
        self.department = department
        self.legalBasis = legalBasis
        self.materials = materials
        self.timeLimit = timeLimit
        self.fee = fee
        self.location = location
        self.hours = hours
        self.time = time
    }
}

/// A rendered document.
public struct RenderedDocument: Sendable {
    public let kind: DocumentKind
    public let pdf: Data
    public let pageCount: Int
    public let code: VerificationCode
    public let fields: CanonicalFields
}

/// Renders the kiosk's documents to PDF in memory.
public final class DocumentRenderer: Sendable {
    private struct State {
        var templates: [DocumentKind: DocumentTemplate] = [:]
        /// Per kind: whether the common fonts cover the template's fixed texts and the provider
        /// (read once, not on every render).
        var templateCoverage: [DocumentKind: Bool] = [:]
    }

    let fonts: DocumentFonts
    let templatesDirectory: String
    let signingKey: DocumentSigningKey
    /// Who provides the copy, for the copy line (此件由{provider}提供…).
    let provider: String
    private let state: Locked<State>

    public init(signingKey: DocumentSigningKey, provider: String,
                templatesDirectory: String = DocumentTemplate.defaultDirectory,
                fonts: DocumentFonts? = nil) throws(RenderError) {
        if let fonts {
            self.fonts = fonts
            commonFonts = nil
        } else {
            self.fonts = try DocumentFonts.shared()
            commonFonts = DocumentFonts.sharedCommon()
        }
        self.templatesDirectory = templatesDirectory
        self.signingKey = signingKey
        self.provider = provider
        state = Locked(State())
    }

    func template(_ kind: DocumentKind) throws(RenderError) -> DocumentTemplate {
        try state.withLock { state throws(RenderError) -> DocumentTemplate in
            if let t = state.templates[kind] { return t }
            let t = try DocumentTemplate.load(kind: kind, directory: templatesDirectory)
            state.templates[kind] = t
            return t
        }
    }

    /// Shares everything with `base` but the fonts.
    private init(base: DocumentRenderer, fonts: DocumentFonts) {
        self.fonts = fonts
        templatesDirectory = base.templatesDirectory
        signingKey = base.signingKey
        provider = base.provider
        state = Locked(State(templates: base.state.withLock { $0.templates }))
        commonFonts = nil
    }

    /// The common-character fonts, when prepared and when this renderer uses the defaults.
    private let commonFonts: DocumentFonts?

    private func commonFontsCoverTemplate(_ kind: DocumentKind, _ common: DocumentFonts) -> Bool {
        if let known = state.withLock({ $0.templateCoverage[kind] }) { return known }
        let text = (try? String(contentsOfFile: templatesDirectory + "/" + kind.rawValue + ".json", encoding: .utf8)) ?? ""
        let covered = !text.isEmpty && common.covers(text + provider)
        state.withLock { $0.templateCoverage[kind] = covered }
        return covered
    }

    /// Decodes `json` as the input of `kind`, naming the field that is wrong. Uses the
    /// common-character fonts when they cover the input and the template, the full fonts otherwise.
    public func render(kind: DocumentKind, json: Data, at date: Date = Date()) throws(RenderError) -> RenderedDocument {
        if let common = commonFonts, commonFontsCoverTemplate(kind, common),
           common.covers(String(decoding: json, as: UTF8.self)) {
            return try DocumentRenderer(base: self, fonts: common).renderWithFonts(kind: kind, json: json, at: date)
        }
        return try renderWithFonts(kind: kind, json: json, at: date)
    }

    private func renderWithFonts(kind: DocumentKind, json: Data, at date: Date) throws(RenderError) -> RenderedDocument {
        switch kind {
        case .businessLicence: return try businessLicence(try decode(Enterprise.self, json), at: date)
        case .archiveExtract: return try archiveExtract(try decode(EnterpriseRecord.self, json), at: date)
        case .socialInsuranceCertificate: return try socialInsurance(try decode(SocialInsuranceRecord.self, json), at: date)
        case .receipt: return try receipt(try decode(ReceiptSlip.self, json), at: date)
        case .queueTicket: return try queueTicket(try decode(QueueTicketSlip.self, json), at: date)
        case .serviceGuide: return try serviceGuide(try decode(GuideSlip.self, json), at: date)
        }
    }

    func decode<T: Decodable>(_ type: T.Type, _ json: Data) throws(RenderError) -> T {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        do { return try decoder.decode(type, from: json) } catch {
            let problem = DecodingProblem(error, root: "(document)")
            throw .invalidInput(field: problem.location, reason: problem.reason)
        }
    }

    // MARK: Field checks

    func checked(_ pairs: [(String, String, String)]) throws(RenderError) -> [(String, String)] {
        for (field, _, value) in pairs { try fonts.checkGlyphs(value, field: field) }
        return pairs.map { ($0.1, $0.2) }
    }

    static func term(_ from: CalendarDate, _ until: CalendarDate?) -> String {
        "\(from.chineseDescription) 至 \(until?.chineseDescription ?? "长期")"
    }

    func copyLine(_ t: DocumentTemplate) throws(RenderError) -> String {
        try t.text("copyLine").replacingOccurrences(of: "{provider}", with: provider)
    }

    // MARK: Business licence

    func businessLicence(_ e: Enterprise, at date: Date) throws(RenderError) -> RenderedDocument {
        do { _ = try CreditCode(e.uscc) } catch { throw .invalidInput(field: "uscc", reason: error.description) }
        let t = try template(.businessLicence)
        let rows: [(String, String, String)] = [
            ("name", t.label("name"), e.name), ("type", t.label("type"), e.type),
            ("legalRepresentative", t.label("legalRepresentative"), e.legalRepresentative),
            ("businessScope", t.label("businessScope"), e.businessScope),
            ("registeredCapital", t.label("registeredCapital"), e.registeredCapital),
            ("establishedOn", t.label("establishedOn"), e.establishedOn.chineseDescription),
            ("term", t.label("term"), DocumentRenderer.term(e.termFrom, e.termUntil)),
            ("address", t.label("address"), e.address),
        ]
        let shown = try checked(rows)
        try fonts.checkGlyphs(e.authority, field: "authority")
        let fields = CanonicalFields(kind: DocumentKind.businessLicence.rawValue, fields: [
            ("uscc", e.uscc), ("name", e.name), ("type", e.type), ("legalRepresentative", e.legalRepresentative),
            ("registeredCapital", e.registeredCapital), ("establishedOn", e.establishedOn.description),
            ("termFrom", e.termFrom.description), ("termUntil", e.termUntil?.description ?? "长期"),
            ("address", e.address), ("businessScope", e.businessScope), ("authority", e.authority),
            ("issuedOn", e.issuedOn.description),
        ])
        let code = signingKey.sign(fields, at: date)
        let w = t.page.widthMM * pointsPerMM, h = (t.page.heightMM ?? 297) * pointsPerMM
        let m = t.page.marginMM * pointsPerMM
        let canvas = try PDFCanvas(width: w, height: h, fonts: fonts, title: "\(try t.text("title")) \(e.name)",
                                   subject: "yitiji-code:\(code.qrPayload.dropFirst(5))", keywords: keywords(fields))
        canvas.rectangle(x: m * 0.6, y: m * 0.6, width: w - m * 1.2, height: h - m * 1.2, lineWidth: 2)
        canvas.rectangle(x: m * 0.6 + 4, y: m * 0.6 + 4, width: w - m * 1.2 - 8, height: h - m * 1.2 - 8, lineWidth: 0.6)
        var y = m + 6
        y += canvas.text(try t.text("title"), x: m, y: y, font: try t.font("title"), width: w - 2 * m, alignment: .center)
        y += canvas.text(try t.text("subtitle"), x: m, y: y, font: try t.font("subtitle"), width: w - 2 * m, alignment: .center) + 10
        let qr = t.places?["qr"] ?? .init(xMM: 160, yMM: 22, sizeMM: 28)
        try canvas.qrCode(code.qrPayload, x: qr.xMM * pointsPerMM, y: qr.yMM * pointsPerMM, size: qr.sizeMM * pointsPerMM)
        canvas.text("\(t.label("uscc"))  \(e.uscc)", x: m + 8, y: y, font: try t.font("label"))
        y += 28
        let labelWidth = (t.labelWidthMM ?? 30) * pointsPerMM
        let valueX = m + 8 + labelWidth, valueWidth = w - m - 8 - valueX
        // Shrink the body until the licence fits on its one page.
        var body = try t.font("body")
        let bottomReserve = 70 * pointsPerMM
        while body.size > 7 {
            let total = shown.reduce(0.0) { $0 + canvas.measure($1.1, font: body, width: valueWidth, alignment: .justify).height + body.size * 0.9 }
            if y + total <= h - bottomReserve { break }
            body.size -= 0.5
        }
        let label = try t.font("label")
        for (name, value) in shown {
            canvas.text(name, x: m + 8, y: y, font: label, width: labelWidth - 6, alignment: .justify)
            y += canvas.text(value, x: valueX, y: y, font: body, width: valueWidth, alignment: .justify) + body.size * 0.9
        }
        let seal = t.places?["seal"] ?? .init(xMM: 150, yMM: 238, sizeMM: 40)
        let sx = seal.xMM * pointsPerMM, sy = seal.yMM * pointsPerMM
        canvas.text(t.label("authority"), x: sx - 140, y: sy - 20, font: label)
        canvas.text(e.authority, x: sx - 140, y: sy, font: body, width: 130)
        canvas.text(e.issuedOn.chineseDescription, x: sx - 40, y: sy + 28, font: body)
        canvas.seal(e.authority, centerX: sx, centerY: sy, radius: seal.sizeMM * pointsPerMM / 2, font: try t.font("seal"))
        try footer(canvas, t, code: code, page: 1, of: 1)
        return RenderedDocument(kind: .businessLicence, pdf: try canvas.finish(), pageCount: 1, code: code, fields: fields)
    }

    func keywords(_ fields: CanonicalFields) -> String {
        let json = (try? JSONEncoder().encode(fields)) ?? Data()
        return "yitiji-fields:" + json.base64EncodedString()
    }

    func footer(_ canvas: PDFCanvas, _ t: DocumentTemplate, code: VerificationCode, page: Int, of pages: Int) throws(RenderError) {
        let m = t.page.marginMM * pointsPerMM
        let small = try t.font("small")
        let bottom = canvas.height - m
        let pageText = (t.texts["pageNumber"] ?? "第 {n} 页 共 {m} 页")
            .replacingOccurrences(of: "{n}", with: String(page)).replacingOccurrences(of: "{m}", with: String(pages))
        let width = canvas.width - 2 * m
        let lines = [pageText, "\(t.texts["codeLabel"] ?? "验证码") \(code)", try copyLine(t)]
        var y = bottom
        for line in lines {
            let h = canvas.measure(line, font: small, width: width, alignment: .center).height
            y -= h + 1
            canvas.text(line, x: m, y: y, font: small, width: width, alignment: .center)
        }
    }

    // MARK: Flowing documents (any length)

    /// Lays blocks out over pages, then draws each page with its footer once the page count is known.
    final class Flow {
        let canvas: PDFCanvas
        let top: Double, bottom: Double, left: Double, width: Double
        var pages: [[() -> Void]] = [[]]
        var y: Double
        /// Drawn at the top of every page after the first (e.g. a repeated table header).
        var continuation: ((Flow) -> Void)?

        init(canvas: PDFCanvas, top: Double, bottom: Double, left: Double, width: Double) {
            self.canvas = canvas
            self.top = top
            self.bottom = bottom
            self.left = left
            self.width = width
            y = top
        }

        /// Reserves `height` (starting a page when needed) and records `draw` at the block's top.
        func block(_ height: Double, _ draw: @escaping (Double) -> Void) {
            if y + height > bottom, y > top {
                pages.append([])
                y = top
                continuation?(self)
            }
            let at = y
            pages[pages.count - 1].append { draw(at) }
            y += height
        }

        func text(_ text: String, font: FontSpec, x: Double? = nil, width: Double? = nil, alignment: TextAlignment = .left, after: Double = 0) {
            let prepared = canvas.prepare(text, font: font, width: width ?? self.width, alignment: alignment)
            let x = x ?? left
            block(prepared.height + after) { [canvas] y in canvas.draw(prepared, x: x, y: y) }
        }

        /// A table row: cells in columns of the given widths (points), ruled below.
        func row(_ cells: [String], widths: [Double], font: FontSpec, bold: Bool = false) {
            var f = font
            if bold { f.bold = true }
            let prepared = zip(cells, widths).map { canvas.prepare($0, font: f, width: $1 - 4) }
            let h = (prepared.map(\.height).max() ?? 0) + 5
            let left = self.left
            block(h) { [canvas] y in
                var x = left
                for (cell, w) in zip(prepared, widths) {
                    canvas.draw(cell, x: x + 2, y: y + 2.5)
                    x += w
                }
                canvas.line(x1: left, y1: y + h, x2: x, y2: y + h, width: bold ? 0.8 : 0.3)
            }
        }

        func space(_ h: Double) { block(h) { _ in } }
    }

    func flowDocument(kind: DocumentKind, t: DocumentTemplate, title: String, fields: CanonicalFields, at date: Date,
                      build: (Flow) throws(RenderError) -> Void) throws(RenderError) -> RenderedDocument {
        let code = signingKey.sign(fields, at: date)
        let w = t.page.widthMM * pointsPerMM, h = (t.page.heightMM ?? 297) * pointsPerMM
        let m = t.page.marginMM * pointsPerMM
        let canvas = try PDFCanvas(width: w, height: h, fonts: fonts, title: title,
                                   subject: "yitiji-code:\(code.qrPayload.dropFirst(5))", keywords: keywords(fields))
        let small = try t.font("small")
        let flow = Flow(canvas: canvas, top: m, bottom: h - m - small.size * 7, left: m, width: w - 2 * m)
        try build(flow)
        let qr = t.places?["qr"] ?? .init(xMM: 170, yMM: 10, sizeMM: 24)
        for (index, ops) in flow.pages.enumerated() {
            if index > 0 { canvas.newPage() }
            for op in ops { op() }
            if index == 0 { try canvas.qrCode(code.qrPayload, x: qr.xMM * pointsPerMM, y: qr.yMM * pointsPerMM, size: qr.sizeMM * pointsPerMM) }
            try footer(canvas, t, code: code, page: index + 1, of: flow.pages.count)
        }
        return RenderedDocument(kind: kind, pdf: try canvas.finish(), pageCount: flow.pages.count, code: code, fields: fields)
    }

    /// Key-value rows with a label column.
    func keyValues(_ flow: Flow, _ rows: [(String, String)], t: DocumentTemplate) throws(RenderError) {
        let label = try t.font("label"), body = try t.font("body")
        let lw = (t.labelWidthMM ?? 32) * pointsPerMM
        for (name, value) in rows {
            let n = flow.canvas.prepare(name, font: label, width: lw - 6)
            let v = flow.canvas.prepare(value, font: body, width: flow.width - lw, alignment: .justify)
            let left = flow.left
            flow.block(max(n.height, v.height) + body.size * 0.6) { [canvas = flow.canvas] y in
                canvas.draw(n, x: left, y: y)
                canvas.draw(v, x: left + lw, y: y)
            }
        }
    }

    // MARK: Archive extract

    func archiveExtract(_ r: EnterpriseRecord, at date: Date) throws(RenderError) -> RenderedDocument {
        do { _ = try CreditCode(r.enterprise.uscc) } catch { throw .invalidInput(field: "uscc", reason: error.description) }
        let t = try template(.archiveExtract)
        let e = r.enterprise
        let basic = try checked([
            ("uscc", t.label("uscc"), e.uscc), ("name", t.label("name"), e.name), ("type", t.label("type"), e.type),
            ("legalRepresentative", t.label("legalRepresentative"), e.legalRepresentative),
            ("registeredCapital", t.label("registeredCapital"), e.registeredCapital),
            ("establishedOn", t.label("establishedOn"), e.establishedOn.chineseDescription),
            ("term", t.label("term"), DocumentRenderer.term(e.termFrom, e.termUntil)),
            ("address", t.label("address"), e.address), ("businessScope", t.label("businessScope"), e.businessScope),
            ("authority", t.label("authority"), e.authority), ("status", t.label("status"), r.status),
        ])
        for (i, event) in r.archive.enumerated() {
            try fonts.checkGlyphs(event.summary ?? "", field: "archive[\(i)].summary")
            try fonts.checkGlyphs(event.authority ?? "", field: "archive[\(i)].authority")
            for (j, c) in event.changes.enumerated() {
                try fonts.checkGlyphs(c.item + c.before + c.after, field: "archive[\(i)].changes[\(j)]")
            }
        }
        let fields = CanonicalFields(kind: DocumentKind.archiveExtract.rawValue, fields: [
            ("uscc", e.uscc), ("name", e.name), ("status", r.status), ("events", String(r.archive.count)),
            ("lastEvent", r.archive.map(\.date).max()?.description ?? ""), ("extractedOn", CalendarDate.today(now: date).description),
        ])
        return try flowDocument(kind: .archiveExtract, t: t, title: "\(try t.text("title")) \(e.name)", fields: fields, at: date) { (flow) throws(RenderError) in
            flow.text(try t.text("title"), font: try t.font("title"), alignment: .center, after: 6)
            flow.text(try t.text("basicHeading"), font: try t.font("heading"), after: 4)
            try keyValues(flow, basic, t: t)
            flow.space(8)
            flow.text(try t.text("eventsHeading"), font: try t.font("heading"), after: 4)
            let table = try t.font("table")
            let widths = [0.28, 0.36, 0.36].map { $0 * flow.width }
            for event in r.archive.sorted(by: { $0.date < $1.date }) {
                let kindName = t.texts["event." + event.kind.rawValue] ?? event.kind.rawValue
                var heading = "【\(kindName)】 \(event.date.chineseDescription)"
                if let a = event.authority { heading += "  \(t.label("authority"))：\(a)" }
                flow.text(heading, font: try t.font("label"), after: 3)
                if let s = event.summary { flow.text(s, font: try t.font("body"), alignment: .justify, after: 3) }
                if !event.changes.isEmpty {
                    flow.row([t.label("changeItem"), t.label("before"), t.label("after")], widths: widths, font: table, bold: true)
                    for c in event.changes { flow.row([c.item, c.before, c.after], widths: widths, font: table) }
                }
                flow.space(6)
            }
            if r.archive.isEmpty { flow.text(try t.text("noEvents"), font: try t.font("body")) }
        }
    }

    // MARK: Social-insurance certificate

    func socialInsurance(_ r: SocialInsuranceRecord, at date: Date) throws(RenderError) -> RenderedDocument {
        let t = try template(.socialInsuranceCertificate)
        let masked = IDNumber.mask(r.idNumber)
        let person = try checked([
            ("name", t.label("name"), r.name), ("idNumber", t.label("idNumber"), masked), ("region", t.label("region"), r.region),
        ])
        for (i, p) in r.payments.enumerated() { try fonts.checkGlyphs(p.employer, field: "payments[\(i)].employer") }
        let fields = CanonicalFields(kind: DocumentKind.socialInsuranceCertificate.rawValue, fields: [
            ("name", r.name), ("idNumber", masked), ("region", r.region),
            ("enrolments", r.enrolments.map { "\($0.type.rawValue):\($0.startedOn):\($0.monthsPaid)" }.joined(separator: ",")),
            ("payments", String(r.payments.count)), ("issuedOn", CalendarDate.today(now: date).description),
        ])
        return try flowDocument(kind: .socialInsuranceCertificate, t: t, title: try t.text("title"), fields: fields, at: date) { (flow) throws(RenderError) in
            flow.text(try t.text("title"), font: try t.font("title"), alignment: .center, after: 6)
            try keyValues(flow, person, t: t)
            flow.text(try t.text("statement"), font: try t.font("body"), alignment: .justify, after: 6)
            flow.text(try t.text("enrolmentsHeading"), font: try t.font("heading"), after: 4)
            let table = try t.font("table")
            let ew = [0.34, 0.24, 0.2, 0.22].map { $0 * flow.width }
            flow.row([t.label("insuranceType"), t.label("startedOn"), t.label("monthsPaid"), t.label("status")], widths: ew, font: table, bold: true)
            for en in r.enrolments {
                flow.row([en.type.chineseName, en.startedOn.chineseDescription, String(en.monthsPaid), en.status], widths: ew, font: table)
            }
            flow.space(8)
            flow.text(try t.text("paymentsHeading"), font: try t.font("heading"), after: 4)
            let pw = [0.12, 0.2, 0.14, 0.14, 0.14, 0.26].map { $0 * flow.width }
            let header = [t.label("month"), t.label("insuranceType"), t.label("base"), t.label("employerAmount"),
                          t.label("personalAmount"), t.label("employer")]
            flow.row(header, widths: pw, font: table, bold: true)
            flow.continuation = { f in f.row(header, widths: pw, font: table, bold: true) }
            for p in r.payments {
                flow.row([p.month, p.type.chineseName, p.base.description, p.employerAmount.description,
                          p.personalAmount.description, p.employer], widths: pw, font: table)
            }
            flow.continuation = nil
        }
    }

    // MARK: Receipt

    func receipt(_ r: ReceiptSlip, at date: Date) throws(RenderError) -> RenderedDocument {
        let t = try template(.receipt)
        let formatter = Self.minuteFormatter()
        let rows = try checked([
            ("service", t.label("service"), r.service), ("time", t.label("time"), formatter.string(from: r.time)),
            ("kiosk", t.label("kiosk"), r.kiosk), ("trackingNumber", t.label("trackingNumber"), r.trackingNumber),
        ])
        try fonts.checkGlyphs(r.note ?? "", field: "note")
        let fields = CanonicalFields(kind: DocumentKind.receipt.rawValue, fields: [
            ("service", r.service), ("time", ISO8601DateFormatter().string(from: r.time)), ("kiosk", r.kiosk),
            ("trackingNumber", r.trackingNumber),
        ])
        let code = signingKey.sign(fields, at: date)
        let w = t.page.widthMM * pointsPerMM, m = t.page.marginMM * pointsPerMM
        let cw = w - 2 * m
        let title = try t.font("title"), body = try t.font("body"), small = try t.font("small")
        // Measure first: a roll has no fixed length.
        let probe = try PDFCanvas(width: w, height: 100, fonts: fonts, title: "", subject: "", keywords: "")
        var height = m + probe.measure(try t.text("title"), font: title, width: cw, alignment: .center).height + 8
        for (k, v) in rows { height += probe.measure("\(k)：\(v)", font: body, width: cw).height + 3 }
        if let note = r.note { height += probe.measure(note, font: body, width: cw).height + 3 }
        let qrSize = min(cw, 32 * pointsPerMM)
        height += 6 + qrSize + 4
        height += probe.measure(code.description, font: small, width: cw, alignment: .center).height + 3
        height += probe.measure(try copyLine(t), font: small, width: cw, alignment: .center).height + m
        _ = try? probe.finish()
        let canvas = try PDFCanvas(width: w, height: height, fonts: fonts, title: try t.text("title"),
                                   subject: "yitiji-code:\(code.qrPayload.dropFirst(5))", keywords: keywords(fields))
        var y = m
        y += canvas.text(try t.text("title"), x: m, y: y, font: title, width: cw, alignment: .center) + 8
        for (k, v) in rows { y += canvas.text("\(k)：\(v)", x: m, y: y, font: body, width: cw) + 3 }
        if let note = r.note { y += canvas.text(note, x: m, y: y, font: body, width: cw) + 3 }
        y += 6
        try canvas.qrCode(code.qrPayload, x: (w - qrSize) / 2, y: y, size: qrSize)
        y += qrSize + 4
        y += canvas.text(code.description, x: m, y: y, font: small, width: cw, alignment: .center) + 3
        canvas.text(try copyLine(t), x: m, y: y, font: small, width: cw, alignment: .center)
        return RenderedDocument(kind: .receipt, pdf: try canvas.finish(), pageCount: 1, code: code, fields: fields)
    }
}

extension DocumentRenderer {
    /// Times on slips: `yyyy-MM-dd HH:mm`, Beijing time.
    static func minuteFormatter() -> DateFormatter {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "zh_CN")
        formatter.timeZone = .kiosk
        formatter.dateFormat = "yyyy-MM-dd HH:mm"
        return formatter
    }

    // MARK: Queue ticket

    func queueTicket(_ r: QueueTicketSlip, at date: Date) throws(RenderError) -> RenderedDocument {
        let t = try template(.queueTicket)
        let formatter = Self.minuteFormatter()
        guard (1...8).contains(r.number.count), r.number.allSatisfy({ $0.isASCII && ($0.isUppercase || $0.isNumber) }) else {
            throw .invalidInput(field: "number", reason: "a ticket number is 1 to 8 capitals and digits")
        }
        var pairs = [("service", t.label("service"), r.service), ("waiting", t.label("waiting"), r.waiting)]
        if let counters = r.counters { pairs.append(("counters", t.label("counters"), counters)) }
        pairs += [("time", t.label("time"), formatter.string(from: r.time)), ("site", t.label("site"), r.site), ("kiosk", t.label("kiosk"), r.kiosk)]
        let rows = try checked(pairs)
        try fonts.checkGlyphs(r.note ?? "", field: "note")
        let fields = CanonicalFields(kind: DocumentKind.queueTicket.rawValue, fields: [
            ("number", r.number), ("service", r.service), ("time", ISO8601DateFormatter().string(from: r.time)), ("site", r.site),
            ("kiosk", r.kiosk), ("ticketId", r.ticketId),
        ])
        let code = signingKey.sign(fields, at: date)
        let w = t.page.widthMM * pointsPerMM, m = t.page.marginMM * pointsPerMM
        let cw = w - 2 * m
        let title = try t.font("title"), number = try t.font("number"), body = try t.font("body"), small = try t.font("small")
        let qrPayload = "yitiji-ticket:" + r.ticketId
        let probe = try PDFCanvas(width: w, height: 100, fonts: fonts, title: "", subject: "", keywords: "")
        var height = m + probe.measure(try t.text("title"), font: title, width: cw, alignment: .center).height + 4
        height += probe.measure(r.number, font: number, width: cw, alignment: .center).height + 4
        if let note = r.note { height += probe.measure(note, font: body, width: cw, alignment: .center).height + 4 }
        for (k, v) in rows { height += probe.measure("\(k)：\(v)", font: body, width: cw).height + 3 }
        let qrSize = min(cw, 24 * pointsPerMM)
        height += 4 + qrSize + 4
        height += probe.measure(try t.text("footer"), font: small, width: cw, alignment: .center).height + 3
        height += probe.measure(try copyLine(t), font: small, width: cw, alignment: .center).height + m
        _ = try? probe.finish()
        let canvas = try PDFCanvas(width: w, height: height, fonts: fonts, title: try t.text("title") + " " + r.number,
                                   subject: "yitiji-code:\(code.qrPayload.dropFirst(5))", keywords: keywords(fields))
        var y = m
        y += canvas.text(try t.text("title"), x: m, y: y, font: title, width: cw, alignment: .center) + 4
        y += canvas.text(r.number, x: m, y: y, font: number, width: cw, alignment: .center) + 4
        if let note = r.note { y += canvas.text(note, x: m, y: y, font: body, width: cw, alignment: .center) + 4 }
        for (k, v) in rows { y += canvas.text("\(k)：\(v)", x: m, y: y, font: body, width: cw) + 3 }
        y += 4
        try canvas.qrCode(qrPayload, x: (w - qrSize) / 2, y: y, size: qrSize)
        y += qrSize + 4
        y += canvas.text(try t.text("footer"), x: m, y: y, font: small, width: cw, alignment: .center) + 3
        canvas.text(try copyLine(t), x: m, y: y, font: small, width: cw, alignment: .center)
        return RenderedDocument(kind: .queueTicket, pdf: try canvas.finish(), pageCount: 1, code: code, fields: fields)
    }

    // MARK: Service guide

    func serviceGuide(_ g: GuideSlip, at date: Date) throws(RenderError) -> RenderedDocument {
        let t = try template(.serviceGuide)
        guard g.materials.count <= 40 else { throw .invalidInput(field: "materials", reason: "at most 40 materials") }
        var pairs = [("type", t.label("type"), g.type), ("department", t.label("department"), g.department),
                     ("legalBasis", t.label("legalBasis"), g.legalBasis)]
        for (index, material) in g.materials.enumerated() {
            pairs.append(("materials", index == 0 ? t.label("materials") : "", "\(index + 1). \(material)"))
        }
        pairs += [("timeLimit", t.label("timeLimit"), g.timeLimit), ("fee", t.label("fee"), g.fee)]
        if let location = g.location { pairs.append(("location", t.label("location"), location)) }
        if let hours = g.hours { pairs.append(("hours", t.label("hours"), hours)) }
        let rows = try checked(pairs)
        try fonts.checkGlyphs(g.service, field: "service")
        let fields = CanonicalFields(kind: DocumentKind.serviceGuide.rawValue, fields: [
            ("service", g.service), ("department", g.department), ("timeLimit", g.timeLimit), ("fee", g.fee),
            ("time", ISO8601DateFormatter().string(from: g.time)),
        ])
        let code = signingKey.sign(fields, at: date)
        let w = t.page.widthMM * pointsPerMM, m = t.page.marginMM * pointsPerMM
        let cw = w - 2 * m
        let title = try t.font("title"), body = try t.font("body"), small = try t.font("small")
        let heading = try t.text("title") + " · " + g.service
        func line(_ label: String, _ value: String) -> String { label.isEmpty ? "　　" + value : "\(label)：\(value)" }
        let probe = try PDFCanvas(width: w, height: 100, fonts: fonts, title: "", subject: "", keywords: "")
        var height = m + probe.measure(heading, font: title, width: cw, alignment: .center).height + 6
        for (k, v) in rows { height += probe.measure(line(k, v), font: body, width: cw).height + 2 }
        height += 4 + probe.measure(try copyLine(t), font: small, width: cw, alignment: .center).height + m
        _ = try? probe.finish()
        let canvas = try PDFCanvas(width: w, height: height, fonts: fonts, title: heading,
                                   subject: "yitiji-code:\(code.qrPayload.dropFirst(5))", keywords: keywords(fields))
        var y = m
        y += canvas.text(heading, x: m, y: y, font: title, width: cw, alignment: .center) + 6
        for (k, v) in rows { y += canvas.text(line(k, v), x: m, y: y, font: body, width: cw) + 2 }
        y += 4
        canvas.text(try copyLine(t), x: m, y: y, font: small, width: cw, alignment: .center)
        return RenderedDocument(kind: .serviceGuide, pdf: try canvas.finish(), pageCount: 1, code: code, fields: fields)
    }

    /// A test page for a queue: title, time, queue name and a line of CJK text.
    public func testPage(queue: String, widthMM: Double = 210, heightMM: Double = 297, at date: Date = Date()) throws(RenderError) -> Data {
        let font = FontSpec(family: "Noto Sans CJK SC", size: 14)
        let canvas = try PDFCanvas(width: widthMM * pointsPerMM, height: heightMM * pointsPerMM, fonts: fonts,
                                   title: "Yitiji test page", subject: "", keywords: "")
        let m = 12 * pointsPerMM
        var y = m
        y += canvas.text("打印测试页 · Yitiji test page", x: m, y: y, font: FontSpec(family: "Noto Sans CJK SC", size: 20, bold: true)) + 10
        y += canvas.text("队列 queue: \(queue)", x: m, y: y, font: font) + 4
        y += canvas.text("时间 time: \(ISO8601DateFormatter().string(from: date))", x: m, y: y, font: font) + 4
        y += canvas.text("中文字体：营业执照 社会保险参保证明 企业登记档案 好差评", x: m, y: y, font: font, width: canvas.width - 2 * m) + 10
        canvas.rectangle(x: m, y: y, width: canvas.width - 2 * m, height: 20)
        return try canvas.finish()
    }
}
