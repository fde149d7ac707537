import Foundation
import Logging
import Registry
import ServiceLifecycle

/// Sends a heartbeat through the outbox every minute (device status, outbox depth, configuration
/// version) and notes when the registry last accepted one.
struct HeartbeatService: Service {
    let daemon: Kioskd
    let gateway: RegistryBackedGateway
    var interval: Duration = .seconds(60)

    func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            await beat()
            await sleepUnlessStopping(interval)
        }
    }

    func beat() async {
        var devices: [String: String] = ["reader": await daemon.state.readerPresent ? "ok" : "missing"]
        for (role, status) in await daemon.state.printers {
            devices["printer.\(role)"] = status.isReady ? "ok" : "\(status.device.rawValue)/paper-\(status.paper.rawValue)/toner-\(status.toner.rawValue)"
        }
        let view = await daemon.configuration()
        let version = view.layers.isEmpty ? "embedded" : view.layers.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
        let heartbeat = Heartbeat(deviceStatus: devices, outboxDepth: gateway.outbox.depth(), configVersion: String(version.prefix(64)), sentAt: Date())
        do {
            try gateway.outbox.enqueue(.heartbeats, heartbeat)
        } catch {
            daemon.heartbeat.withLock { $0.lastError = "\(error)" }
            return
        }
        // Delivered when the heartbeat stream is empty again within a few seconds (its depth is
        // kept in memory: asking costs no database read).
        for _ in 0..<50 {
            guard await sleepUnlessStopping(.milliseconds(100)) else { return }
            if gateway.outbox.depth(of: .heartbeats) == 0 {
                daemon.heartbeat.withLock {
                    $0.lastAcceptedAt = Date()
                    $0.lastError = nil
                }
                return
            }
        }
        let why = (try? await gateway.outbox.status())?.streams.first { $0.stream == .heartbeats }?.lastError ?? "not delivered yet"
        daemon.heartbeat.withLock { $0.lastError = why }
    }
}
