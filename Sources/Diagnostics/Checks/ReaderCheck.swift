import Foundation
import IDCardReader
import KioskConfig
import KioskCore

/// `reader`: a known reader is connected (USB models from the model database, or the configured
/// serial device); opened directly when kioskd is down: SAM status, SAM ID, and a find-card probe.
/// While kioskd runs, the reader is kioskd's: it is only looked for, not opened.
public struct ReaderCheck: DiagnosticCheck {
    public let id = "reader"
    public let area = DiagnosticArea.reader

    public init() {}

    static let cableAction = "check the reader's USB cable and power, then `kioskctl reader list`; a new model needs an entry in drivers/readers/models.json"

    public func run(_ context: DiagnosticContext) async -> CheckResult {
        let environment = context.environment
        let database: ReaderModelDatabase
        do {
            if let path = environment.readerModelsPath {
                database = try ReaderModelDatabase.load(path: path)
            } else {
                database = try ReaderModelDatabase.loadDefault()
            }
        } catch {
            return .fail(id, error.description, action: "install drivers/readers/models.json as /etc/yitiji/readers/models.json or set YITIJI_READER_MODELS")
        }
        let select = context.settings?.reader.select ?? "auto"
        let device = context.settings?.reader.device
        if context.daemon.isRunning {
            return await owned(by: environment, database: database, select: select, device: device)
        }
        let verbose = environment.verbose
        return await Blocking.run { ReaderCheck.direct(id: "reader", database: database, select: select, device: device, verbose: verbose) }
    }

    /// kioskd owns the reader: ask it, or only look for the device.
    func owned(by environment: DiagnosticEnvironment, database: ReaderModelDatabase, select: String, device: String?) async -> CheckResult {
        if let provider = environment.reader {
            do {
                let figures = try await provider.readerFigures()
                guard let reader = figures.reader else {
                    return .fail(id, "kioskd sees no ID-card reader" + (figures.lastError.map { ": \($0)" } ?? ""), action: Self.cableAction)
                }
                var detail = "\(reader) (kioskd's)"
                if let sam = figures.samID { detail += "; SAM ID \(sam)" }
                if let status = figures.samStatus { detail += "; SAM \(status)" }
                if let error = figures.lastError {
                    return .warn(id, detail + "; last error: \(error)", action: "place a test card and run `kioskctl reader watch`; if errors persist, replug the reader")
                }
                return .ok(id, detail)
            } catch {
                // Fall through to looking for the device.
            }
        }
        let found = await Blocking.run { ReaderCheck.present(database: database, select: select, device: device) }
        switch found {
        case .success(let text):
            return .ok(id, "\(text); not opened: kioskd owns the reader (SAM figures need kioskd's technician API)")
        case .failure(let failure):
            return .fail(id, failure.description, action: Self.cableAction)
        }
    }

    struct Missing: Error, CustomStringConvertible { let description: String }

    /// Looks for the reader without opening it.
    static func present(database: ReaderModelDatabase, select: String, device: String?) -> Result<String, Missing> {
        if select.lowercased() == "serial" {
            guard let device, FileManager.default.fileExists(atPath: device) else {
                return .failure(Missing(description: "the serial reader \(device ?? "(reader.device not set)") is not there"))
            }
            return .success("serial \(device)")
        }
        let context = try? USBContext()
        let wanted = select.lowercased()
        let found = ReaderDiscovery.scan(database: database, context: context).filter { wanted == "auto" || $0.model.usbID == wanted }
        guard let first = found.first else {
            return .failure(Missing(description: noReaderDetail(wanted: wanted, context: context)))
        }
        return .success(first.description)
    }

    static func noReaderDetail(wanted: String, context: USBContext?) -> String {
        let what = wanted == "auto" ? "no known ID-card reader is connected" : "no reader \(wanted) is connected"
        return "\(what) (USB devices seen: \(context?.devices().count ?? 0); serial ports: \(ReaderDiscovery.serialPorts().count))"
    }

    /// Opens the reader and asks it for the SAM status, the SAM ID and whether a card is on it.
    static func direct(id: String, database: ReaderModelDatabase, select: String, device: String?, verbose: Bool) -> CheckResult {
        let context: USBContext?
        do { context = try USBContext() } catch {
            context = nil
            if select.lowercased() != "serial" {
                return .fail(id, "libusb cannot start: \(error)", action: "check that libusb-1.0 is installed; on a kiosk, that /dev/bus/usb exists")
            }
        }
        guard let context else {
            return .fail(id, "libusb cannot start", action: "check that libusb-1.0 is installed")
        }
        let transport: any ReaderTransport
        let found: FoundReader
        do {
            (transport, found) = try ReaderDiscovery.openSelected(selection: select, device: device, database: database, context: context)
        } catch {
            if case .noReader(let why) = error, why.contains("is connected") {
                return .fail(id, noReaderDetail(wanted: select.lowercased(), context: context), action: cableAction)
            }
            return .fail(id, error.description, action: error.description.contains("permission") ?
                         "install drivers/udev/70-yitiji-readers.rules and add the user to group yitiji" :
                         "is another program using the reader? stop it (or start kioskd, which owns it), then replug the reader")
        }
        defer { transport.close() }
        let reader = SAMReader(transport: transport, timing: found.model.timing)
        let frames = FrameLog()
        if verbose { reader.frameObserver = { sent, frame in frames.add(sent: sent, frame: frame) } }
        var detail = found.description
        do {
            let status = try reader.samStatus()
            guard status.isSuccess else {
                return .fail(id, "\(detail); SAM status \(status)", action: "the reader's security module is faulty: replace the reader", verbose: frames.lines)
            }
            let samID = try reader.samIdentifier()
            detail += "; SAM ok, SAM ID \(samID)"
            let card = try reader.findCard()
            detail += card == nil ? "; no card on the reader" : "; a card is on the reader"
            return .ok(id, detail, verbose: frames.lines)
        } catch {
            let action = error.isDisconnect ? cableAction : "unplug the reader and plug it in again; if it persists, replace the reader"
            return .fail(id, "\(detail); \(error)", action: action, verbose: frames.lines)
        }
    }
}

/// Frames sent and received, as hex lines for `--verbose`. Never holds card data: only the
/// status, SAM ID and find-card exchanges are logged.
final class FrameLog: Sendable {
    private let entries = Locked<[String]>([])

    func add(sent: Bool, frame: [UInt8]) {
        let hex = frame.map { String(format: "%02X", $0) }.joined(separator: " ")
        entries.withLock { $0.append((sent ? "→ " : "← ") + hex) }
    }

    var lines: [String] { entries.withLock { $0 } }
}
