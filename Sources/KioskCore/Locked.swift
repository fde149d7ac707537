import Foundation

/// A value behind a lock, for state shared across threads that no actor owns. Sendable when its
/// value is: the lock makes access exclusive, not a non-Sendable value safe to share.
public final class Locked<Value> {
    private var value: Value
    private let lock = NSLock()

    public init(_ value: Value) { self.value = value }

    /// Runs `body` with the value, under the lock; what `body` throws, typed, is thrown on.
    public func withLock<T, E: Error>(_ body: (inout Value) throws(E) -> T) throws(E) -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}

extension Locked: @unchecked Sendable where Value: Sendable {}
