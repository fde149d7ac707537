import Foundation

/// A reader found on this machine.
public struct FoundReader: Sendable, Equatable, CustomStringConvertible {
    public enum Location: Sendable, Equatable {
        case usb(USBDeviceInfo)
        case serial(path: String)
    }

    public let model: ReaderModel
    public let location: Location

    public var description: String {
        switch location {
        case .usb(let info): return "\(info) — \(model.name) [\(model.transport.rawValue)]"
        case .serial(let path): return "serial \(path) — \(model.name) [\(model.transport.rawValue)]"
        }
    }
}

/// Finds readers (USB devices in the model database, and serial bridges) and opens them.
public enum ReaderDiscovery {
    /// Serial ports with the USB IDs of the bridge behind them (from sysfs).
    public static func serialPorts(sysfs: String = "/sys/class/tty") -> [(path: String, usbID: String?)] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: sysfs)) ?? []
        return names.filter { $0.hasPrefix("ttyUSB") || $0.hasPrefix("ttyACM") }.sorted().map { name in
            // /sys/class/tty/ttyUSB0/device → the interface; its parent holds idVendor/idProduct.
            var dir = URL(fileURLWithPath: "\(sysfs)/\(name)/device").resolvingSymlinksInPath()
            var usbID: String?
            for _ in 0..<4 {
                let vendor = try? String(contentsOfFile: dir.appendingPathComponent("idVendor").path, encoding: .utf8)
                let product = try? String(contentsOfFile: dir.appendingPathComponent("idProduct").path, encoding: .utf8)
                if let vendor, let product {
                    usbID = "\(vendor.trimmingCharacters(in: .whitespacesAndNewlines)):\(product.trimmingCharacters(in: .whitespacesAndNewlines))"
                    break
                }
                dir.deleteLastPathComponent()
            }
            return ("/dev/\(name)", usbID)
        }
    }

    /// Every known reader present now.
    public static func scan(database: ReaderModelDatabase, context: USBContext?) -> [FoundReader] {
        var found: [FoundReader] = []
        for device in context?.devices() ?? [] {
            if let model = database.model(vendorId: device.vendorId, productId: device.productId),
               model.transport != .serial {
                found.append(FoundReader(model: model, location: .usb(device)))
            }
        }
        for port in serialPorts() {
            if let id = port.usbID, let model = database.models.first(where: { $0.usbID == id && $0.transport == .serial }) {
                found.append(FoundReader(model: model, location: .serial(path: port.path)))
            }
        }
        return found
    }

    /// A generic serial model for a port given by path.
    public static func genericSerialModel(database: ReaderModelDatabase) -> ReaderModel {
        let timeouts = database.models.first { $0.transport == .serial }?.timeouts
            ?? .init(command: 300, find: 500, read: 3500, powerUp: 2000)
        return ReaderModel(id: "samv-serial", name: "SAM_V reader on a serial port", vendorId: "0000",
                           productId: "0000", transport: .serial, baudRate: 115_200, timeouts: timeouts)
    }

    /// Opens a found reader.
    public static func open(_ reader: FoundReader, context: USBContext) throws(ReaderError) -> any ReaderTransport {
        switch reader.location {
        case .serial(let path):
            do { return try SerialTransport(path: path, baudRate: reader.model.baudRate ?? 115_200) } catch {
                throw .noReader(error.description)
            }
        case .usb(let info):
            let device: USBDeviceHandle
            do {
                device = try context.open(vendorId: info.vendorId, productId: info.productId,
                                          interface: Int32(reader.model.interface ?? 0),
                                          bus: info.bus, address: info.address)
            } catch { throw .noReader(error.description) }
            do {
                switch reader.model.transport {
                case .usbSplitBulk: return try USBSplitBulkTransport(device: device, model: reader.model)
                case .usbChunked: return try USBChunkedTransport(device: device, model: reader.model)
                case .usbHID: return try USBHIDTransport(device: device, model: reader.model)
                case .serial:
                    throw ReaderModelError.badValue(reader.model.id, "transport", "serial on a USB device")
                }
            } catch {
                device.close()
                throw .noReader("\(error)")
            }
        }
    }

    /// Opens the reader that `selection` names: `auto` (the first known reader), `serial`
    /// (the tty at `device`), or a `VID:PID`.
    public static func openSelected(selection: String, device: String?, database: ReaderModelDatabase,
                                    context: USBContext) throws(ReaderError) -> (any ReaderTransport, FoundReader) {
        let wanted = selection.lowercased()
        if wanted == "serial" || (device != nil && wanted == "auto" && device?.hasPrefix("/dev/") == true) {
            guard let device else { throw .noReader("reader.select is serial but reader.device names no tty") }
            let found = FoundReader(model: genericSerialModel(database: database), location: .serial(path: device))
            return (try open(found, context: context), found)
        }
        let candidates = scan(database: database, context: context).filter { wanted == "auto" || $0.model.usbID == wanted }
        guard let first = candidates.first else {
            let what = wanted == "auto" ? "no known reader is connected" : "no reader \(wanted) is connected"
            throw .noReader("\(what): check the USB cable, then run `kioskctl reader list`")
        }
        return (try open(first, context: context), first)
    }
}
