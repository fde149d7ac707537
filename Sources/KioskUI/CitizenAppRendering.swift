import KioskAPI
import KioskCore
import KioskTerminal

extension CitizenApp {
    /// Draws the current screen into a buffer of the terminal's size.
    public func draw(into screenBuffer: inout ScreenBuffer) {
        var canvas = Canvas(buffer: screenBuffer, config: config, language: language)
        canvas.buffer.clear()
        drawFrame(&canvas)
        switch screen {
        case .idle: drawIdle(&canvas)
        case .reading: canvas.centered(t("card.reading"), row: canvas.height / 2, style: .title)
        case .menu: drawMenu(&canvas)
        case .guide: drawGuide(&canvas)
        case .ticket: drawTicket(&canvas)
        case .progressInput: drawProgressInput(&canvas)
        case .progressList: drawProgressList(&canvas)
        case .progressDetail: drawProgressDetail(&canvas)
        case .queryInput: drawQuery(&canvas)
        case .results: drawResults(&canvas)
        case .detail: drawDetail(&canvas)
        case .preview: drawPreview(&canvas)
        case .faceCheck: drawFaceCheck(&canvas)
        case .insurance: drawInsurance(&canvas)
        case .cardLoss: drawCardLoss(&canvas)
        case .openings: drawOpenings(&canvas)
        case .printing: canvas.centered(t("print.progress"), row: canvas.height / 2, style: .title)
        case .printResult: drawPrintResult(&canvas)
        case .applicationForm: if formMode == .party { drawPartyForm(&canvas) } else { drawForm(&canvas) }
        case .applicationReceipt: drawReceipt(&canvas)
        case .rating: drawRating(&canvas)
        case .ratingReason: drawReasons(&canvas)
        case .goodbye: drawGoodbye(&canvas)
        case .maintenance: drawMaintenance(&canvas)
        case .message: drawMessage(&canvas)
        case .busy: canvas.centered(t(busyKey), row: canvas.height / 2, style: .title)
        }
        screenBuffer = canvas.buffer
    }

    /// The screen as plain text lines (for tests and snapshots).
    public func snapshot(width: Int = 80, height: Int = 24) -> [String] {
        var buffer = ScreenBuffer(width: width, height: height, useStyles: false)
        draw(into: &buffer)
        return (0..<height).map { buffer.rowText($0).replacingOccurrences(of: "\\s+$", with: "", options: .regularExpression) }
    }

    func t(_ key: String) -> String { config.text(key, language) }

    private func drawFrame(_ c: inout Canvas) {
        c.buffer.fillRow(0, style: .selected)
        c.buffer.put(" " + t("app.title") + " · " + config.kioskName, x: 0, y: 0, style: .selected)
        var right = language == "zh" ? "中文 | E" : "English | E"
        if let holder { right = holder.maskedName + "  " + right }
        c.buffer.put(right + " ", x: max(0, c.width - DisplayWidth.of(right) - 1), y: 0, style: .selected)
        if let warningSeconds {
            let text = t("session.idle") + " (\(warningSeconds)s)"
            c.buffer.fillRow(c.height - 2, style: .warning)
            c.buffer.put(" " + TextLayout.truncate(text, width: c.width - 2), x: 0, y: c.height - 2, style: .warning)
        } else if screen != .maintenance, let warning = status.warnings.first ?? (status.readerPresent ? nil : "reader.missing") {
            c.buffer.put(" " + TextLayout.truncate(t(warning), width: c.width - 2), x: 0, y: c.height - 2, style: .warning)
        }
    }

    func hint(_ c: inout Canvas, _ key: String) {
        c.buffer.put(" " + TextLayout.truncate(t(key), width: c.width - 2), x: 0, y: c.height - 1, style: Style.dim)
    }

    /// On text screens with an input method: the input mode (F2 switches) and what is being
    /// composed, with its numbered candidates, just above the hint.
    func drawInputMethod(_ c: inout Canvas) {
        guard inputMethod != nil else { return }
        let mode = t(chineseInput ? "ime.chinese" : "ime.latin")
        guard let composition else {
            c.buffer.put(" " + TextLayout.truncate(mode, width: c.width - 2), x: 0, y: c.height - 2, style: Style.dim)
            return
        }
        var line = " " + t("ime.pinyin") + " " + composition.preedit + "  "
        for (index, candidate) in composition.candidates.enumerated() { line += "\(index + 1).\(candidate) " }
        if composition.page > 0 || composition.hasMore { line += " " + t("ime.page") }
        c.buffer.put(TextLayout.truncate(line, width: c.width - 1), x: 0, y: c.height - 2, style: .selected)
    }

    private func drawIdle(_ c: inout Canvas) {
        let middle = c.height / 2
        if let notice { c.centered(t(notice), row: middle - 3, style: .warning) }
        c.centered(t("idle.prompt"), row: middle - 1, style: .title)
        c.centered(t("idle.hint"), row: middle + 1)
    }

    private func drawMenu(_ c: inout Canvas) {
        var row = 2
        if let holder {
            c.buffer.put(" " + t("session.hello").replacingOccurrences(of: "{name}", with: holder.maskedName), x: 1, y: row)
            row += 2
        }
        c.buffer.put(t("menu.title"), x: 2, y: row, style: .title)
        row += 2
        for (index, item) in config.services.enumerated() {
            var label = "\(index + 1). " + (language == "en" ? item.nameEn : item.nameZh)
            if item.requiresCard, holder == nil { label += " " + t("menu.needcard") }
            c.item(label, row: row, selected: selection == index)
            row += 1
        }
        c.item("\(config.services.count + 1). " + (holder == nil ? t("menu.back") : t("menu.finish")),
               row: row, selected: selection == config.services.count)
        hint(&c, "menu.hint")
    }

    /// The guide's lines: each field labelled, long values wrapped, the materials one per line.
    func guideLines(_ item: ServiceItemView, width: Int) -> [(String, ScreenBuffer.Style)] {
        guard let guide = item.guide else { return [] }
        var fields: [(String, [String])] = [
            ("guide.type", [guide.type]), ("guide.department", [guide.department.text(language)]),
            ("guide.legalBasis", [guide.legalBasis.text(language)]),
            ("guide.materials", guide.materials.enumerated().map { "\($0.offset + 1). " + $0.element.text(language) }),
            ("guide.timeLimit", [guide.timeLimit.text(language)]), ("guide.fee", [guide.fee.text(language)]),
        ]
        if let location = guide.location { fields.append(("guide.location", [location.text(language)])) }
        if let queue = guide.queueName { fields.append(("guide.queue", [queue.text(language)])) }
        if let hours = guide.hours { fields.append(("guide.hours", [hours.text(language)])) }
        let labelWidth = fields.map { DisplayWidth.of(t($0.0)) }.max() ?? 8
        var lines: [(String, ScreenBuffer.Style)] = []
        for (key, values) in fields {
            var first = true
            for value in values {
                for line in TextLayout.wrap(value, width: max(10, width - labelWidth - 2)) {
                    lines.append(((first ? TextLayout.pad(t(key), width: labelWidth) : String(repeating: " ", count: labelWidth)) + "  " + line, .plain))
                    first = false
                }
            }
        }
        return lines
    }

    private func drawGuide(_ c: inout Canvas) {
        guard config.services.indices.contains(guideIndex) else { return }
        let item = config.services[guideIndex]
        let name = language == "en" ? item.nameEn : item.nameZh
        c.buffer.put(t("guide.title") + " · " + name, x: 2, y: 2, style: .title)
        let lines = guideLines(item, width: c.width - 6)
        let perPage = max(1, c.height - 8)
        let pages = max(1, (lines.count + perPage - 1) / perPage)
        let page = min(scroll, pages - 1)
        for (offset, line) in lines.dropFirst(page * perPage).prefix(perPage).enumerated() {
            c.buffer.put(TextLayout.truncate(line.0, width: c.width - 4), x: 3, y: 4 + offset, style: line.1)
        }
        if pages > 1 {
            c.buffer.put(t("guide.page").replacingOccurrences(of: "{n}", with: "\(page + 1)").replacingOccurrences(of: "{m}", with: "\(pages)"),
                         x: 3, y: c.height - 4, style: Style.dim)
        }
        let next = item.action == "counter-ticket" ? "guide.takeNumber" : (item.action == "appointment-check-in" ? "guide.checkIn" : "guide.start")
        c.buffer.put(TextLayout.truncate(t(next), width: c.width - 4), x: 2, y: c.height - 3, style: .title)
        hint(&c, "guide.hint")
    }

    private func drawTicket(_ c: inout Canvas) {
        guard let ticket else { return }
        let middle = c.height / 2
        guard ticket.printed else {
            c.paragraph(t("ticket.notPrinted"), row: middle - 2, style: .warning, centered: true)
            c.paragraph(t(ticket.messageKey), row: middle, style: .plain, centered: true)
            hint(&c, "continue.hint")
            return
        }
        c.centered(t(ticket.priority ? "ticket.priority" : "ticket.title") + " · " + ticket.service.text(language), row: middle - 5, style: .title)
        c.centered(t("ticket.number") + "  " + ticket.number, row: middle - 3, style: .title)
        let ahead: String
        if let n = ticket.ahead {
            ahead = t(ticket.approximate ? "ticket.aheadApprox" : "ticket.ahead").replacingOccurrences(of: "{n}", with: "\(n)")
        } else {
            ahead = t("ticket.aheadUnknown")
        }
        c.centered(ahead, row: middle - 1)
        if let minutes = ticket.waitMinutes, minutes > 0 {
            c.centered(t("ticket.wait").replacingOccurrences(of: "{m}", with: "\(minutes)"), row: middle)
        }
        if ticket.offline { c.paragraph(t("ticket.offlineNote"), row: middle + 2, style: .warning, centered: true) }
        c.centered(t("ticket.take"), row: middle + 4, style: .title)
        hint(&c, "continue.hint")
    }

    private func drawProgressInput(_ c: inout Canvas) {
        c.buffer.put(t("progress.title"), x: 2, y: 2, style: .title)
        c.paragraph(t("progress.prompt"), row: 4, style: .plain)
        c.buffer.put("> " + input + "_", x: 4, y: 8)
        hint(&c, "progress.hint")
    }

    private func drawProgressList(_ c: inout Canvas) {
        c.buffer.put(t("progress.mine"), x: 2, y: 2, style: .title)
        var row = 4
        for (index, item) in progressItems.enumerated() where row < c.height - 2 {
            let line = "\(index + 1). \(item.proposedName)  \(t(item.statusKey))  \(item.submittedAt)"
            c.item(line, row: row, selected: selection == index)
            row += 1
        }
        hint(&c, "progress.listHint")
    }

    private func drawProgressDetail(_ c: inout Canvas) {
        guard let p = progressShown else { return }
        let colon = language == "en" ? ": " : "："
        c.buffer.put(t("progress.title"), x: 2, y: 2, style: .title)
        let fields: [(String, String)] = [("progress.tracking", p.trackingNumber), ("progress.name", p.proposedName),
                                          ("progress.submitted", p.submittedAt), ("progress.status", t(p.statusKey) + (p.note.map { colon + $0 } ?? ""))]
        let labelWidth = fields.map { DisplayWidth.of(t($0.0)) }.max() ?? 8
        var lines: [(String, ScreenBuffer.Style)] = []
        for (key, value) in fields {
            for (n, line) in TextLayout.wrap(value, width: max(10, c.width - labelWidth - 8)).enumerated() {
                lines.append(((n == 0 ? TextLayout.pad(t(key), width: labelWidth) : String(repeating: " ", count: labelWidth)) + "  " + line,
                              key == "progress.status" ? .title : .plain))
            }
        }
        if let parties = p.parties {
            lines.append(("", .plain))
            lines.append((t("progress.parties") + (p.confirmBy.map { "（\(t("opening.until")) \($0)）" } ?? ""), .title))
            for party in parties {
                lines.append(("  \(party.maskedName)  \(describe(roles: party.roles, share: party.shareBasisPoints))  "
                              + t(party.confirmed ? "opening.partyConfirmed" : "opening.partyWaiting"), party.confirmed ? .plain : .warning))
            }
        }
        lines.append(("", .plain))
        lines.append((t("progress.history"), .title))
        for step in p.history {
            for line in TextLayout.wrap("  " + step.at + "  " + t(step.statusKey) + (step.note.map { colon + $0 } ?? ""), width: c.width - 6) {
                lines.append((line, .plain))
            }
        }
        let visible = c.height - 6
        let first = min(scroll, max(0, lines.count - visible))
        for (offset, line) in lines.dropFirst(first).prefix(visible).enumerated() {
            c.buffer.put(TextLayout.truncate(line.0, width: c.width - 4), x: 2, y: 4 + offset, style: line.1)
        }
        hint(&c, "progress.detailHint")
    }

    private func drawQuery(_ c: inout Canvas) {
        c.paragraph(t("query.prompt"), row: 3, style: .title)
        c.buffer.put("> " + input + "_", x: 4, y: 6)
        drawInputMethod(&c)
        hint(&c, "query.hint")
    }

    private func drawResults(_ c: inout Canvas) {
        var row = 2
        c.buffer.put(t("results.title"), x: 2, y: row, style: .title)
        row += 1
        if searchResult.cachedAgeSeconds != nil {
            c.buffer.put(t("query.cached"), x: 2, y: row, style: .warning)
        }
        row += 1
        let header = [" ", t("field.name"), t("field.uscc"), t("field.status")]
        let rows = searchResult.results.enumerated().map { ["\($0.offset + 1)", $0.element.name, $0.element.uscc, $0.element.status] }
        let lines = TextLayout.table(header: header, rows: rows, width: c.width - 4)
        let visible = c.height - row - 3
        let first = max(0, min(selection - visible + 3, lines.count - visible))
        for (index, line) in lines.enumerated() where index < 2 || index - 2 >= first {
            guard row < c.height - 2 else { break }
            let selected = index >= 2 && index - 2 == selection
            c.buffer.put(line, x: 2, y: row, style: selected ? .selected : (index == 0 ? .title : .plain))
            row += 1
        }
        hint(&c, "results.hint")
    }

    private func drawDetail(_ c: inout Canvas) {
        guard let detail else { return }
        let e = detail.enterprise
        var lines: [(String, ScreenBuffer.Style)] = []
        if detail.cachedAgeSeconds != nil { lines.append((t("query.cached"), .warning)) }
        let term = e.termFrom.description + " " + t("term.to") + " " + (e.termUntil?.description ?? t("term.indefinite"))
        let fields: [(String, String)] = [
            ("field.name", e.name), ("field.uscc", e.uscc), ("field.status", detail.status), ("field.type", e.type),
            ("field.legalRepresentative", e.legalRepresentative), ("field.registeredCapital", e.registeredCapital),
            ("field.establishedOn", e.establishedOn.description), ("field.term", term), ("field.address", e.address),
            ("field.authority", e.authority), ("field.businessScope", e.businessScope),
        ]
        let labelWidth = fields.map { DisplayWidth.of(t($0.0)) }.max() ?? 10
        for (key, value) in fields {
            let wrapped = TextLayout.wrap(value, width: max(10, c.width - labelWidth - 8))
            for (n, line) in wrapped.enumerated() {
                lines.append(((n == 0 ? TextLayout.pad(t(key), width: labelWidth) : String(repeating: " ", count: labelWidth)) + "  " + line, .plain))
            }
        }
        lines.append(("", .plain))
        lines.append((t("archive.title"), .title))
        for event in detail.archive {
            lines.append(("  " + event.date.description + "  " + t("event." + event.kind.rawValue) + (event.summary.map { "  " + $0 } ?? ""), .plain))
            for change in event.changes {
                for line in TextLayout.wrap("    \(change.item): \(change.before) -> \(change.after)", width: c.width - 6) {
                    lines.append((line, .plain))
                }
            }
        }
        let actionsTop = c.height - 5
        let visible = actionsTop - 3
        let first = min(scroll, max(0, lines.count - visible))
        c.buffer.put(t("detail.title"), x: 2, y: 2, style: .title)
        for (offset, line) in lines.dropFirst(first).prefix(visible).enumerated() {
            c.buffer.put(TextLayout.truncate(line.0, width: c.width - 4), x: 2, y: 3 + offset, style: line.1)
        }
        c.buffer.put("1. " + t("action.printLicence"), x: 2, y: actionsTop + 1)
        c.buffer.put("2. " + t("action.printArchive"), x: 2, y: actionsTop + 2)
        hint(&c, "detail.hint")
    }

    private func drawPreview(_ c: inout Canvas) {
        guard let document = previewDocument else { return }
        c.buffer.put(t("preview.title") + " · " + document.title, x: 2, y: 2, style: .title)
        let page = document.pages.indices.contains(scroll) ? document.pages[scroll] : ""
        var row = 4
        for line in TextLayout.wrap(page, width: c.width - 6) {
            guard row < c.height - 4 else { break }
            c.buffer.put(line, x: 3, y: row)
            row += 1
        }
        let pageLine = t("preview.page").replacingOccurrences(of: "{n}", with: "\(scroll + 1)")
            .replacingOccurrences(of: "{m}", with: "\(document.pages.count)")
        c.centered(pageLine, row: c.height - 3)
        hint(&c, previewRequest?.kind == "social-insurance-certificate" ? "preview.hintPost" : "preview.hint")
    }

    private func drawPrintResult(_ c: inout Canvas) {
        guard let outcome = printOutcome else { return }
        let style: ScreenBuffer.Style = outcome.state == "completed" ? .title : .warning
        c.paragraph(t(outcome.messageKey), row: c.height / 2 - 2, style: style, centered: true)
        if let code = outcome.verificationCode {
            c.centered(t("print.code") + ": " + code, row: c.height / 2 + 1)
        }
        hint(&c, "continue.hint")
    }

    /// A field's value as the form shows it: the delivery fields masked unless being edited.
    func shownValue(_ field: Int, editing: Bool) -> String {
        let value = formFields[field]
        guard Self.deliveryFields.contains(field), !editing, !value.isEmpty else { return value }
        let masked = DeliveryAddress(recipient: formFields[5], mobile: formFields[6], address: formFields[7]).masked
        return [5: masked.recipient, 6: masked.mobile][field] ?? masked.address
    }

    private func drawForm(_ c: inout Canvas) {
        let delivering = formMode == .certificateDelivery
        c.buffer.put(t(delivering ? "delivery.title" : "apply.title"), x: 2, y: 2, style: .title)
        if let holder {
            c.buffer.put(t(delivering ? "delivery.applicant" : "apply.applicant") + ": " + holder.maskedName, x: 2, y: 3)
        }
        let indices = formIndices
        let labelWidth = indices.map { DisplayWidth.of(t(Self.formKeys[$0])) }.max() ?? 10
        var row = 5
        let gap = indices.count + partyRows > 5 ? 0 : 1
        for (position, field) in indices.enumerated() {
            let editing = selection == position
            let value = shownValue(field, editing: editing) + (editing ? "_" : "")
            let lines = TextLayout.wrap(value, width: max(10, c.width - labelWidth - 8))
            for (n, line) in lines.enumerated() where row < c.height - 5 {
                let label = n == 0 ? TextLayout.pad(t(Self.formKeys[field]), width: labelWidth) : String(repeating: " ", count: labelWidth)
                c.buffer.put(label + "  " + line, x: 2, y: row, style: editing && n == 0 ? .title : .plain)
                row += 1
            }
            row += gap
        }
        if !delivering {
            let way = t(postResult ? "delivery.way.post" : "delivery.way.hall")
            c.buffer.put(TextLayout.truncate(t("delivery.choice").replacingOccurrences(of: "{way}", with: way), width: c.width - 4),
                         x: 2, y: min(row, c.height - 5), style: Style.dim)
            row += 1
            row = drawPartyRows(&c, from: row)
        }
        c.item(t("apply.submit"), row: min(row, c.height - 4), selected: selection == formSubmitIndex)
        drawInputMethod(&c)
        hint(&c, "apply.hint")
    }

    private func drawReceipt(_ c: inout Canvas) {
        guard let receipt else { return }
        let middle = c.height / 2
        c.centered(t("apply.received"), row: middle - 3, style: .title)
        c.centered(t("apply.tracking") + ": " + receipt.trackingNumber, row: middle - 1)
        if let to = receipt.postedTo {
            c.centered(t("delivery.postedTo").replacingOccurrences(of: "{to}", with: "\(to.recipient) \(to.mobile) \(to.address)"), row: middle + 3)
        }
        if let number = receipt.registryNumber {
            c.centered(t("apply.registryNumber") + ": " + number, row: middle)
        } else if formMode == .certificateDelivery && receipt.postedTo != nil {
            c.paragraph(t("delivery.queued"), row: middle + 1, style: .plain, centered: true)
        } else {
            c.paragraph(t("apply.offline"), row: middle + 1, style: .plain, centered: true)
        }
        hint(&c, "continue.hint")
    }

    private func drawRating(_ c: inout Canvas) {
        c.buffer.put(t("rating.title"), x: 2, y: 3, style: .title)
        for (index, level) in config.ratingLevels.enumerated() {
            c.item("\(level.value). " + level.label.text(language), row: 5 + index, selected: selection == index)
        }
        hint(&c, "rating.hint")
    }

    private func drawReasons(_ c: inout Canvas) {
        c.buffer.put(t("rating.reason"), x: 2, y: 3, style: .title)
        for (index, reason) in config.ratingReasons.enumerated() {
            c.item("\(index + 1). " + reason.text(language), row: 5 + index, selected: selection == index)
        }
        hint(&c, "rating.hint")
    }

    private func drawFaceCheck(_ c: inout Canvas) {
        c.buffer.put(t("face.title"), x: 2, y: 3, style: .title)
        c.paragraph(t("face.prompt"), row: 6, style: .plain)
        if let faceResultKey {
            c.paragraph(t(faceResultKey), row: c.height / 2 + 2, style: .warning, centered: true)
            if let left = faceAttemptsLeft {
                c.centered(t("face.attempts").replacingOccurrences(of: "{n}", with: String(left)), row: c.height / 2 + 5)
            }
        }
        hint(&c, "face.hint")
    }

    private func drawCardLoss(_ c: inout Canvas) {
        c.buffer.put(t("sscard.title"), x: 2, y: 3, style: .title)
        if let card = securityCard {
            c.paragraph(t("sscard.card").replacingOccurrences(of: "{number}", with: card.maskedNumber)
                .replacingOccurrences(of: "{issued}", with: card.issuedOn), row: 6, style: .plain)
        }
        c.paragraph(t("sscard.warning"), row: 9, style: .warning)
        hint(&c, "sscard.hint")
    }

    private func drawInsurance(_ c: inout Canvas) {
        guard let record = insurance else { return }
        c.buffer.put(t("insurance.title") + " · " + record.name + " " + record.maskedIdNumber, x: 2, y: 2, style: .title)
        var x = 2
        for (index, key) in ["insurance.enrolments", "insurance.payments", "insurance.account"].enumerated() {
            let label = " \(index + 1) " + t(key) + " "
            c.buffer.put(label, x: x, y: 4, style: index == insuranceTab ? .selected : .plain)
            x += DisplayWidth.of(label) + 2
        }
        let english = language == "en"
        var lines: [String] = []
        switch insuranceTab {
        case 0:
            lines = record.enrolments.map { e in
                "\(english ? e.type.englishName : e.type.chineseName)  \(t("insurance.since")) \(e.startedOn)  "
                    + t("insurance.months").replacingOccurrences(of: "{n}", with: String(e.monthsPaid)) + "  \(e.status)"
            }
            lines.insert(t("insurance.region") + "：" + record.region, at: 0)
        case 1:
            lines = record.payments.map { p in
                "\(p.month)  \(english ? p.type.englishName : p.type.chineseName)  \(t("insurance.base")) \(p.base)  "
                    + "\(t("insurance.employerPart")) \(p.employerAmount)  \(t("insurance.personalPart")) \(p.personalAmount)"
            }
            if lines.isEmpty { lines = [t("insurance.noPayments")] }
        default:
            if let account = record.account {
                lines.append(t("insurance.balance").replacingOccurrences(of: "{amount}", with: account.balance.description)
                    .replacingOccurrences(of: "{date}", with: account.asOf.description))
            } else {
                lines.append(t("insurance.noAccount"))
            }
            if let pension = record.pension {
                lines.append(t("insurance.pension").replacingOccurrences(of: "{amount}", with: pension.monthlyAmount.description)
                    .replacingOccurrences(of: "{date}", with: pension.startedOn.description))
            }
        }
        var wrapped: [String] = []
        for line in lines { wrapped += TextLayout.wrap(line, width: c.width - 6) }
        let rows = max(1, c.height - 9)
        insuranceScrollLimit = max(0, wrapped.count - rows)
        let start = min(scroll, insuranceScrollLimit)
        for (offset, line) in wrapped.dropFirst(start).prefix(rows).enumerated() {
            c.buffer.put(line, x: 4, y: 6 + offset)
        }
        if wrapped.count > rows {
            c.centered("\(start + 1)–\(min(wrapped.count, start + rows)) / \(wrapped.count)", row: c.height - 3, style: .dim)
        }
        hint(&c, "insurance.hint")
    }

    private func drawGoodbye(_ c: inout Canvas) {
        let middle = c.height / 2
        if let notice { c.centered(t(notice), row: middle - 3) }
        if holder != nil { c.centered(t("card.take"), row: middle - 1, style: .warning) }
        c.centered(t("session.goodbye"), row: middle + 1, style: .title)
        hint(&c, "continue.hint")
    }

    private func drawMaintenance(_ c: inout Canvas) {
        c.centered(t("maintenance"), row: c.height / 2 - 1, style: .warning)
        c.centered(config.text("maintenance", language == "zh" ? "en" : "zh"), row: c.height / 2 + 1)
    }

    private func drawMessage(_ c: inout Canvas) {
        var text = t(messageKey)
        if messageKey == "apply.missing" { text = text.replacingOccurrences(of: "{field}", with: input) }
        for (name, value) in messageValues { text = text.replacingOccurrences(of: "{\(name)}", with: value) }
        c.paragraph(text, row: c.height / 2 - 1, style: .warning, centered: true)
        hint(&c, "continue.hint")
    }
}

/// Drawing helpers over a screen buffer.
struct Canvas {
    var buffer: ScreenBuffer
    let config: InterfaceConfiguration
    let language: String
    var width: Int { buffer.width }
    var height: Int { buffer.height }

    mutating func centered(_ text: String, row: Int, style: ScreenBuffer.Style = .plain) {
        let fitted = TextLayout.truncate(text, width: width - 2)
        buffer.put(fitted, x: max(0, (width - DisplayWidth.of(fitted)) / 2), y: row, style: style)
    }

    mutating func paragraph(_ text: String, row: Int, style: ScreenBuffer.Style, centered: Bool = false) {
        for (offset, line) in TextLayout.wrap(text, width: width - 8).enumerated() {
            if centered { self.centered(line, row: row + offset, style: style) } else { buffer.put(line, x: 4, y: row + offset, style: style) }
        }
    }

    mutating func item(_ text: String, row: Int, selected: Bool) {
        let line = (selected ? "> " : "  ") + TextLayout.truncate(text, width: width - 8)
        buffer.put(line, x: 3, y: row, style: selected ? .selected : .plain)
    }
}

typealias Style = ScreenBuffer.Style
extension ScreenBuffer.Style {
    static let dim = ScreenBuffer.Style(dim: true)
}
