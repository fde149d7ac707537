import Dispatch

/// Runs blocking work (a device call, a CUPS poll loop) on a thread of its own, so that it never
/// holds one of the few threads that run Swift concurrency tasks.
public func runBlocking<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        DispatchQueue.global(qos: .userInitiated).async { continuation.resume(returning: body()) }
    }
}
