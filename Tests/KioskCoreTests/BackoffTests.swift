import KioskCore
import Testing

@Suite struct BackoffTests {
    @Test func waitsDoubleUpToTheCapAndStartAgainAfterASuccess() {
        var backoff = Backoff(base: .seconds(5), cap: .seconds(300))
        #expect((0..<8).map { _ in backoff.next() } == [5, 10, 20, 40, 80, 160, 300, 300].map { Duration.seconds($0) })
        #expect(backoff.failures == 8)
        backoff.reset()
        #expect(backoff.next() == .seconds(5))
        #expect(Backoff.ceiling(afterFailures: 0, base: .milliseconds(200), cap: .seconds(5)) == .milliseconds(200))
        #expect(Backoff.ceiling(afterFailures: 10_000, base: .seconds(1), cap: .seconds(60)) == .seconds(60), "no overflow")
    }

    @Test func fullJitterStaysUnderTheCeiling() {
        for failures in 1...12 {
            let wait = Backoff.jittered(afterFailures: failures, base: .seconds(1), cap: .seconds(60))
            #expect(wait >= .zero && wait <= Backoff.ceiling(afterFailures: failures, base: .seconds(1), cap: .seconds(60)))
        }
        #expect(Duration.seconds(3).nanoseconds == 3_000_000_000 && Duration.seconds(Int64.max).nanoseconds == .max)
    }
}
