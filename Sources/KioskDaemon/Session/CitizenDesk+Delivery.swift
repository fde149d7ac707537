import Foundation
import KioskAPI
import KioskCore
import Printing
import Registry

extension CitizenDesk {
    /// Queues the card holder's certificate to be posted instead of printed here, and prints a
    /// receipt naming where it goes (masked). The address is never logged.
    public func requestDelivery(_ request: DocumentRequest, address: DeliveryAddress, requestId: String) async throws -> ApplicationReceipt {
        try await notInMaintenance()
        let identity = try await holder()
        await sessions.touch()
        if let kind = DocumentKind(rawValue: request.kind) { try await requireFaceMatch(for: kind) }
        if let done = deliveryReceipts[requestId] { return done }
        if let (field, why) = address.problem() {
            throw CitizenAPIError(messageKey: "delivery." + field, detail: why)
        }
        let settings = config.settings
        let delivery = DeliveryRequest(deliveryId: requestId, site: settings.kiosk.site, documentKind: request.kind,
                                       applicant: Applicant(idNumber: identity.idNumber, name: identity.displayName), address: address,
                                       requestedAt: Date())
        if let problem = delivery.problem() { throw CitizenAPIError(messageKey: "error.generic", detail: problem) }
        do { try await gateway.requestDelivery(delivery) } catch { throw Self.citizenError(error) }
        audit?.record(actor: "citizen", action: "submission.delivery", subjectIdNumber: identity.idNumber, detail: "\(request.kind) \(requestId)")
        logger.info("delivery queued", metadata: ["kind": "\(request.kind)"])
        let posted = address.masked
        let receiptPrinted = await printReceipt(ReceiptSlip(service: "社会保险参保证明 · 免费邮寄", time: Date(), kiosk: settings.kiosk.id,
                                                            trackingNumber: requestId,
                                                            note: "邮寄至 \(posted.recipient) \(posted.mobile) \(posted.address)；由服务大厅打印后寄出"),
                                                requestID: "delivery-" + requestId)
        let receipt = ApplicationReceipt(trackingNumber: requestId, registryNumber: nil, receiptPrinted: receiptPrinted, postedTo: posted)
        deliveryReceipts.remember(receipt, for: requestId)
        return receipt
    }
}
