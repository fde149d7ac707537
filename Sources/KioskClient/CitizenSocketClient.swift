import AsyncHTTPClient
import Foundation
import KioskAPI
import KioskCore
import NIOCore
import NIOHTTP1

/// `CitizenOperations` over kioskd's citizen Unix socket: what the `kiosk` program uses.
public final class CitizenSocketClient: CitizenOperations {
    /// Path of the citizen socket, e.g. `/run/yitiji/citizen.sock`.
    public let socketPath: String
    let client: HTTPClient
    let requestTimeout: TimeAmount

    /// - Parameter requestTimeout: deadline of one request (printing waits for the printer, so
    ///   prints get four times this).
    public init(socketPath: String, requestTimeout: TimeAmount = .seconds(30)) {
        self.socketPath = socketPath
        self.requestTimeout = requestTimeout
        client = HTTPClient.shared
    }

    /// Nothing to release: the process-wide HTTP client is shared and lives as long as the process.
    public func shutdown() async {}

    func url(_ path: String) throws -> String {
        guard let url = URL(httpURLWithSocketPath: socketPath, uri: path) else {
            throw CitizenAPIError(messageKey: "error.generic", detail: "bad socket path \(socketPath)")
        }
        return url.absoluteString
    }

    func send<Body: Encodable, Answer: Decodable>(_ method: HTTPMethod, _ path: String, body: Body?, as: Answer.Type,
                                                  timeout: TimeAmount? = nil) async throws -> Answer {
        let data = try await raw(method, path, body: body, timeout: timeout)
        do {
            return try JSONDecoder().decode(Answer.self, from: data)
        } catch {
            throw CitizenAPIError(messageKey: "error.generic", detail: "kioskd sent an answer that is not \(Answer.self): \(error)")
        }
    }

    func raw<Body: Encodable>(_ method: HTTPMethod, _ path: String, body: Body?, timeout: TimeAmount? = nil) async throws -> Data {
        if let problem = SocketProbe.problem(socketPath) {
            throw CitizenAPIError(messageKey: "error.generic", detail: "kioskd is not answering on \(socketPath): \(problem)")
        }
        var request = HTTPClientRequest(url: try url(path))
        request.method = method
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: try JSONEncoder().encode(body)))
        }
        let response: HTTPClientResponse
        do {
            response = try await client.execute(request, timeout: timeout ?? requestTimeout)
        } catch {
            throw CitizenAPIError(messageKey: "error.generic", detail: "kioskd is not answering on \(socketPath): \(error)")
        }
        let bytes = try await response.body.collect(upTo: 8 << 20)
        let data = Data(bytes.readableBytesView)
        guard (200..<300).contains(response.status.code) else {
            if let error = try? JSONDecoder().decode(CitizenAPIError.self, from: data) { throw error }
            throw CitizenAPIError(messageKey: "error.generic", detail: "kioskd answered \(response.status.code)")
        }
        return data
    }

    struct Empty: Codable {}

    public func interfaceConfiguration() async throws -> InterfaceConfiguration {
        try await send(.GET, "/v1/interface", body: Empty?.none, as: InterfaceConfiguration.self)
    }

    public func status() async throws -> KioskStatusView {
        try await send(.GET, "/v1/status", body: Empty?.none, as: KioskStatusView.self)
    }

    public func touch() async {
        _ = try? await raw(.POST, "/v1/touch", body: Empty?.none)
    }

    public func searchEnterprises(_ query: String) async throws -> EnterpriseSearchResult {
        var components = URLComponents()
        components.path = "/v1/enterprises"
        components.queryItems = [URLQueryItem(name: "q", value: query)]
        return try await send(.GET, components.string ?? "/v1/enterprises", body: Empty?.none, as: EnterpriseSearchResult.self)
    }

    public func enterprise(uscc: String) async throws -> EnterpriseDetail {
        let safe = uscc.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
        return try await send(.GET, "/v1/enterprises/\(safe)", body: Empty?.none, as: EnterpriseDetail.self)
    }

    public func preview(_ request: DocumentRequest) async throws -> DocumentPreview {
        try await send(.POST, "/v1/documents/preview", body: request, as: DocumentPreview.self)
    }

    public func print(_ request: DocumentRequest, requestId: String) async throws -> PrintOutcomeView {
        try await send(.POST, "/v1/prints", body: PrintAsk(request: request, requestId: requestId),
                       as: PrintOutcomeView.self, timeout: requestTimeout * 4)
    }

    public func submitApplication(_ form: ApplicationForm) async throws -> ApplicationReceipt {
        try await send(.POST, "/v1/applications", body: form, as: ApplicationReceipt.self, timeout: requestTimeout * 2)
    }

    public func rate(_ rating: RatingSubmission) async throws {
        _ = try await raw(.POST, "/v1/ratings", body: rating)
    }

    public func takeTicket(serviceCode: String, requestId: String) async throws -> QueueTicketView {
        try await send(.POST, "/v1/tickets", body: ServiceAsk(serviceCode: serviceCode, requestId: requestId), as: QueueTicketView.self,
                       timeout: requestTimeout * 4)
    }

    public func checkIn(requestId: String) async throws -> QueueTicketView {
        try await send(.POST, "/v1/check-ins", body: RequestIdAsk(requestId: requestId), as: QueueTicketView.self, timeout: requestTimeout * 4)
    }

    public func printGuide(serviceCode: String, requestId: String) async throws -> PrintOutcomeView {
        try await send(.POST, "/v1/guides/print", body: ServiceAsk(serviceCode: serviceCode, requestId: requestId), as: PrintOutcomeView.self,
                       timeout: requestTimeout * 4)
    }

    public func progress(trackingNumber: String) async throws -> ProgressView {
        try await send(.POST, "/v1/progress", body: TrackingNumberAsk(trackingNumber: trackingNumber), as: ProgressView.self)
    }

    public func myApplications() async throws -> [ProgressView] {
        try await send(.GET, "/v1/progress/mine", body: Empty?.none, as: [ProgressView].self)
    }

    public func printProgress(trackingNumber: String, requestId: String) async throws -> PrintOutcomeView {
        try await send(.POST, "/v1/progress/print", body: TrackedRequestAsk(trackingNumber: trackingNumber, requestId: requestId),
                       as: PrintOutcomeView.self, timeout: requestTimeout * 4)
    }

    public func requestDelivery(_ request: DocumentRequest, address: DeliveryAddress, requestId: String) async throws -> ApplicationReceipt {
        try await send(.POST, "/v1/deliveries", body: DeliveryAsk(request: request, address: address, requestId: requestId),
                       as: ApplicationReceipt.self, timeout: requestTimeout * 2)
    }

    public func checkName(_ proposedName: String) async throws -> NameCheckView {
        try await send(.POST, "/v1/name-checks", body: NameCheckAsk(proposedName: proposedName), as: NameCheckView.self)
    }

    public func myOpenings() async throws -> OpeningListView {
        try await send(.GET, "/v1/openings", body: Empty?.none, as: OpeningListView.self, timeout: requestTimeout * 2)
    }

    public func confirmOpening(trackingNumber: String, requestId: String) async throws -> OpeningConfirmationView {
        try await send(.POST, "/v1/openings/confirmations", body: TrackedRequestAsk(trackingNumber: trackingNumber, requestId: requestId),
                       as: OpeningConfirmationView.self, timeout: requestTimeout * 4)
    }

    public func mySecurityCard() async throws -> SecurityCardView {
        try await send(.GET, "/v1/security-card", body: Empty?.none, as: SecurityCardView.self)
    }

    public func reportCardLoss(requestId: String) async throws -> CardLossView {
        try await send(.POST, "/v1/security-card/losses", body: RequestIdAsk(requestId: requestId), as: CardLossView.self, timeout: requestTimeout * 4)
    }

    public func myInsurance() async throws -> InsuranceRecordView {
        try await send(.GET, "/v1/insurance/mine", body: Empty?.none, as: InsuranceRecordView.self)
    }

    public func confirmPension(requestId: String) async throws -> PensionConfirmationView {
        try await send(.POST, "/v1/pension-confirmations", body: RequestIdAsk(requestId: requestId), as: PensionConfirmationView.self,
                       timeout: requestTimeout * 4)
    }

    public func checkFace() async throws -> FaceCheckView {
        // The person blinks for the camera: as long as the verifier's own deadline allows.
        try await send(.POST, "/v1/face-checks", body: Empty?.none, as: FaceCheckView.self, timeout: requestTimeout * 5)
    }

    public func endSession() async {
        _ = try? await raw(.POST, "/v1/session/end", body: Empty?.none)
    }

    /// Events from kioskd; reconnects by itself when the stream breaks, until cancelled.
    public func events() -> AsyncStream<KioskEvent> {
        let client = self.client
        let socketPath = self.socketPath
        return AsyncStream { continuation in
            let task = Task {
                var backoff = Backoff(base: .milliseconds(200), cap: .seconds(5))
                while !Task.isCancelled {
                    do {
                        guard let url = URL(httpURLWithSocketPath: socketPath, uri: "/v1/events") else { break }
                        if let problem = SocketProbe.problem(socketPath) { throw CitizenAPIError(messageKey: "error.generic", detail: problem) }
                        let request = HTTPClientRequest(url: url.absoluteString)
                        let response = try await client.execute(request, timeout: .hours(24))
                        backoff.reset()
                        var pending = Data()
                        for try await buffer in response.body {
                            pending.append(contentsOf: buffer.readableBytesView)
                            guard pending.count < 1 << 20 else { pending.removeAll(); continue }
                            while let newline = pending.firstIndex(of: 0x0A) {
                                let line = pending[pending.startIndex..<newline]
                                pending.removeSubrange(pending.startIndex...newline)
                                if let event = try? JSONDecoder().decode(KioskEvent.self, from: line) {
                                    continuation.yield(event)
                                }
                            }
                        }
                    } catch {
                        if Task.isCancelled { break }
                    }
                    try? await Task.sleep(for: backoff.next())
                }
                continuation.finish()
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }
}
