import Foundation
import KioskCore
import Logging
import ServiceLifecycle

/// Delivers the outbox to the registry: in order per stream (head of line), streams side by side,
/// in batches; failed heads back off exponentially with full jitter; refused items, expired items
/// and poison items become dead letters with their reason. A `Service`: `run()` ends on task
/// cancellation or graceful shutdown. Enqueues wake it at once.
public final class OutboxRelay: Service, Sendable {
    let outbox: Outbox
    let client: RegistryClient
    let logger: Logger
    let signal = WakeSignal()
    /// The longest the relay sleeps without being woken (it also checks time to live then).
    public let idleInterval: Duration

    /// A relay delivering `outbox` through `client`.
    public init(outbox: Outbox, client: RegistryClient, logger: Logger = Logger(label: "yitiji.outbox-relay"),
                idleInterval: Duration = .seconds(30)) {
        self.outbox = outbox
        self.client = client
        self.logger = logger
        self.idleInterval = idleInterval
        let signal = self.signal
        outbox.onEnqueue { signal.fire() }
    }

    /// Wakes the relay now (e.g. when the network comes back).
    public func wake() { signal.fire() }

    /// True while the relay waits for an enqueue, a wake or its next item's time.
    public var isIdle: Bool { signal.isWaiting }

    /// Delivers until cancelled or shut down gracefully.
    public func run() async throws {
        await cancelWhenGracefulShutdown {
            await self.loop()
        }
    }

    func loop() async {
        while !Task.isCancelled {
            let nextDue: Date?
            do {
                nextDue = try await drainOnce()
            } catch {
                if Task.isCancelled { return }
                logger.error("outbox relay: \(error)")
                nextDue = Date().addingTimeInterval(1)
            }
            if Task.isCancelled { return }
            var wait = idleInterval
            if let nextDue {
                let seconds = max(0, nextDue.timeIntervalSinceNow)
                wait = min(wait, .nanoseconds(Int64(seconds * 1e9)))
            }
            if wait > .zero { await signal.wait(timeout: wait) }
        }
    }

    /// One pass: expires old items, then sends one batch per stream whose head is due. Answers
    /// when the next head is due (now, if a stream has more to send), or nil when all is empty.
    public func drainOnce() async throws -> Date? {
        let expired = try await outbox.expire()
        if expired > 0 { logger.warning("outbox: \(expired) item(s) expired to dead letters") }
        return try await withThrowingTaskGroup(of: Date?.self) { group in
            for stream in SubmissionKind.allCases {
                group.addTask { try await self.deliver(stream) }
            }
            var earliest: Date?
            for try await due in group {
                if let due { earliest = earliest.map { min($0, due) } ?? due }
            }
            return earliest
        }
    }

    /// Sends the head batch of `stream`; answers when the stream next needs attention.
    func deliver(_ stream: SubmissionKind) async throws -> Date? {
        let (items, nextDue) = try await outbox.head(of: stream, limit: outbox.policy.batchSize)
        guard !items.isEmpty else { return nextDue }
        var outcomes: [(Outbox.Pending, Outbox.Outcome)] = []
        do {
            let results = try await client.submitBatch(items.map { BatchItem(kind: stream, idempotencyKey: $0.idempotencyKey, body: $0.body) })
            for (item, result) in zip(items, results) {
                if let receipt = result.receipt {
                    outcomes.append((item, .delivered(registryNumber: receipt.registryNumber)))
                } else if let problem = result.problem {
                    if Self.isPermanent(problem.statusCode) {
                        outcomes.append((item, .rejected(reason: "refused by the registry: \(problem.statusCode) \(problem.code): \(problem.detail)")))
                    } else {
                        // Head of line: this item is retried before anything behind it.
                        outcomes.append((item, .failed(error: "\(problem.statusCode) \(problem.code): \(problem.detail)",
                                                       refusal: Self.blamesTheItem(problem.statusCode))))
                        break
                    }
                } else {
                    break  // not attempted: an earlier item must go first
                }
            }
        } catch {
            if case .refused(let problem) = error, Self.isPermanent(problem.statusCode), problem.statusCode != 401, problem.statusCode != 403 {
                // The batch as a whole was refused (e.g. malformed): the head is the suspect.
                outcomes = [(items[0], .failed(error: "\(problem.statusCode) \(problem.code): \(problem.detail)", refusal: true))]
            } else {
                let refusal: Bool
                switch error {
                case .refused(let problem): refusal = Self.blamesTheItem(problem.statusCode)
                case .malformedAnswer: refusal = true
                default: refusal = false
                }
                outcomes = [(items[0], .failed(error: error.description, refusal: refusal))]
            }
        }
        try await outbox.record(outcomes)
        let delivered = outcomes.filter { if case .delivered = $0.1 { return true } else { return false } }.count
        if delivered > 0 { logger.debug("outbox: delivered \(delivered) \(stream.rawValue)") }
        // More to do now if everything sent was settled; otherwise the head's backoff decides.
        if case .failed = outcomes.last?.1 {
            return try await outbox.head(of: stream, limit: 1).nextDue ?? Date()
        }
        return Date()
    }

    /// Whether a failed answer counts towards the item's poison threshold. A key problem (401,
    /// 403) is the kiosk's, and a busy or absent registry (408, 425, 429, 502, 503, 504; e.g. its
    /// database down for an hour) says nothing about the item: those are retried for as long as
    /// the item lives. Anything else (a 500 this item keeps causing) counts.
    static func blamesTheItem(_ status: Int) -> Bool {
        ![401, 403, 408, 425, 429, 502, 503, 504].contains(status)
    }

    /// 4xx answers other than 408, 409, 425 and 429 will not change on retry: dead letter at once.
    static func isPermanent(_ status: Int) -> Bool {
        (400..<500).contains(status) && ![408, 409, 425, 429].contains(status)
    }
}

/// A one-slot wake-up signal: `fire()` wakes the current or next `wait`.
final class WakeSignal: Sendable {
    private struct State {
        var pending = false
        var waiter: CheckedContinuation<Void, Never>?
    }

    private let state = Locked(State())

    /// True while a `wait` is under way.
    var isWaiting: Bool { state.withLock { $0.waiter != nil } }

    func fire() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if let waiter = state.waiter {
                state.waiter = nil
                return waiter
            }
            state.pending = true
            return nil
        }
        waiter?.resume()
    }

    /// Returns when fired, after `timeout`, or on cancellation.
    func wait(timeout: Duration) async {
        let timer = Task { [weak self] in
            try? await Task.sleep(for: timeout)
            if !Task.isCancelled { self?.fire() }
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state -> Bool in
                    if state.pending || Task.isCancelled {
                        state.pending = false
                        return true
                    }
                    state.waiter = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            self.fire()
        }
        timer.cancel()
        state.withLock { $0.pending = false }
    }
}
