/// Waits that double after each failure in a row up to a cap, back to the start after a
/// success: the one retry schedule of the kiosk's loops and clients.
public struct Backoff: Sendable {
    public let base: Duration
    public let cap: Duration
    /// Failures in a row so far.
    public private(set) var failures = 0

    public init(base: Duration, cap: Duration) {
        self.base = base
        self.cap = cap
    }

    /// The wait after `failures` failures in a row: base·2^(failures−1), at most `cap`.
    public static func ceiling(afterFailures failures: Int, base: Duration, cap: Duration) -> Duration {
        min(base * (1 << min(max(failures - 1, 0), 30)), cap)
    }

    /// Full jitter: uniformly random in 0…`ceiling(afterFailures:)`, so that many clients that
    /// failed together do not retry together.
    public static func jittered(afterFailures failures: Int, base: Duration, cap: Duration) -> Duration {
        .nanoseconds(Int64.random(in: 0...max(0, ceiling(afterFailures: failures, base: base, cap: cap).nanoseconds)))
    }

    /// Counts a failure; answers the wait before the next try.
    public mutating func next() -> Duration {
        failures += 1
        return Self.ceiling(afterFailures: failures, base: base, cap: cap)
    }

    /// After a success the next failure waits `base` again.
    public mutating func reset() { failures = 0 }
}

extension Duration {
    /// The duration in whole nanoseconds (saturating).
    public var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (product, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        return overflow ? .max : product.addingReportingOverflow(attoseconds / 1_000_000_000).partialValue
    }
}
