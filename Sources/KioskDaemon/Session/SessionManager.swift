import Foundation
import IDCardReader
import KioskAPI
import KioskCore

/// One citizen at a time: a card read starts a session that holds the identity; removing the
/// card, finishing, or the idle timeout ends it and drops the identity from memory.
public actor SessionManager {
    /// The session in progress.
    public struct Session: Sendable {
        /// Random per visit; links a rating to the visit without naming anyone.
        public let id: String
        public let card: CardRead
        public let startedAt: Date
        public var lastActivity: Date
        public var warned = false
        /// Whether the person at the camera matched the card's photo in this visit.
        public var facePassed = false
        /// Face checks tried in this visit.
        public var faceAttempts = 0
    }

    private var current: Session?
    private let hub: EventHub
    private let audit: AuditLog?
    /// Idle time that ends a session.
    public private(set) var idleTimeout: TimeInterval
    /// Warning this long before the timeout.
    public private(set) var warningLead: TimeInterval
    private var idleWaiters: [CheckedContinuation<Void, Never>] = []
    /// Sessions started since kioskd started.
    public private(set) var sessionsStarted = 0
    private let now: @Sendable () -> Date

    public init(hub: EventHub, audit: AuditLog?, idleTimeout: TimeInterval, warningLead: TimeInterval,
                now: @escaping @Sendable () -> Date = Date.init) {
        self.hub = hub
        self.audit = audit
        self.idleTimeout = idleTimeout
        self.warningLead = warningLead
        self.now = now
    }

    /// Changes the timing (a new configuration).
    public func setTiming(idleTimeout: TimeInterval, warningLead: TimeInterval) {
        self.idleTimeout = idleTimeout
        self.warningLead = warningLead
    }

    /// Whether a session is active.
    public var isActive: Bool { current != nil }

    /// The masked view of the card holder, for the screen.
    public var holderView: CardHolderView? { current.map { Self.view(of: $0.card.identity) } }

    /// The identity of the session's card holder, if any.
    public var identity: CardIdentity? { current?.card.identity }

    /// The session's random id.
    public var sessionID: String? { current?.id }

    /// The session's id, card and face-check state, for a person–card check.
    public var faceCheckSubject: (id: String, card: CardRead, passed: Bool, attempts: Int)? {
        current.map { ($0.id, $0.card, $0.facePassed, $0.faceAttempts) }
    }

    /// Whether the visit's person matched the card's photo.
    public var facePassed: Bool { current?.facePassed ?? false }

    /// Counts a face check of visit `id` (if it is still the current one); answers the attempts made.
    @discardableResult
    public func recordFaceCheck(visit id: String, passed: Bool) -> Int? {
        guard var session = current, session.id == id else { return nil }
        session.faceAttempts += 1
        session.facePassed = session.facePassed || passed
        session.lastActivity = now()
        session.warned = false
        current = session
        return session.faceAttempts
    }

    static func view(of identity: CardIdentity) -> CardHolderView {
        CardHolderView(cardType: identity.cardType.rawValue, maskedName: identity.maskedName,
                       maskedIdNumber: identity.maskedIDNumber)
    }

    /// A card was read: a new session for its holder (ending any previous one).
    public func start(with card: CardRead) {
        if held {
            heldCard?.wipe()
            heldCard = card
            return
        }
        if current != nil { end(.replaced) }
        let session = Session(id: UUID().uuidString.lowercased(), card: card, startedAt: now(), lastActivity: now())
        current = session
        sessionsStarted += 1
        audit?.record(actor: "citizen", action: "session.start", subjectIdNumber: card.identity.idNumber,
                      detail: card.identity.cardType.rawValue)
        hub.publish(.sessionStarted(Self.view(of: card.identity)))
    }

    /// The citizen did something: the idle timer starts again.
    public func touch() {
        guard var session = current else { return }
        session.lastActivity = now()
        session.warned = false
        current = session
    }

    /// Ends the session, if any, and wipes its card data.
    public func end(_ reason: SessionEndReason) {
        if reason == .cardRemoved || reason == .shutdown, let card = heldCard {
            card.wipe()
            heldCard = nil
        }
        guard let session = current else { return }
        current = nil
        session.card.wipe()
        audit?.record(actor: reason == .timeout || reason == .shutdown ? "kioskd" : "citizen", action: "session.end",
                      subjectIdNumber: session.card.identity.idNumber,
                      detail: "\(reason.rawValue) after \(Int(now().timeIntervalSince(session.startedAt))) s")
        if reason == .cardRemoved { hub.publish(.cardRemoved) }
        hub.publish(.sessionEnded(reason: reason))
        let waiters = idleWaiters
        idleWaiters = []
        for waiter in waiters { waiter.resume() }
    }

    /// Called about once a second: warns, then ends an idle session.
    public func tick() {
        guard let session = current else { return }
        let idle = now().timeIntervalSince(session.lastActivity)
        if idle >= idleTimeout {
            end(.timeout)
        } else if idle >= idleTimeout - warningLead, !session.warned {
            current?.warned = true
            hub.publish(.sessionWarning(secondsLeft: Int((idleTimeout - idle).rounded(.up))))
        }
    }

    /// Returns when no session is active (at once if none is).
    public func waitUntilIdle() async {
        while current != nil {
            await withCheckedContinuation { idleWaiters.append($0) }
        }
    }

    private var held = false
    private var heldCard: CardRead?

    /// Waits until no citizen is being served, then runs `body` while card reads wait: a card
    /// placed meanwhile starts its session only afterwards (used to swap configurations).
    public func holdingNewSessions<T: Sendable>(_ body: @Sendable () async -> T) async -> T {
        await waitUntilIdle()
        held = true
        let result = await body()
        held = false
        if let card = heldCard {
            heldCard = nil
            start(with: card)
        }
        return result
    }
}
