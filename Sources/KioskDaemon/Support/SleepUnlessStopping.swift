import ServiceLifecycle

/// Sleeps for `duration`, ending early when graceful shutdown begins or the task is cancelled, so
/// that a service's loop never holds SIGTERM up for its interval. Returns false when cut short.
@discardableResult
func sleepUnlessStopping(_ duration: Duration) async -> Bool {
    (try? await cancelWhenGracefulShutdown { try await Task.sleep(for: duration) }) != nil
}
