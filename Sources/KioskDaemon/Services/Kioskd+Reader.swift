import Foundation
import IDCardReader
import KioskConfig
import Logging

/// The ID-card reader kioskd polls: one a test gives, the in-process simulator (demo), or the
/// configured USB or serial device.
extension Kioskd {
    static func readerPoller(settings: KioskSettings.ReaderSettings, options: DaemonOptions, opener: ReaderPoller.Opener?,
                             logger: Logger) throws -> ReaderPoller {
        var timing = ReaderTiming()
        timing.pollIntervalMilliseconds = settings.pollIntervalMilliseconds
        if let opener { return ReaderPoller(timing: timing, opener: opener) }
        if let control = options.simulatorControl {
            let simulator = ReaderSimulator()
            do { try watchSimulatorControl(path: control, simulator: simulator, logger: logger) } catch {
                throw DaemonError.configuration("simulator control: \(error)")
            }
            return ReaderPoller(timing: timing) { () throws(ReaderError) -> any ReaderTransport in
                SimulatedTransport(simulator: simulator)
            }
        }
        let database: ReaderModelDatabase
        do { database = try ReaderModelDatabase.loadDefault() } catch { throw DaemonError.configuration("reader models: \(error)") }
        let select = settings.select, device = settings.device
        return ReaderPoller(timing: timing) { () throws(ReaderError) -> any ReaderTransport in
            let context: USBContext
            do { context = try USBContext() } catch { throw .noReader("libusb: \(error)") }
            return try ReaderDiscovery.openSelected(selection: select, device: device, database: database, context: context).0
        }
    }

    /// Applies the control lines (`place resident`, `remove`, …) written to `path` to the
    /// in-process simulator, on a thread of its own.
    static func watchSimulatorControl(path: String, simulator: ReaderSimulator, logger: Logger) throws {
        let fifo = try ControlFIFO(path: path)
        let thread = Thread {
            while true {
                for line in fifo.waitForLines(timeoutMilliseconds: 1000) {
                    if let problem = simulator.control(line) {
                        logger.warning("simulator control refused", metadata: ["problem": "\(problem)"])
                    }
                }
            }
        }
        thread.name = "simulator-control"
        thread.start()
    }
}
