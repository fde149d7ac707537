import Foundation

/// The four-endpoint vendor bulk mode (0400:C35A): preamble + LEN go out on one endpoint and the
/// rest on another; answers come back the same way split. Reads the body endpoint until LEN
/// bytes arrived, never sleeping fixed times.
public final class USBSplitBulkTransport: ReaderTransport {
    private let device: USBDeviceHandle
    private let headerOut: UInt8, bodyOut: UInt8, headerIn: UInt8, bodyIn: UInt8
    /// Body bytes still to come for the frame whose header was read.
    private var bodyRemaining = 0

    public init(device: USBDeviceHandle, model: ReaderModel) throws(ReaderModelError) {
        self.device = device
        headerOut = try model.endpoint("headerOut")
        bodyOut = try model.endpoint("bodyOut")
        headerIn = try model.endpoint("headerIn")
        bodyIn = try model.endpoint("bodyIn")
    }

    public var endpointDescription: String { device.info.description }

    public func write(_ frame: [UInt8], timeoutMilliseconds: Int) throws(TransportError) {
        guard frame.count > SAMFrame.headerCount else { throw .io("frame too short to send") }
        _ = try device.transfer(.bulk, endpoint: headerOut, data: Array(frame.prefix(SAMFrame.headerCount)),
                                timeoutMilliseconds: timeoutMilliseconds)
        _ = try device.transfer(.bulk, endpoint: bodyOut, data: Array(frame.dropFirst(SAMFrame.headerCount)),
                                timeoutMilliseconds: timeoutMilliseconds)
    }

    public func read(maxCount: Int, timeoutMilliseconds: Int) throws(TransportError) -> [UInt8] {
        if bodyRemaining > 0 {
            // Ask in whole 64-byte packets so the device can never overflow the buffer.
            let ask = ((min(bodyRemaining, 4096) + 63) / 64) * 64
            let bytes = try device.transfer(.bulk, endpoint: bodyIn, length: ask, timeoutMilliseconds: timeoutMilliseconds)
            bodyRemaining = max(0, bodyRemaining - bytes.count)
            return bytes
        }
        let header = try device.transfer(.bulk, endpoint: headerIn, length: 64, timeoutMilliseconds: timeoutMilliseconds)
        if header.count >= SAMFrame.headerCount {
            bodyRemaining = Int(header[5]) << 8 | Int(header[6])
            bodyRemaining -= header.count - SAMFrame.headerCount
        }
        return header
    }

    public func discardInput() { bodyRemaining = 0 }

    public func close() { device.close() }
}

/// One OUT and one IN endpoint carrying frames in fixed chunks (0316:5020); bulk or interrupt,
/// as the device's endpoint descriptors say.
public final class USBChunkedTransport: ReaderTransport {
    private let device: USBDeviceHandle
    private let outEndpoint: UInt8, inEndpoint: UInt8
    private let chunkSize: Int
    private let inKind: USBDeviceHandle.Kind
    private let outKind: USBDeviceHandle.Kind

    public init(device: USBDeviceHandle, model: ReaderModel) throws(ReaderModelError) {
        self.device = device
        outEndpoint = try model.endpoint("out")
        inEndpoint = try model.endpoint("in")
        chunkSize = min(4096, max(8, model.chunkSize ?? 64))
        inKind = device.kind(ofEndpoint: inEndpoint)
        outKind = device.kind(ofEndpoint: outEndpoint)
    }

    public var endpointDescription: String { device.info.description }

    public func write(_ frame: [UInt8], timeoutMilliseconds: Int) throws(TransportError) {
        var index = 0
        while index < frame.count {
            let end = min(frame.count, index + chunkSize)
            _ = try device.transfer(outKind, endpoint: outEndpoint, data: Array(frame[index..<end]),
                                    timeoutMilliseconds: timeoutMilliseconds)
            index = end
        }
    }

    public func read(maxCount: Int, timeoutMilliseconds: Int) throws(TransportError) -> [UInt8] {
        try device.transfer(inKind, endpoint: inEndpoint, length: chunkSize, timeoutMilliseconds: timeoutMilliseconds)
    }

    public func discardInput() {}

    public func close() { device.close() }
}

/// USB HID readers (0483:572B): 64-byte reports, byte 0 the payload length (≤ 63); values above
/// 63 are control codes (0xFF: acknowledge / send more), never data. SAM_V frames ride inside.
public final class USBHIDTransport: ReaderTransport {
    private let device: USBDeviceHandle
    private let outEndpoint: UInt8, inEndpoint: UInt8
    private let reportSize: Int

    public init(device: USBDeviceHandle, model: ReaderModel) throws(ReaderModelError) {
        self.device = device
        outEndpoint = try model.endpoint("out")
        inEndpoint = try model.endpoint("in")
        reportSize = min(64, max(8, model.chunkSize ?? 64))
    }

    public var endpointDescription: String { device.info.description + " (HID)" }

    /// Splits a frame into length-prefixed reports (`reportSize` is taken as 2 to 64).
    public static func reports(for frame: [UInt8], reportSize: Int = 64) -> [[UInt8]] {
        var reports: [[UInt8]] = []
        var index = 0
        let reportSize = min(64, max(2, reportSize))
        let payload = min(63, reportSize - 1)
        while index < frame.count {
            let end = min(frame.count, index + payload)
            var report = [UInt8(end - index)] + frame[index..<end]
            report += [UInt8](repeating: 0, count: reportSize - report.count)
            reports.append(report)
            index = end
        }
        return reports
    }

    /// The payload of one report: empty for a zero length, nil for a control report or a length
    /// the report cannot hold. Any bytes at all give one of these, never a trap.
    public static func payload(of report: [UInt8]) -> [UInt8]? {
        guard let length = report.first, length <= 63, Int(length) < report.count else { return nil }
        return Array(report.dropFirst().prefix(Int(length)))
    }

    public func write(_ frame: [UInt8], timeoutMilliseconds: Int) throws(TransportError) {
        for report in USBHIDTransport.reports(for: frame, reportSize: reportSize) {
            _ = try device.transfer(.interrupt, endpoint: outEndpoint, data: report, timeoutMilliseconds: timeoutMilliseconds)
        }
    }

    public func read(maxCount: Int, timeoutMilliseconds: Int) throws(TransportError) -> [UInt8] {
        let deadline = Date().addingTimeInterval(Double(timeoutMilliseconds) / 1000)
        while true {
            let left = Int(deadline.timeIntervalSinceNow * 1000)
            guard left > 0 else { throw .timeout }
            let report = try device.transfer(.interrupt, endpoint: inEndpoint, length: reportSize, timeoutMilliseconds: left)
            if let payload = USBHIDTransport.payload(of: report), !payload.isEmpty { return payload }
        }
    }

    public func discardInput() {}

    public func close() { device.close() }
}
