import ArgumentParser
import Foundation
import IDCardReader

/// Options shared by the commands that open a reader directly.
struct ReaderSelectionOptions: ParsableArguments {
    @Option(help: "Which reader: auto, a VID:PID such as 0400:c35a, or serial.")
    var select: String = "auto"

    @Option(help: "The tty of a serial reader, e.g. /dev/ttyUSB0 (implies --select serial).")
    var device: String?

    @Option(help: "The reader model database (default: the installed drivers/readers/models.json).")
    var models: String?

    func database() throws -> ReaderModelDatabase {
        if let models { return try ReaderModelDatabase.load(path: models) }
        return try ReaderModelDatabase.loadDefault()
    }

    func validate() throws {
        let s = select.lowercased()
        guard s == "auto" || s == "serial" || s.range(of: "^[0-9a-f]{4}:[0-9a-f]{4}$", options: .regularExpression) != nil else {
            throw ValidationError("--select must be auto, serial or VID:PID (four hex digits each), not '\(select)'")
        }
    }
}

struct ReaderListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List the ID-card readers found (USB and serial).",
        discussion: "Exit codes: 0 listed (also when none is found), 1 the reader model database could not be read.\nExample: kioskctl reader list --json")

    @OptionGroup var selection: ReaderSelectionOptions
    @Flag(help: "Print one JSON object.")
    var json = false

    func run() throws {
        let database = try selection.database()
        let context = try? USBContext()
        let found = ReaderDiscovery.scan(database: database, context: context)
        if json {
            let items = found.map { reader -> [String: String] in
                var item = ["model": reader.model.id, "name": reader.model.name, "transport": reader.model.transport.rawValue,
                            "usbId": reader.model.usbID]
                switch reader.location {
                case .usb(let info): item["location"] = "usb bus \(info.bus) device \(info.address)"
                case .serial(let path): item["location"] = path
                }
                return item
            }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(["readers": items]), as: UTF8.self))
            return
        }
        if found.isEmpty {
            print("no ID-card reader found (USB devices seen: \(context?.devices().count ?? 0); serial ports: \(ReaderDiscovery.serialPorts().count))")
            print("check the reader's USB cable; a new model needs an entry in drivers/readers/models.json")
            return
        }
        for reader in found { print(reader) }
    }
}
