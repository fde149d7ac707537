/// Every command of the SAM_V reference.
public enum SAMCommand: Sendable, Hashable, CustomStringConvertible {
    case resetSAM
    case samStatus
    case readSAMID
    case findCard
    case selectCard
    /// `30 01`: text and photo.
    case readText
    /// `30 10`: text, photo and fingerprint.
    case readTextAndFingerprint
    /// `30 03`: the latest appended address.
    case readAppendedAddress
    /// `61 FF n`: the largest RF frame, 24–255 bytes.
    case setMaxRFBytes(UInt8)
    /// `60 0n`: the UART speed.
    case setBaudRate(BaudRate)

    /// Speeds the `60` command can select.
    public enum BaudRate: UInt8, Sendable, CaseIterable {
        case b115200 = 0, b57600 = 1, b38400 = 2, b19200 = 3, b9600 = 4
        public var bitsPerSecond: Int { [115200, 57600, 38400, 19200, 9600][Int(rawValue)] }
    }

    /// CMD, PARA and any data.
    public var body: [UInt8] {
        switch self {
        case .resetSAM: return [0x10, 0xFF]
        case .samStatus: return [0x11, 0xFF]
        case .readSAMID: return [0x12, 0xFF]
        case .findCard: return [0x20, 0x01]
        case .selectCard: return [0x20, 0x02]
        case .readText: return [0x30, 0x01]
        case .readTextAndFingerprint: return [0x30, 0x10]
        case .readAppendedAddress: return [0x30, 0x03]
        case .setMaxRFBytes(let n): return [0x61, 0xFF, n]
        case .setBaudRate(let rate): return [0x60, rate.rawValue]
        }
    }

    /// The whole request frame.
    public var frame: [UInt8] { SAMFrame.encode(body: body) }

    /// Recognises a request body (CMD PARA DATA); nil for commands outside the reference.
    public init?(body: [UInt8]) {
        guard body.count >= 2 else { return nil }
        switch (body[0], body[1]) {
        case (0x10, 0xFF): self = .resetSAM
        case (0x11, 0xFF): self = .samStatus
        case (0x12, 0xFF): self = .readSAMID
        case (0x20, 0x01): self = .findCard
        case (0x20, 0x02): self = .selectCard
        case (0x30, 0x01): self = .readText
        case (0x30, 0x10): self = .readTextAndFingerprint
        case (0x30, 0x03): self = .readAppendedAddress
        case (0x61, 0xFF):
            guard body.count == 3, body[2] >= 24 else { return nil }
            self = .setMaxRFBytes(body[2])
        case (0x60, let p):
            guard let rate = BaudRate(rawValue: p) else { return nil }
            self = .setBaudRate(rate)
        default: return nil
        }
    }

    /// True when `response` can be the answer to this command: failures carry no data, and each
    /// success has its command's data size. A frame that fails this is a late answer to an earlier
    /// command (one that timed out) and is skipped.
    public func accepts(_ response: SAMResponse) -> Bool {
        guard response.status.isSuccess else { return response.data.count <= 70 }
        switch self {
        case .resetSAM, .samStatus, .setMaxRFBytes, .setBaudRate: return response.data.isEmpty
        case .readSAMID: return response.data.count == 16
        case .findCard: return response.data.count <= 8
        case .selectCard: return response.data.count <= 16
        case .readText, .readTextAndFingerprint: return response.data.count >= 4 + CardText.blockSize
        case .readAppendedAddress: return response.data.count <= 140
        }
    }

    /// The reference's timeout for this command, in milliseconds.
    public var defaultTimeoutMilliseconds: Int {
        switch self {
        case .resetSAM, .samStatus, .readSAMID, .setMaxRFBytes, .setBaudRate: return 300
        case .findCard, .selectCard: return 500
        case .readText: return 3000
        case .readTextAndFingerprint: return 3500
        case .readAppendedAddress: return 1500
        }
    }

    public var description: String {
        switch self {
        case .resetSAM: return "reset SAM"
        case .samStatus: return "SAM status"
        case .readSAMID: return "read SAM ID"
        case .findCard: return "find card"
        case .selectCard: return "select card"
        case .readText: return "read text and photo"
        case .readTextAndFingerprint: return "read text, photo and fingerprint"
        case .readAppendedAddress: return "read appended address"
        case .setMaxRFBytes(let n): return "set max RF bytes \(n)"
        case .setBaudRate(let r): return "set baud \(r.bitsPerSecond)"
        }
    }
}

/// The SAM's identifier, printed `05.01-20101129-0001228293-0296863149`.
public struct SAMIdentifier: Sendable, Hashable, CustomStringConvertible {
    public let bytes: [UInt8]

    /// From the 16 data bytes of a `12 FF` response; nil when the length is wrong.
    public init?(data: [UInt8]) {
        guard data.count == 16 else { return nil }
        bytes = data
    }

    private func le(_ offset: Int, _ count: Int) -> UInt64 {
        var v: UInt64 = 0
        for i in (0..<count).reversed() { v = v << 8 | UInt64(bytes[offset + i]) }
        return v
    }

    public var description: String {
        func pad(_ v: UInt64, _ width: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        return "\(pad(le(0, 2), 2)).\(pad(le(2, 2), 2))-\(pad(le(4, 4), 8))-\(pad(le(8, 4), 10))-\(pad(le(12, 4), 10))"
    }
}
