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
            try? watchSimulatorControl(path: control, simulator: simulator, logger: logger)
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

    /// Reads control lines (`place resident`, `remove`, …) for the in-process simulator.
    static func watchSimulatorControl(path: String, simulator: ReaderSimulator, logger: Logger) throws {
        if !FileManager.default.fileExists(atPath: path) { mkfifo(path, 0o600) }
        let thread = Thread {
            while true {
                guard let handle = FileHandle(forReadingAtPath: path) else { return }
                let data = handle.readDataToEndOfFile()
                try? handle.close()
                for line in String(decoding: data, as: UTF8.self).split(separator: "\n") {
                    if let problem = simulator.control(String(line)) {
                        logger.warning("simulator control refused", metadata: ["problem": "\(problem)"])
                    }
                }
            }
        }
        thread.name = "simulator-control"
        thread.start()
    }
}
