import Foundation
import GRDB
import KioskCore
import Logging
import PostgresNIO
import _ConnectionPoolModule
import Registry

/// Whether registryd's database answers, as a probe on its own connection sees it once a
/// second. While it does not, requests are answered 503 `store.unavailable` at once instead of
/// waiting for a connection the pool cannot make, and calls already waiting are let go with the
/// same answer (`bounded`); the first probe that succeeds lets requests through again.
public final class StoreAvailability: Sendable {
    /// What the store's state is, and since when.
    public enum State: Sendable, Equatable {
        case available
        /// The probe failed: why, and when it first did.
        case unavailable(reason: String, since: Date)
    }

    private struct Inner {
        var state: State = .available
        var waiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
        var nextWaiter: UInt64 = 0
    }

    private let inner = Locked(Inner())
    private let logger: Logger

    /// A tracker that starts out available.
    public init(logger: Logger = Logger(label: "registryd.store")) {
        self.logger = logger
    }

    /// The state now.
    public var state: State { inner.withLock { $0.state } }

    /// True while the last probe succeeded.
    public var isAvailable: Bool { inner.withLock { $0.state == .available } }

    /// The 503 problem a request is refused with while the probe says the database does not
    /// answer; nil while it does.
    public var refusal: Problem? {
        guard case .unavailable(let reason, _) = state else { return nil }
        return StoreUnavailable(reason: reason).problem
    }

    /// Records a failed probe: the store is unavailable and everyone waiting for that is woken.
    public func markUnavailable(_ reason: String) {
        let woken: [CheckedContinuation<Void, Never>]? = inner.withLock { inner in
            guard inner.state == .available else { return nil }
            inner.state = .unavailable(reason: reason, since: Date())
            defer { inner.waiters = [:] }
            return Array(inner.waiters.values)
        }
        guard let woken else { return }
        logger.error("the database does not answer; requests are refused with 503 until it does", metadata: ["reason": "\(reason)"])
        for waiter in woken { waiter.resume() }
    }

    /// Records a successful probe.
    public func markAvailable() {
        let since: Date? = inner.withLock { inner in
            guard case .unavailable(_, let since) = inner.state else { return nil }
            inner.state = .available
            return since
        }
        if let since {
            logger.notice("the database answers again", metadata: ["unavailable-seconds": "\(Int(Date().timeIntervalSince(since).rounded()))"])
        }
    }

    /// Returns when the store becomes unavailable (at once if it is), or when the task is cancelled.
    public func waitUntilUnavailable() async {
        let id: UInt64 = inner.withLock { inner in
            inner.nextWaiter += 1
            return inner.nextWaiter
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow: Bool = inner.withLock { inner in
                    if inner.state != .available || Task.isCancelled { return true }
                    inner.waiters[id] = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            inner.withLock { $0.waiters.removeValue(forKey: id) }?.resume()
        }
    }

    /// Runs `operation`; if the store becomes unavailable first, `operation` is cancelled and
    /// `StoreUnavailable` thrown. Fails at once while the store is unavailable.
    public func bounded<T: Sendable>(_ operation: @escaping @Sendable () async throws -> T) async throws -> T {
        if case .unavailable(let reason, _) = state { throw StoreUnavailable(reason: reason) }
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await operation() }
            group.addTask {
                await self.waitUntilUnavailable()
                return nil
            }
            defer { group.cancelAll() }
            if let first = try await group.next(), let value = first { return value }
            if case .unavailable(let reason, _) = state { throw StoreUnavailable(reason: reason) }
            throw CancellationError()
        }
    }

    /// Probes every `interval` until the task is cancelled: a probe that throws (connection
    /// refused, reset, the server shutting down) marks the store unavailable at once; probes that
    /// take longer than `timeout` do so only `slowProbes` times in a row, since a database that is
    /// slow under a burst still answers, and refusing everything for one slow probe turned a busy
    /// second into a fleet-wide outage. One that returns marks it available.
    public func run(probe: any StoreProbe, interval: Duration = .seconds(1), timeout: Duration = .seconds(2), slowProbes: Int = 3) async {
        var slowInARow = 0
        while !Task.isCancelled {
            do {
                let answered = try await withThrowingTaskGroup(of: Bool.self) { group in
                    group.addTask { try await probe.check(); return true }
                    group.addTask { try await Task.sleep(for: timeout); return false }
                    defer { group.cancelAll() }
                    return try await group.next() == true
                }
                if answered {
                    slowInARow = 0
                    markAvailable()
                } else {
                    slowInARow += 1
                    await probe.reset()
                    if slowInARow >= max(1, slowProbes) {
                        markUnavailable("the database did not answer within \(timeout), \(slowInARow) times in a row")
                    }
                }
            } catch is CancellationError where Task.isCancelled {
                break
            } catch {
                await probe.reset()
                markUnavailable(StoreUnavailable.describe(error))
            }
            try? await Task.sleep(for: interval)
        }
        await probe.reset()
    }
}

/// Asks the database whether it answers.
public protocol StoreProbe: Sendable {
    /// Returns when the database answered a trivial query; throws when it could not.
    func check() async throws
    /// Drops whatever connection the probe holds, so the next check connects afresh.
    func reset() async
}

/// The database is not answering: requests are refused with 503 `store.unavailable`.
public struct StoreUnavailable: Error, CustomStringConvertible, Sendable {
    /// What failed, e.g. "connection refused".
    public var reason: String

    public init(reason: String) { self.reason = reason }

    public var description: String { "the database is unavailable: \(reason)" }

    /// The problem registryd answers.
    public var problem: Problem {
        Problem(statusCode: 503, code: "store.unavailable", title: "Registry database unavailable",
                detail: "the registry cannot reach its database (\(reason)); nothing was recorded, send the request again shortly")
    }

    /// Whether `error` says the database could not be reached or stopped answering (as opposed
    /// to refusing a statement): a lost or refused connection, a server shutting down, the
    /// pool's connection breaker, a transaction that met any of these, SQLite busy or locked.
    /// The 503 problem for `error` when it means the database went away (`isOutage`); nil otherwise.
    public static func problem(for error: any Error) -> Problem? {
        isOutage(error) ? StoreUnavailable(reason: describe(error)).problem : nil
    }

    public static func isOutage(_ error: any Error) -> Bool {
        switch error {
        case is StoreUnavailable:
            return true
        case let error as PSQLError:
            switch error.code {
            case .connectionError, .serverClosedConnection, .clientClosedConnection, .uncleanShutdown, .poolClosed:
                return true
            case .server:
                // 08: connection exception; 53300: too many connections; 57P01-03: the server is shutting down or starting.
                let state = error.serverInfo?[.sqlState] ?? ""
                return state.hasPrefix("08") || state == "53300" || state.hasPrefix("57P")
            default:
                return false
            }
        case is ConnectionPoolError:
            return true
        case let error as PostgresTransactionError:
            // A transaction's BEGIN, body, ROLLBACK or COMMIT meeting the lost connection.
            return error.parts.contains(where: isOutage)
        case let error as DatabaseError:
            return error.resultCode == .SQLITE_BUSY || error.resultCode == .SQLITE_LOCKED
        default:
            return false
        }
    }

    /// A short description of an outage error for logs and problems, without query text.
    public static func describe(_ error: any Error) -> String {
        switch error {
        case let error as StoreUnavailable: return error.reason
        case let error as PSQLError:
            if error.code == .server { return "PostgreSQL \(error.serverInfo?[.sqlState] ?? "error"): \(error.serverInfo?[.message] ?? "")" }
            return "PostgreSQL \(error.code.description)"
        case let error as ConnectionPoolError: return "connection pool: \(error)"
        case let error as PostgresTransactionError:
            return error.parts.first(where: isOutage).map(describe) ?? "PostgreSQL transaction failed"
        case let error as DatabaseError: return "SQLite \(error.resultCode)"
        default: return String(describing: type(of: error))
        }
    }
}

extension PostgresTransactionError {
    /// What went wrong at each step that failed: BEGIN, the body, COMMIT, ROLLBACK.
    var parts: [any Error] { [beginError, closureError, commitError, rollbackError].compactMap { $0 } }
}
