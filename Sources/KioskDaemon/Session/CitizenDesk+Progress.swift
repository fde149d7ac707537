import Foundation
import KioskAPI
import KioskConfig
import KioskCore
import Printing
import Registry

extension CitizenDesk {
    static func clock(_ date: Date) -> String {
        let f = DateFormatter()
        f.timeZone = .kiosk
        f.dateFormat = "yyyy-MM-dd HH:mm"
        return f.string(from: date)
    }

    static func view(_ p: ApplicationProgress) -> ProgressView {
        // Received but not every party has confirmed: that is where it stands.
        let opening = p.opening.flatMap { $0.parties.count > 1 ? $0 : nil }
        let waiting = p.status == .received ? opening.flatMap { $0.stage == .complete ? nil : "progress." + $0.stage.rawValue } : nil
        return ProgressView(trackingNumber: p.trackingNumber, proposedName: p.proposedName, submittedAt: clock(p.submittedAt),
                            statusKey: waiting ?? "progress." + p.status.rawValue, note: p.history.last?.note, delivered: true,
                            history: p.history.map { ProgressStepView(statusKey: "progress." + $0.status.rawValue, note: $0.note, at: clock($0.at)) },
                            parties: opening?.parties.map(view), confirmBy: opening.map { clock($0.confirmBy) })
    }

    static func view(undelivered a: ApplicationSubmission) -> ProgressView {
        ProgressView(trackingNumber: a.trackingNumber, proposedName: a.proposedName, submittedAt: clock(a.submittedAt),
                     statusKey: "progress.notDelivered", note: nil, delivered: false,
                     history: [ProgressStepView(statusKey: "progress.notDelivered", note: nil, at: clock(a.submittedAt))])
    }

    /// By the tracking number on a receipt: the kiosk's own outbox first (not yet delivered), then the registry.
    public func progress(trackingNumber: String) async throws -> ProgressView {
        try await notInMaintenance()
        await sessions.touch()
        if let queued = await gateway.undelivered(trackingNumber: trackingNumber, idNumber: nil).first { return Self.view(undelivered: queued) }
        do {
            guard let found = try await gateway.progress(number: trackingNumber) else {
                throw CitizenAPIError(messageKey: "progress.none", detail: "no application has tracking number \(trackingNumber.prefix(80))")
            }
            return Self.view(found)
        } catch let error as GatewayError {
            throw Self.citizenError(error)
        }
    }

    /// The card holder's applications: those still in this kiosk's outbox, then the registry's.
    public func myApplications() async throws -> [ProgressView] {
        try await notInMaintenance()
        let identity = try await holder()
        await sessions.touch()
        let queued = await gateway.undelivered(trackingNumber: nil, idNumber: identity.idNumber).map(Self.view(undelivered:))
        do {
            let known = try await gateway.progress(idNumber: identity.idNumber).map(Self.view)
            return queued.reversed() + known.filter { k in !queued.contains { $0.trackingNumber == k.trackingNumber } }
        } catch {
            if case .unreachable = error, !queued.isEmpty { return queued.reversed() }
            throw Self.citizenError(error)
        }
    }

    /// Prints an application's progress on the receipt printer.
    public func printProgress(trackingNumber: String, requestId: String) async throws -> PrintOutcomeView {
        let progress = try await self.progress(trackingNumber: trackingNumber)
        try ticketPrinterReady()
        let zh = config.texts.languages["zh"] ?? [:]
        var status = zh[progress.statusKey] ?? progress.statusKey
        if let note = progress.note { status += "：" + note }
        let slip = ReceiptSlip(service: "办件进度查询 · " + progress.proposedName, time: Date(), kiosk: config.settings.kiosk.id,
                               trackingNumber: progress.trackingNumber, note: "当前状态：" + status)
        let document: RenderedDocument
        do { document = try desk.render(.receipt, slip) } catch {
            logger.error("progress slip not rendered", metadata: ["error": "\(error)"])
            throw CitizenAPIError(messageKey: "print.failed", detail: "\(error)")
        }
        let printed = await printOnReceipt(document, requestID: "progress-" + requestId)
        return PrintOutcomeView(state: printed.state, messageKey: Self.messageKey(printed.outcome))
    }
}
