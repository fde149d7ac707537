import Foundation
import KioskCore
import Printing
import Prometheus

/// kioskd's Prometheus metrics on swift-prometheus: histograms that accumulate as the kiosk works
/// (registry calls, prints), and gauges and counters brought up to date at each scrape.
public final class KioskMetrics: Sendable {
    /// The collector registry behind `/metrics`.
    public let registry = PrometheusCollectorRegistry()
    let registryRequests: DurationHistogram
    let printDurations: Locked<[String: DurationHistogram]> = Locked([:])
    /// What each counter last showed, so that counts kept elsewhere become increments.
    private let counted: Locked<[String: Int]> = Locked([:])

    static let requestBuckets: [Duration] = [.milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250),
                                             .milliseconds(500), .seconds(1), .seconds(2), .seconds(5), .seconds(10)]
    static let printBuckets: [Duration] = [.seconds(2), .seconds(5), .seconds(10), .seconds(20), .seconds(30), .seconds(60), .seconds(120)]

    public init(version: String = Yitiji.version) {
        registry.makeGauge(descriptor: Self.name("build", unit: "info", help: "1, labelled with the running version."),
                           labels: [("version", version)]).set(to: 1.0)
        registryRequests = registry.makeDurationHistogram(
            descriptor: Self.name("registry_request", unit: "seconds", help: "Registry calls, by how long they took."), buckets: Self.requestBuckets)
    }

    static func name(_ metric: String, unit: String, help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "yitiji", metricName: metric, unitName: unit, helpText: help)
    }

    /// One registry call took `duration`.
    public func registryRequest(_ duration: Duration) { registryRequests.record(duration) }

    /// One print on `role` took `duration` from submission to its outcome.
    public func print(role: String, outcome: String, took duration: Duration) {
        let histogram = printDurations.withLock { histograms in
            let key = "\(role)|\(outcome)"
            if let existing = histograms[key] { return existing }
            let made = registry.makeDurationHistogram(
                descriptor: Self.name("print_duration", unit: "seconds", help: "Prints from submission to outcome, by printer role and outcome."),
                labels: [("role", role), ("outcome", outcome)], buckets: Self.printBuckets)
            histograms[key] = made
            return made
        }
        histogram.record(duration)
    }

    /// Sets a gauge.
    public func gauge(_ metric: String, unit: String = "", help: String, labels: [(String, String)] = [], _ value: Double) {
        registry.makeGauge(descriptor: Self.name(metric, unit: unit, help: help), labels: labels).set(to: value)
    }

    /// Brings a counter up to `total`, a count kept elsewhere.
    public func counter(_ metric: String, help: String, labels: [(String, String)] = [], total: Int) {
        let key = metric + labels.map { "|\($0.0)=\($0.1)" }.joined()
        let delta = counted.withLock { seen -> Int in
            let before = seen[key] ?? 0
            seen[key] = max(before, total)
            return max(0, total - before)
        }
        let counter = registry.makeCounter(descriptor: Self.name(metric, unit: "total", help: help), labels: labels)
        if delta > 0 { counter.increment(by: Int64(delta)) }
    }

    /// A printer role's state as gauges: 1 for the state it is in, 0 for the others.
    public func printer(role: String, status: PrinterStatus?) {
        func states<T: RawRepresentable & CaseIterable>(_ metric: String, _ help: String, _ current: T?) where T.RawValue == String {
            for state in T.allCases {
                gauge(metric, help: help, labels: [("role", role), ("state", state.rawValue)], current.map { $0 == state } == true ? 1 : 0)
            }
        }
        states("printer_device", "1 for the printer's device state.", status?.device)
        states("printer_paper", "1 for the printer's paper state.", status?.paper)
        states("printer_toner", "1 for the printer's toner state.", status?.toner)
    }

    /// The text exposition.
    public func text() -> String { registry.emitToString() }
}
