import Foundation
import KioskCore

/// How a model's frames travel.
public enum ReaderTransportKind: String, Sendable, Codable {
    /// Four bulk endpoints: preamble+LEN and body on separate OUT and IN endpoints (0400:C35A).
    case usbSplitBulk = "usb-split-bulk"
    /// One OUT and one IN endpoint, frames in 64-byte chunks (0316:5020).
    case usbChunked = "usb-chunked"
    /// HID reports of 64 bytes, byte 0 the payload length (0483:572B).
    case usbHID = "usb-hid"
    /// A tty at 115200 8N1 (USB-serial bridges).
    case serial
}

/// One reader model, as `drivers/readers/models.json` describes it.
public struct ReaderModel: Sendable, Codable, Equatable {
    public struct Timeouts: Sendable, Codable, Equatable {
        public var command: Int
        public var find: Int
        public var read: Int
        public var powerUp: Int?
    }

    public var id: String
    public var name: String
    /// Four hex digits, lower case.
    public var vendorId: String
    public var productId: String
    public var transport: ReaderTransportKind
    public var interface: Int?
    /// Endpoint addresses by role, as `0x81`.
    public var endpoints: [String: String]?
    public var chunkSize: Int?
    public var baudRate: Int?
    public var timeouts: Timeouts
    public var quirks: [String]?

    /// `0400:c35a`.
    public var usbID: String { "\(vendorId):\(productId)" }

    /// The endpoint address for a role, e.g. `headerIn`.
    public func endpoint(_ role: String) throws(ReaderModelError) -> UInt8 {
        guard let text = endpoints?[role] else { throw .missingField(id, "endpoints.\(role)") }
        let digits = text.hasPrefix("0x") ? String(text.dropFirst(2)) : text
        guard let value = UInt8(digits, radix: 16) else { throw .badValue(id, "endpoints.\(role)", text) }
        return value
    }

    public func hasQuirk(_ name: String) -> Bool { quirks?.contains(name) ?? false }

    /// The reader timing this model's timeouts give.
    public var timing: ReaderTiming {
        var t = ReaderTiming()
        t.commandMilliseconds = timeouts.command
        t.findMilliseconds = timeouts.find
        t.readMilliseconds = timeouts.read
        return t
    }
}

/// What is wrong with the model database.
public enum ReaderModelError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The database file (path) could not be read or parsed (why).
    case unreadable(String, String)
    /// A model (its name) lacks a required field.
    case missingField(String, String)
    /// A model's field holds a value that cannot be used (model, field, value).
    case badValue(String, String, String)

    public var description: String {
        switch self {
        case let .unreadable(path, why): return "reader model database \(path): \(why)"
        case let .missingField(model, field): return "reader model \(model): \(field) is missing"
        case let .badValue(model, field, value): return "reader model \(model): \(field) '\(value)' is not valid"
        }
    }
}

/// The known reader models, loaded from a data file.
public struct ReaderModelDatabase: Sendable {
    public var models: [ReaderModel]

    public init(models: [ReaderModel]) { self.models = models }

    private struct File: Codable { var models: [ReaderModel] }

    /// Loads and checks `path`.
    public static func load(path: String) throws(ReaderModelError) -> ReaderModelDatabase {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw .unreadable(path, "cannot read: \(error.localizedDescription)")
        }
        let file: File
        do { file = try JSONDecoder().decode(File.self, from: data) } catch {
            throw .unreadable(path, "not a model list: \(error)")
        }
        var models: [ReaderModel] = []
        for var model in file.models {
            model.vendorId = model.vendorId.lowercased()
            model.productId = model.productId.lowercased()
            guard UInt16(model.vendorId, radix: 16) != nil, model.vendorId.count == 4 else {
                throw .badValue(model.id, "vendorId", model.vendorId)
            }
            guard UInt16(model.productId, radix: 16) != nil, model.productId.count == 4 else {
                throw .badValue(model.id, "productId", model.productId)
            }
            switch model.transport {
            case .usbSplitBulk:
                for role in ["headerOut", "bodyOut", "headerIn", "bodyIn"] { _ = try model.endpoint(role) }
            case .usbChunked:
                for role in ["out", "in"] { _ = try model.endpoint(role) }
                if let size = model.chunkSize, !(8...4096).contains(size) {
                    throw .badValue(model.id, "chunkSize", "\(size) (a chunked reader's chunk is 8 to 4096 bytes)")
                }
            case .usbHID:
                for role in ["out", "in"] { _ = try model.endpoint(role) }
                if let size = model.chunkSize, !(8...64).contains(size) {
                    throw .badValue(model.id, "chunkSize", "\(size) (a HID report is 8 to 64 bytes)")
                }
            case .serial: break
            }
            for (name, value) in [("timeouts.command", model.timeouts.command), ("timeouts.find", model.timeouts.find),
                                  ("timeouts.read", model.timeouts.read)] where !(1...60_000).contains(value) {
                throw .badValue(model.id, name, "\(value) (milliseconds, 1 to 60000)")
            }
            models.append(model)
        }
        return ReaderModelDatabase(models: models)
    }

    /// Where the database is looked for, first match wins: `$YITIJI_READER_MODELS`,
    /// `/etc/yitiji/readers/models.json` (the site's), then the program's data
    /// (`DataLocation`: `/usr/share/yitiji/readers/models.json`, or the source tree's).
    public static var searchPaths: [String] {
        var paths: [String] = []
        if let env = ProcessInfo.processInfo.environment["YITIJI_READER_MODELS"] { paths.append(env) }
        paths.append("/etc/yitiji/readers/models.json")
        if let data = DataLocation.url(.readerModels) { paths.append(data.path) }
        return paths
    }

    /// Loads the first database found on `searchPaths`.
    public static func loadDefault() throws(ReaderModelError) -> ReaderModelDatabase {
        for path in searchPaths where FileManager.default.fileExists(atPath: path) {
            return try load(path: path)
        }
        throw .unreadable(searchPaths.joined(separator: ", "), "no reader model database found; set YITIJI_READER_MODELS")
    }

    /// The model for a USB ID.
    public func model(vendorId: UInt16, productId: UInt16) -> ReaderModel? {
        let v = hex4(vendorId), p = hex4(productId)
        return models.first { $0.vendorId == v && $0.productId == p }
    }
}

func hex4(_ value: UInt16) -> String {
    let s = String(value, radix: 16)
    return String(repeating: "0", count: 4 - s.count) + s
}
