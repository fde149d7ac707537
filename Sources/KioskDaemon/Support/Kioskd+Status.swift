import Foundation
import Hummingbird
import IDCardReader
import KioskAPI
import KioskConfig
import KioskCore
import Logging
import NIOCore
import Printing
import Registry
import ServiceLifecycle

/// What systemd and Prometheus are told about the kiosk.
extension Kioskd {
    /// One line for `systemctl status kioskd`, e.g. `serving; reader ok; a4 ready; receipt out of paper`.
    public func statusLine() async -> String {
        var parts: [String] = []
        if await state.maintenance {
            parts.append("maintenance" + ((await state.maintenanceReason).map { ": \($0)" } ?? ""))
        } else {
            parts.append(await sessions.isActive ? "serving a citizen" : "serving")
        }
        parts.append(await state.readerPresent ? "reader ok" : "reader missing")
        for (role, status) in await state.printers.sorted(by: { $0.key < $1.key }) {
            parts.append("\(role) " + Self.describe(status))
        }
        if let depth = await backedGateway?.figures()?.depth, depth > 0 { parts.append("\(depth) waiting for the registry") }
        if await configAgent.freezeStatus(window: configuration.settings.registry.freezeWindow).isFrozen {
            parts.append("configuration feed frozen")
        }
        return parts.joined(separator: "; ")
    }

    /// A printer's state in a few words.
    static func describe(_ status: PrinterStatus) -> String {
        if status.isReady { return status.paper == .low ? "ready, paper low" : (status.toner == .low ? "ready, toner low" : "ready") }
        switch (status.device, status.paper, status.toner) {
        case (.offline, _, _): return "offline"
        case (_, .out, _): return "out of paper"
        case (_, .jammed, _): return "paper jammed"
        case (_, _, .out): return "out of toner"
        default: return status.doorOpen ? "door open" : status.device.rawValue
        }
    }

    /// Prometheus text exposition of the daemon's figures (swift-prometheus): gauges and counters
    /// are brought up to date, histograms have accumulated as the kiosk worked.
    public func metricsText() async -> String {
        let counters = await state.counters
        metrics.counter("card_reads", help: "Cards read.", total: counters["reads"] ?? 0)
        metrics.counter("card_read_failures", help: "Cards on the reader that could not be read.", total: counters["reads.failed"] ?? 0)
        for outcome in ["completed", "failed", "uncertain"] {
            metrics.counter("prints", help: "Print jobs by outcome.", labels: [("outcome", outcome)], total: counters["prints.\(outcome)"] ?? 0)
        }
        for (key, value) in counters where key.hasPrefix("prints.problem.") {
            metrics.counter("print_failures", help: "Prints not completed, by what the citizen was told.",
                            labels: [("reason", String(key.dropFirst("prints.problem.".count)))], total: value)
        }
        metrics.counter("sessions", help: "Citizen sessions started.", total: await sessions.sessionsStarted)
        metrics.gauge("session_active", help: "1 while a citizen session is active.", await sessions.isActive ? 1 : 0)
        metrics.gauge("reader_connected", help: "1 while the ID-card reader is connected.", await state.readerPresent ? 1 : 0)
        metrics.gauge("maintenance", help: "1 in maintenance mode.", await state.maintenance ? 1 : 0)
        metrics.gauge("event_subscribers", help: "Local API clients following events.", Double(hub.subscriberCount))
        let printers = await state.printers
        for role in configuration.settings.printers.keys.sorted() { metrics.printer(role: role, status: printers[role]) }
        metrics.gauge("config_generation", help: "The configuration generation in use; 0 for the embedded default.",
                      Double(await configStore.currentGeneration()?.generation ?? 0))
        let freeze = await configAgent.freezeStatus(window: configuration.settings.registry.freezeWindow)
        if freeze != .unprotected {
            metrics.gauge("config_feed_frozen", help: "1 while no fresh signed statement has come from the configuration feed within the freeze window.",
                          freeze.isFrozen ? 1 : 0)
            if case let .heard(age, _) = freeze {
                metrics.gauge("config_feed_statement_age", unit: "seconds", help: "Seconds since the configuration feed's last fresh signed statement.", age.rounded())
            }
        }
        if let gateway = backedGateway {
            let figures = await gateway.figures()
            metrics.gauge("outbox_depth", help: "Writes waiting for the registry.", Double(figures?.depth ?? 0))
            metrics.gauge("outbox_dead_letters", help: "Writes given up on, waiting for a technician.", Double(figures?.deadLetters ?? 0))
            metrics.gauge("outbox_oldest_age", unit: "seconds", help: "Age of the oldest waiting write.", (figures?.oldestAgeSeconds ?? 0).rounded())
            metrics.counter("registry_request_failures", help: "Registry calls that failed.", total: gateway.latency.withLock { $0.failures })
            if let accepted = heartbeat.withLock({ $0.lastAcceptedAt }) {
                metrics.gauge("heartbeat_age", unit: "seconds", help: "Seconds since the registry last accepted a heartbeat.",
                              Date().timeIntervalSince(accepted).rounded())
            }
        }
        return metrics.text()
    }
}
