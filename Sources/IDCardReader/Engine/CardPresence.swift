import Foundation
import KioskCore

/// What the reader saw, as the rest of the kiosk hears it.
public enum ReaderEvent: Sendable {
    /// A reader was opened: its description and SAM ID (when it answered).
    case connected(endpoint: String, samID: String?)
    /// The reader went away or could not be opened; reads resume by themselves when it returns.
    case disconnected(reason: String)
    /// A card was placed and read.
    case cardRead(CardRead)
    /// The card that was read has been taken off the reader.
    case cardRemoved
    /// A card was there but could not be read (moved, removed mid-read, damaged).
    case readFailed(ReaderError)
}

/// The presence state machine: find → select → read, "same card still there", removal,
/// retries and SAM reset. One `poll()` is one step; the caller paces the steps.
public final class CardPresenceMachine {
    public enum State: Equatable, Sendable {
        /// No card has been read, or the last one was removed.
        case empty
        /// A card was read and is still on the reader.
        case present
    }

    public let reader: SAMReader
    public private(set) var state: State = .empty
    /// Failed reads in a row; the SAM is reset when this reaches `timing.resetAfterFailures`.
    public private(set) var consecutiveFailures = 0
    /// How many times the SAM was reset after failures.
    public private(set) var samResets = 0

    public init(reader: SAMReader) { self.reader = reader }

    /// One polling step. Throws only when the transport is gone (the caller reopens it).
    public func poll() throws(ReaderError) -> [ReaderEvent] {
        do {
            switch state {
            case .empty:
                guard try reader.findCard() != nil else { return [] }
                return [readWithRetries()]
            case .present:
                if try reader.findCard() != nil {
                    // A find succeeded again: the old card left and a card (maybe the same) arrived.
                    state = .empty
                    return [.cardRemoved, readWithRetries()]
                }
                do {
                    _ = try reader.selectCard()
                    return []
                } catch let error where !error.isDisconnect {
                    state = .empty
                    return [.cardRemoved]
                }
            }
        } catch let error where !error.isDisconnect {
            if case .transport(.timeout, _) = error { return [] }
            return [.readFailed(error)]
        }
    }

    /// Marks the current card as gone (the session ended elsewhere).
    public func forget() { state = .empty }

    private func readWithRetries() -> ReaderEvent {
        var lastError = ReaderError.noCardPlaced
        for attempt in 0..<max(1, reader.timing.readAttempts) {
            do {
                if attempt > 0 {
                    // Recover with find → select → read; find may say 80 after a partial read.
                    _ = try reader.findCard()
                }
                _ = try reader.selectCard()
                let card = try reader.readCard()
                state = .present
                consecutiveFailures = 0
                return .cardRead(card)
            } catch {
                lastError = error
                if error.isDisconnect { break }
                if case .cardData = error { break }
            }
        }
        consecutiveFailures += 1
        if consecutiveFailures >= reader.timing.resetAfterFailures {
            if (try? reader.resetSAM()) != nil { samResets += 1 }
            consecutiveFailures = 0
        }
        state = .empty
        return .readFailed(lastError)
    }

    /// Waits up to `timeoutMilliseconds` for a card and reads it; a card already read and still
    /// on the reader is read again. Used by one-shot tools.
    public func waitForCard(timeoutMilliseconds: Int) throws(ReaderError) -> CardRead {
        let deadline = Date().addingTimeInterval(Double(timeoutMilliseconds) / 1000)
        var lastFailure: ReaderError?
        repeat {
            let found: [UInt8]?
            do { found = try reader.findCard() } catch let error where !error.isDisconnect {
                lastFailure = error
                found = nil
            }
            if found != nil || (try? reader.selectCard()) != nil {
                switch readWithRetries() {
                case .cardRead(let card): return card
                case .readFailed(let error):
                    if error.isDisconnect { throw error }
                    lastFailure = error
                default: break
                }
            }
            Thread.sleep(forTimeInterval: Double(reader.timing.pollIntervalMilliseconds) / 1000)
        } while Date() < deadline
        throw lastFailure ?? .noCardPlaced
    }
}

/// Runs a reader on a thread of its own: opens it (again and again if it goes away), polls for
/// cards and publishes `ReaderEvent`s. Plugging the reader back in needs no restart.
public final class ReaderPoller: Sendable {
    public typealias Opener = @Sendable () throws(ReaderError) -> any ReaderTransport

    private struct State {
        var stopped = false
        var forgetRequested = false
        var connected = false
        var cycleCount = 0
        var reopenIntervalMilliseconds = 1000
    }

    private let opener: Opener
    private let timing: ReaderTiming
    private let state = Locked(State())
    private let continuation: AsyncStream<ReaderEvent>.Continuation
    /// Reopen attempts are spaced by this much while no reader is there.
    public var reopenIntervalMilliseconds: Int {
        get { state.withLock { $0.reopenIntervalMilliseconds } }
        set { state.withLock { $0.reopenIntervalMilliseconds = newValue } }
    }

    /// The events, for one consumer.
    public let events: AsyncStream<ReaderEvent>

    public init(timing: ReaderTiming = ReaderTiming(), opener: @escaping Opener) {
        self.opener = opener
        self.timing = timing
        (events, continuation) = AsyncStream.makeStream(of: ReaderEvent.self, bufferingPolicy: .bufferingNewest(64))
    }

    /// True while a reader is open.
    public var isConnected: Bool { state.withLock { $0.connected } }

    /// Rounds the polling thread has made (open attempts and polls): the watchdog's sign that it lives.
    public var cycles: Int { state.withLock { $0.cycleCount } }

    /// Starts the polling thread.
    public func start() {
        let thread = Thread { [self] in self.loop() }
        thread.name = "id-card-reader"
        thread.start()
    }

    /// Stops polling; the thread ends within one poll interval.
    public func stop() {
        state.withLock { $0.stopped = true }
    }

    /// Forgets the present card, e.g. when a session ended by timeout.
    public func forgetCard() { state.withLock { $0.forgetRequested = true } }

    private var isStopped: Bool { state.withLock { $0.stopped } }

    private func emit(_ event: ReaderEvent) { continuation.yield(event) }

    /// Counts one round: every device call that returned, whatever it returned, is progress.
    private func tick() { state.withLock { $0.cycleCount &+= 1 } }

    private func sleep(_ ms: Int) {
        tick()
        var left = ms
        while left > 0, !isStopped {
            Thread.sleep(forTimeInterval: Double(min(left, 50)) / 1000)
            left -= 50
        }
    }

    private func loop() {
        var lastReason: String?
        while !isStopped {
            // No reader to poll: said once per reason, then tried again after the reopen interval.
            func waitForReader(_ reason: String) {
                if lastReason != reason {
                    lastReason = reason
                    emit(.disconnected(reason: reason))
                }
                sleep(reopenIntervalMilliseconds)
            }
            let transport: any ReaderTransport
            do { transport = try opener() } catch {
                waitForReader(error.description)
                continue
            }
            let reader = SAMReader(transport: transport, timing: timing)
            let samID: SAMIdentifier?
            tick()
            do { samID = try reader.samIdentifier() } catch where error.isDisconnect {
                // Opened, but gone at its first command (e.g. its USB locked up): not connected.
                transport.close()
                waitForReader(error.description)
                continue
            } catch { samID = nil }
            lastReason = nil
            state.withLock { $0.connected = true }
            emit(.connected(endpoint: transport.endpointDescription, samID: samID?.description))
            let machine = CardPresenceMachine(reader: reader)
            var hadCard = false
            while !isStopped {
                let forget = state.withLock { state -> Bool in
                    defer { state.forgetRequested = false }
                    return state.forgetRequested
                }
                if forget { machine.forget() }
                do {
                    for event in try machine.poll() {
                        if case .cardRead = event { hadCard = true }
                        if case .cardRemoved = event { hadCard = false }
                        emit(event)
                    }
                } catch {
                    tick()
                    transport.close()
                    state.withLock { $0.connected = false }
                    if hadCard { emit(.cardRemoved) }
                    lastReason = error.description
                    emit(.disconnected(reason: error.description))
                    break
                }
                sleep(timing.pollIntervalMilliseconds)
            }
            if isStopped { transport.close() }
        }
        state.withLock { $0.connected = false }
        continuation.finish()
    }
}
