import Foundation
import KioskCore
import Registry

/// The fleet as its heartbeats tell it (`registryd kiosk status`): per kiosk, when it was last
/// heard from, the configuration it runs, what waits in its outbox and which devices are not ok.
public struct FleetStatus: Sendable, Codable, Equatable {
    /// One kiosk's state.
    public struct Kiosk: Sendable, Codable, Equatable {
        public var id: String
        public var site: String?
        /// When its last heartbeat arrived; nil if none ever did.
        public var lastHeartbeatAt: Date?
        /// Silent for longer than the report allows, or never heard from.
        public var silent: Bool
        /// The configuration it reported, e.g. `fleet=3,site=2`.
        public var configVersion: String?
        /// Items waiting in its outbox.
        public var outboxDepth: Int?
        /// Its devices whose state is not `ok`, by device (`printer.a4`: `offline/paper-out/toner-low`).
        public var troubles: [String: String]

        /// Whether a technician should look at it: silent, a device not ok, or a backlog.
        public func needsAttention(backlog: Int) -> Bool {
            silent || !troubles.isEmpty || (outboxDepth ?? 0) >= backlog
        }
    }

    public var kiosks: [Kiosk]
    /// Kiosks silent for longer than this count as silent.
    public var silentAfter: TimeInterval
    /// An outbox this deep needs attention.
    public var backlog: Int

    /// The kiosks among `entries` (counters and other keys send no heartbeats), as of `now`.
    public init(_ entries: [KioskEntry], now: Date, silentAfter: TimeInterval = 300, backlog: Int = 100) {
        self.silentAfter = silentAfter
        self.backlog = backlog
        kiosks = entries.filter { $0.role == .kiosk }.map { entry in
            let heard = entry.lastHeartbeatAt
            return Kiosk(id: entry.id, site: entry.site, lastHeartbeatAt: heard,
                         silent: heard.map { now.timeIntervalSince($0) > silentAfter } ?? true,
                         configVersion: entry.lastHeartbeat?.configVersion, outboxDepth: entry.lastHeartbeat?.outboxDepth,
                         troubles: (entry.lastHeartbeat?.deviceStatus ?? [:]).filter { $0.value != "ok" })
        }
    }

    /// The kiosks a technician should visit.
    public var needingAttention: [Kiosk] { kiosks.filter { $0.needsAttention(backlog: backlog) } }

    /// The report as text: a line per kiosk (tab-separated: ID, site, last heard, configuration,
    /// outbox, devices), then a summary line.
    public func text(now: Date, onlyAttention: Bool = false) -> String {
        var lines: [String] = []
        for kiosk in onlyAttention ? needingAttention : kiosks {
            let heard = kiosk.lastHeartbeatAt.map { (kiosk.silent ? "SILENT " : "heard ") + Self.age(now.timeIntervalSince($0)) + " ago" } ?? "NEVER heard"
            let devices = kiosk.troubles.isEmpty
                ? (kiosk.lastHeartbeatAt == nil ? "-" : "devices ok")
                : kiosk.troubles.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
            let outbox = kiosk.outboxDepth.map { "outbox \($0)" + ($0 >= backlog ? " BACKLOG" : "") } ?? "outbox -"
            lines.append([kiosk.id, kiosk.site ?? "-", heard, "config \(kiosk.configVersion ?? "-")", outbox, devices]
                .map(PlainText.printable).joined(separator: "\t"))
        }
        let silent = kiosks.filter { $0.silent && $0.lastHeartbeatAt != nil }.count, never = kiosks.filter { $0.lastHeartbeatAt == nil }.count
        let troubled = kiosks.filter { !$0.troubles.isEmpty }.count, behind = kiosks.filter { ($0.outboxDepth ?? 0) >= backlog }.count
        lines.append("\(kiosks.count) kiosks: \(kiosks.count - silent - never) heard within \(Self.age(silentAfter)), \(silent) silent, "
                     + "\(never) never heard; \(troubled) with a device not ok; \(behind) with \(backlog) or more items waiting")
        return lines.joined(separator: "\n")
    }

    /// A duration as people say it: `42 s`, `12 min`, `3 h 12 min`, `2 d 4 h`.
    static func age(_ seconds: TimeInterval) -> String {
        let s = max(0, Int(seconds.rounded(.down)))
        switch s {
        case ..<60: return "\(s) s"
        case ..<3600: return "\(s / 60) min"
        case ..<86_400: return s % 3600 / 60 == 0 ? "\(s / 3600) h" : "\(s / 3600) h \(s % 3600 / 60) min"
        default: return s % 86_400 / 3600 == 0 ? "\(s / 86_400) d" : "\(s / 86_400) d \(s % 86_400 / 3600) h"
        }
    }
}
