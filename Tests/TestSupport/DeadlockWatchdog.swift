import Foundation

/// Runs `body`; when it has not ended after `seconds`, the process is taken to be deadlocked (its
/// concurrency pool held by blocked threads, so no test could report it) and aborts with `what`,
/// rather than hang the run. The watch runs on a thread of its own, outside the pool.
public func abortingOnDeadlock<T>(after seconds: Double, _ what: String, _ body: () async throws -> T) async rethrows -> T {
    let finished = DispatchSemaphore(value: 0)
    let watch = Thread {
        if finished.wait(timeout: .now() + seconds) == .timedOut {
            FileHandle.standardError.write(Data("DEADLOCK: \(what) did not end within \(seconds) s; aborting\n".utf8))
            abort()
        }
    }
    watch.start()
    defer { finished.signal() }
    return try await body()
}
