import Foundation
import KioskAPI
import KioskCore

/// Fans kiosk events out to every subscribed client. A subscriber that stops reading loses the
/// oldest events beyond `bufferSize`, never blocks the daemon.
public final class EventHub: Sendable {
    private let state = Locked<(subscribers: [UUID: AsyncStream<KioskEvent>.Continuation], finished: Bool)>(([:], false))
    /// Events kept per slow subscriber.
    public let bufferSize: Int

    public init(bufferSize: Int = 64) { self.bufferSize = bufferSize }

    /// A stream of events from now on; it ends when the caller cancels it, or at once when the
    /// hub has finished.
    public func subscribe() -> AsyncStream<KioskEvent> {
        let id = UUID()
        let (stream, continuation) = AsyncStream<KioskEvent>.makeStream(bufferingPolicy: .bufferingNewest(bufferSize))
        continuation.onTermination = { [weak self] _ in self?.state.withLock { _ = $0.subscribers.removeValue(forKey: id) } }
        let open = state.withLock { hub in
            if !hub.finished { hub.subscribers[id] = continuation }
            return !hub.finished
        }
        if !open { continuation.finish() }
        return stream
    }

    /// Sends `event` to every subscriber.
    public func publish(_ event: KioskEvent) {
        for continuation in state.withLock({ Array($0.subscribers.values) }) { continuation.yield(event) }
    }

    /// Subscribers right now.
    public var subscriberCount: Int { state.withLock { $0.subscribers.count } }

    /// Ends every subscription and refuses new ones (at shutdown, so that the servers' graceful
    /// shutdown does not wait on event streams that would never end).
    public func finish() {
        let all = state.withLock { hub in
            hub.finished = true
            return Array(hub.subscribers.values)
        }
        for continuation in all { continuation.finish() }
    }
}
