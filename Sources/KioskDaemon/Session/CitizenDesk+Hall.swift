import Foundation
import KioskAPI
import KioskConfig
import KioskCore
import Printing
import Registry

extension CitizenDesk {
    static func text(_ t: ServiceCatalogue.LocalizedText) -> LocalizedTextView { LocalizedTextView(zh: t.zh, en: t.en) }

    /// The guide of `item` as the citizen's screen shows it.
    static func guide(of item: ServiceCatalogue.Item, in catalogue: ServiceCatalogue) -> ServiceGuideView {
        let queue = item.queue.flatMap { id in catalogue.queues?.first { $0.id == id } }
        return ServiceGuideView(type: item.type, department: text(item.department), legalBasis: text(item.legalBasis),
                                materials: item.requiredMaterials.map(text), timeLimit: text(item.timeLimit), fee: text(item.fee),
                                location: item.location.map(text), hours: item.hours.map(text), queueName: queue.map { text($0.name) })
    }

    /// Takes a number for a counter service: from the registry, else (unreachable) from the
    /// kiosk's own block; prints the ticket; reports it once printed.
    public func takeTicket(serviceCode: String, requestId: String) async throws -> QueueTicketView {
        try await notInMaintenance()
        await sessions.touch()
        let config = self.config
        guard let item = config.services.items.first(where: { $0.code == serviceCode && $0.action == .counterTicket }),
              let queueId = item.queue, let queue = config.services.queues?.first(where: { $0.id == queueId }) else {
            throw CitizenAPIError(messageKey: "error.generic", detail: "\(serviceCode.prefix(32)) is not a counter service of this kiosk")
        }
        try ticketPrinterReady()
        let site = config.settings.kiosk.site
        let request = TicketRequest(ticketId: requestId, queue: queueId, serviceCode: serviceCode)
        // A retry of a number given offline stays that number.
        if !(await gateway.hasOfflineSequence(ticketId: requestId)) {
            do {
                let ticket = try await gateway.reserveTicket(site: site, request)
                return await printTicket(ticket, item: item, queue: queue, offline: false)
            } catch {
                guard case .unreachable = error else { throw Self.citizenError(error) }
                logger.notice("registry unreachable: giving a number of the kiosk's own block", metadata: ["queue": "\(queueId)"])
            }
        }
        guard let letter = config.settings.hall?.offlineLetter else {
            throw CitizenAPIError(messageKey: "ticket.unavailable", detail: "the registry is unreachable and hall.offlineLetter is not set")
        }
        let now = Date(), today = HallNames.day(of: now)
        let sequence: Int
        do { sequence = try await gateway.offlineSequence(ticketId: requestId, day: today, queue: queueId) } catch {
            throw CitizenAPIError(messageKey: "ticket.unavailable", detail: error.description)
        }
        let known = await gateway.queueFigure(queueId).flatMap { $0.day == today ? $0 : nil }
        let ticket = HallTicket(ticketId: requestId, site: site, queue: queueId,
                                number: HallNames.offlineNumber(queue: queueId, kioskLetter: letter, sequence: sequence),
                                serviceCode: serviceCode, issuedAt: now, priority: false, state: .reserved,
                                ahead: known.map { $0.waiting + $0.offlineSince } ?? -1)
        return await printTicket(ticket, item: item, queue: queue, offline: true)
    }

    /// Checks the card holder in for today's appointment and prints the priority ticket.
    public func checkIn(requestId: String) async throws -> QueueTicketView {
        try await notInMaintenance()
        let identity = try await holder()
        await sessions.touch()
        try ticketPrinterReady()
        let config = self.config
        let answer: CheckInAnswer
        do {
            answer = try await gateway.checkIn(site: config.settings.kiosk.site, CheckInRequest(idNumber: identity.idNumber, ticketId: requestId))
        } catch {
            if case .unreachable = error {
                throw CitizenAPIError(messageKey: "checkin.offline", detail: error.description)
            }
            throw Self.citizenError(error)
        }
        switch answer {
        case .refused(let problem):
            audit?.record(actor: "citizen", action: "check-in.refused", subjectIdNumber: identity.idNumber, detail: problem.code)
            throw CitizenAPIError(messageKey: Self.checkInMessage(problem.code), detail: problem.detail, values: Self.slotValues(problem.facts))
        case .ticket(let ticket):
            audit?.record(actor: "citizen", action: "check-in", subjectIdNumber: identity.idNumber, detail: "ticket \(ticket.number)")
            let item = config.services.items.first { $0.code == ticket.serviceCode }
            let queue = config.services.queues?.first { $0.id == ticket.queue }
            return await printTicket(ticket, item: item, queue: queue, offline: false)
        }
    }

    /// Prints a service's guide on the receipt printer (in Chinese, as documents are).
    public func printGuide(serviceCode: String, requestId: String) async throws -> PrintOutcomeView {
        try await notInMaintenance()
        await sessions.touch()
        guard let item = config.services.items.first(where: { $0.code == serviceCode }) else {
            throw CitizenAPIError(messageKey: "error.generic", detail: "\(serviceCode.prefix(32)) is not a service of this kiosk")
        }
        try ticketPrinterReady()
        let slip = GuideSlip(service: item.name.zh, type: item.type, department: item.department.zh, legalBasis: item.legalBasis.zh,
                             materials: item.requiredMaterials.map(\.zh), timeLimit: item.timeLimit.zh, fee: item.fee.zh,
                             location: item.location?.zh, hours: item.hours?.zh, time: Date())
        let document: RenderedDocument
        do { document = try desk.render(.serviceGuide, slip) } catch {
            logger.error("guide not rendered", metadata: ["service": "\(serviceCode)", "error": "\(error)"])
            throw CitizenAPIError(messageKey: "print.failed", detail: "\(error)")
        }
        let printed = await printOnReceipt(document, requestID: "guide-" + requestId)
        return PrintOutcomeView(state: printed.state, messageKey: printed.outcome.succeeded ? "guide.printed" : Self.messageKey(printed.outcome))
    }

    static func checkInMessage(_ code: String) -> String {
        switch code {
        case "appointment.too-early": return "checkin.early"
        case "appointment.too-late": return "checkin.late"
        case "appointment.other-site": return "checkin.othersite"
        default: return "checkin.none"
        }
    }

    /// `{start}` and `{end}` as HH:mm in Beijing time, and `{site}`.
    static func slotValues(_ facts: [String: String]?) -> [String: String]? {
        guard let facts else { return nil }
        let parser = ISO8601DateFormatter()
        let clock = DateFormatter()
        clock.timeZone = .kiosk
        clock.dateFormat = "HH:mm"
        var values: [String: String] = [:]
        for (key, name) in [("startsAt", "start"), ("endsAt", "end")] {
            if let text = facts[key], let date = parser.date(from: text) { values[name] = clock.string(from: date) }
        }
        if let site = facts["site"], HallNames.isSite(site) { values["site"] = site }
        return values
    }

    func ticketPrinterReady() throws {
        guard desk.roles["receipt"] != nil else {
            throw CitizenAPIError(messageKey: "ticket.noprinter", detail: "no receipt printer role in the configuration")
        }
    }

    /// Prints a ticket; once printed it is reported (through the outbox) and counted.
    func printTicket(_ ticket: HallTicket, item: ServiceCatalogue.Item?, queue: ServiceCatalogue.Queue?, offline: Bool) async -> QueueTicketView {
        let settings = config.settings
        let service = item.map { Self.text($0.name) } ?? LocalizedTextView(zh: ticket.serviceCode, en: ticket.serviceCode)
        let ahead: Int? = ticket.ahead >= 0 ? ticket.ahead : nil
        let waitMinutes = ahead.flatMap { n in queue.map { Int((Double(n * $0.minutesPerPerson) / Double(max(1, $0.counters))).rounded(.up)) } }
        var waiting = ahead.map { offline ? "约 \($0) 人" : "\($0) 人" } ?? "暂无法获知"
        if let waitMinutes, waitMinutes > 0 { waiting += "，约等 \(waitMinutes) 分钟" }
        let note = ticket.priority ? "预约签到 · 优先叫号" : (offline ? "网络恢复后自动上报，号码有效" : nil)
        let slip = QueueTicketSlip(number: ticket.number, service: service.zh, waiting: waiting, time: ticket.issuedAt,
                                   site: settings.kiosk.name, kiosk: settings.kiosk.id, ticketId: ticket.ticketId, note: note,
                                   counters: item?.location?.zh)
        var view = QueueTicketView(number: ticket.number, service: service, ahead: ahead, approximate: offline, waitMinutes: waitMinutes,
                                   priority: ticket.priority, offline: offline, printed: false, messageKey: "print.failed")
        let document: RenderedDocument
        do { document = try desk.render(.queueTicket, slip) } catch {
            logger.error("ticket not rendered", metadata: ["error": "\(error)"])
            return view
        }
        let printed = await printOnReceipt(document, requestID: "ticket-" + ticket.ticketId)
        let state = printed.state
        await self.state.count("tickets.\(printed.outcome.succeeded ? "printed" : "not-printed")")
        guard printed.outcome.succeeded else {
            // Not printed: not reported, so never counted nor called.
            logger.warning("ticket not printed", metadata: ["number": "\(ticket.number)", "outcome": "\(state)"])
            view.messageKey = Self.messageKey(printed.outcome)
            return view
        }
        view.printed = true
        view.messageKey = "ticket.take"
        let report = TicketReport(ticketId: ticket.ticketId, site: ticket.site, queue: ticket.queue, number: ticket.number,
                                  serviceCode: ticket.serviceCode, issuedAt: ticket.issuedAt, offline: offline)
        do { try await gateway.reportTicket(report) } catch {
            logger.error("printed ticket not queued for the registry", metadata: ["number": "\(ticket.number)", "error": "\(error)"])
        }
        let today = HallNames.day(of: Date())
        if offline {
            if var known = await gateway.queueFigure(ticket.queue), known.day == today {   // unknown stays unknown
                known.offlineSince += 1
                await gateway.saveQueueFigure(ticket.queue, known)
            }
        } else if let ahead {
            await gateway.saveQueueFigure(ticket.queue, KnownQueueFigure(waiting: ahead + 1, day: today, offlineSince: 0))
        }
        logger.info("ticket", metadata: ["number": "\(ticket.number)", "queue": "\(ticket.queue)", "offline": "\(offline)",
                                         "priority": "\(ticket.priority)"])
        return view
    }
}
