import Foundation
import KioskAPI
import Printing

/// What the kiosk can do right now: maintenance mode, the reader, the printers.
public actor KioskState {
    public private(set) var maintenance = false
    public private(set) var maintenanceReason: String?
    public private(set) var readerPresent = false
    /// The reader's description and SAM ID, when connected.
    public private(set) var readerEndpoint: String?
    public private(set) var samID: String?
    /// The last problem the reader service saw (unplugged, a failed read), without card data.
    public private(set) var lastReaderError: String?
    /// Last known status of each printer role.
    public private(set) var printers: [String: PrinterStatus] = [:]
    /// Counters since start: reads, read failures, prints by outcome.
    public private(set) var counters: [String: Int] = [:]
    private let hub: EventHub

    public init(hub: EventHub) { self.hub = hub }

    /// Switches maintenance mode; returns whether it changed.
    @discardableResult
    public func setMaintenance(_ on: Bool, reason: String?) -> Bool {
        guard on != maintenance || reason != maintenanceReason else { return false }
        maintenance = on
        maintenanceReason = on ? reason : nil
        hub.publish(.maintenance(on: on, reason: maintenanceReason))
        return true
    }

    /// The reader came or went.
    /// Notes the reader's last problem.
    public func setReaderError(_ text: String?) { lastReaderError = text }

    public func setReader(present: Bool, endpoint: String?, samID: String?) {
        let changed = present != readerPresent
        readerPresent = present
        readerEndpoint = present ? endpoint : nil
        self.samID = present ? samID : nil
        if changed { hub.publish(.readerPresent(present)) }
    }

    /// A printer role's status changed.
    public func setPrinter(role: String, status: PrinterStatus) { printers[role] = status }

    /// Adds one to a counter such as `reads`, `prints.completed`.
    public func count(_ name: String, by amount: Int = 1) { counters[name, default: 0] += amount }

    /// Text keys of problems a citizen should know before starting.
    public var warnings: [String] {
        var keys: [String] = []
        if !readerPresent { keys.append("reader.missing") }
        if let a4 = printers["a4"], !a4.isReady { keys.append(a4.paper == .out ? "print.nopaper" : "print.failed") }
        return keys
    }
}
