/// SAM_V framing: `AA AA AA 96 69 | LEN_H LEN_L | body | CHK`.
///
/// LEN counts every byte after itself, CHK included; CHK is the XOR of LEN_H through the last
/// body byte. The same framing carries requests (body = CMD PARA DATA) and responses
/// (body = SW1 SW2 SW3 DATA).
public enum SAMFrame {
    /// The five bytes that open every SAM_V frame.
    public static let preamble: [UInt8] = [0xAA, 0xAA, 0xAA, 0x96, 0x69]
    /// Bytes 4–5 of the vendor-private MCU frame family (`AA AA AA 69 96`), never SAM_V.
    static let vendorMarker: (UInt8, UInt8) = (0x69, 0x96)
    /// Preamble plus the two length bytes.
    public static let headerCount = 7
    /// The largest LEN a reader sends (a `30 10` read with 1024 fingerprint bytes: 2321 bytes in all).
    public static let maximumLength = 0x090A

    /// A whole frame around `body`.
    public static func encode(body: [UInt8]) -> [UInt8] {
        let length = body.count + 1
        var frame = preamble
        frame.reserveCapacity(headerCount + length)
        frame.append(UInt8(truncatingIfNeeded: length >> 8))
        frame.append(UInt8(truncatingIfNeeded: length))
        frame.append(contentsOf: body)
        frame.append(checksum(frame[5...]))
        return frame
    }

    /// XOR of the given bytes.
    public static func checksum<C: Collection>(_ bytes: C) -> UInt8 where C.Element == UInt8 {
        var x: UInt8 = 0
        for b in bytes { x ^= b }
        return x
    }
}

/// What is wrong with the bytes of a frame.
public enum FrameError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The CHK byte does not match the XOR of the frame.
    case checksum(expected: UInt8, received: UInt8)
    /// LEN is outside what the protocol allows.
    case length(Int)
    /// The input ended inside a frame.
    case truncated(expected: Int, received: Int)
    /// A response body shorter than its three status bytes.
    case missingStatus

    public var description: String {
        switch self {
        case let .checksum(expected, received):
            return "checksum error: frame carries \(hex(received)), computed \(hex(expected))"
        case let .length(length):
            return "length error: LEN \(length) is outside 3…\(SAMFrame.maximumLength)"
        case let .truncated(expected, received):
            return "truncated frame: expected \(expected) bytes, got \(received)"
        case .missingStatus:
            return "length error: response has no SW1 SW2 SW3"
        }
    }
}

func hex(_ byte: UInt8) -> String {
    let digits = Array("0123456789ABCDEF")
    return String([digits[Int(byte >> 4)], digits[Int(byte & 0x0F)]])
}

/// Formats bytes as upper-case hex pairs separated by spaces.
public func hexString<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
    bytes.map(hex).joined(separator: " ")
}

/// Parses hex text, ignoring whitespace; nil when a non-hex character or an odd digit count is found.
public func parseHex(_ text: String) -> [UInt8]? {
    var bytes: [UInt8] = []
    bytes.reserveCapacity(text.utf8.count / 2)
    var high: UInt8?
    for c in text.utf8 {
        let value: UInt8
        switch c {
        case 0x30...0x39: value = c - 0x30
        case 0x41...0x46: value = c - 0x41 + 10
        case 0x61...0x66: value = c - 0x61 + 10
        case 0x20, 0x09, 0x0A, 0x0D: continue
        default: return nil
        }
        if let h = high {
            bytes.append(h << 4 | value)
            high = nil
        } else {
            high = value
        }
    }
    return high == nil ? bytes : nil
}

/// A streaming SAM_V frame decoder: feed bytes as they arrive, take whole frames out.
///
/// Looks for the preamble only between frames and then trusts LEN, so a preamble inside photo
/// or fingerprint data is never mistaken for a frame start. Bytes before a preamble are
/// skipped (resynchronisation); vendor-private `AA AA AA 69 96` frames are skipped whole.
public struct SAMFrameDecoder: Sendable {
    private var buffer: [UInt8] = []
    private var start = 0
    /// Bytes discarded while looking for a frame start.
    public private(set) var skippedBytes = 0
    /// Vendor-private frames skipped.
    public private(set) var skippedVendorFrames = 0

    public init() {}

    /// Adds received bytes.
    public mutating func append<C: Collection>(_ bytes: C) where C.Element == UInt8 {
        buffer.append(contentsOf: bytes)
    }

    /// Bytes held that are not yet part of a returned frame.
    public var bufferedCount: Int { buffer.count - start }

    /// How many more bytes the frame in progress needs, when its header is complete.
    public var bytesNeeded: Int? {
        let available = buffer.count - start
        guard available >= SAMFrame.headerCount, hasPreamble(at: start) else { return nil }
        let length = Int(buffer[start + 5]) << 8 | Int(buffer[start + 6])
        return max(0, SAMFrame.headerCount + length - available)
    }

    /// The next whole frame's body (between LEN and CHK), nil when more bytes are needed.
    /// A frame with a bad checksum or length is consumed and reported as an error.
    public mutating func nextBody() throws(FrameError) -> [UInt8]? {
        while true {
            guard resynchronise() else { return nil }
            let available = buffer.count - start
            guard available >= SAMFrame.headerCount else { return nil }
            let length = Int(buffer[start + 5]) << 8 | Int(buffer[start + 6])
            let vendor = buffer[start + 3] == SAMFrame.vendorMarker.0 && buffer[start + 4] == SAMFrame.vendorMarker.1
            guard length >= 3, length <= SAMFrame.maximumLength else {
                start += 1  // not a frame after all: keep looking past this preamble
                skippedBytes += 1
                compact()
                if vendor { continue }
                throw .length(length)
            }
            guard available >= SAMFrame.headerCount + length else { return nil }
            let bodyStart = start + SAMFrame.headerCount
            let chkIndex = start + SAMFrame.headerCount + length - 1
            let computed = SAMFrame.checksum(buffer[(start + 5)..<chkIndex])
            let received = buffer[chkIndex]
            start = chkIndex + 1
            if vendor {
                skippedVendorFrames += 1
                compact()
                continue
            }
            guard computed == received else {
                compact()
                throw .checksum(expected: computed, received: received)
            }
            let body = Array(buffer[bodyStart..<chkIndex])
            compact()
            return body
        }
    }

    /// The next whole frame as a response.
    public mutating func nextResponse() throws(FrameError) -> SAMResponse? {
        guard let body = try nextBody() else { return nil }
        return try SAMResponse(body: body)
    }

    /// Drops everything buffered, zeroing it (it may hold card data).
    public mutating func reset() {
        wipeBuffer()
        start = 0
    }

    private mutating func wipeBuffer() {
        buffer.withUnsafeMutableBufferPointer { b in for i in b.indices { b[i] = 0 } }
        buffer.removeAll(keepingCapacity: true)
    }

    private func hasPreamble(at index: Int) -> Bool {
        buffer[index] == 0xAA && buffer[index + 1] == 0xAA && buffer[index + 2] == 0xAA
            && ((buffer[index + 3] == 0x96 && buffer[index + 4] == 0x69)
                || (buffer[index + 3] == 0x69 && buffer[index + 4] == 0x96))
    }

    /// Moves `start` to the next preamble; true when one begins there (or might, given more bytes).
    private mutating func resynchronise() -> Bool {
        while buffer.count - start >= 5 {
            if hasPreamble(at: start) { return true }
            start += 1
            skippedBytes += 1
        }
        // Keep a possible partial preamble for the next append; drop what cannot start one.
        let vendorPreamble: [UInt8] = [0xAA, 0xAA, 0xAA, 0x69, 0x96]
        while start < buffer.count {
            let tail = buffer[start...]
            if SAMFrame.preamble.starts(with: tail) || vendorPreamble.starts(with: tail) { break }
            start += 1
            skippedBytes += 1
        }
        compact()
        return buffer.count - start >= 5
    }

    private mutating func compact() {
        if start == buffer.count {
            wipeBuffer()
            start = 0
        } else if start > 4096 {
            buffer.withUnsafeMutableBufferPointer { b in for i in 0..<start { b[i] = 0 } }
            buffer.removeFirst(start)
            start = 0
        }
    }
}

/// A decoded response: the three status bytes and the data after them.
public struct SAMResponse: Sendable, Equatable {
    public let sw1: UInt8
    public let sw2: UInt8
    public let status: SAMStatus
    /// The bytes between SW3 and CHK.
    public var data: [UInt8]

    /// A response from a frame body: SW1, SW2, SW3 and the data. Throws `missingStatus` for a
    /// body shorter than its three status bytes (any bytes are an error, never a trap).
    public init(body: [UInt8]) throws(FrameError) {
        guard body.count >= 3 else { throw .missingStatus }
        sw1 = body[0]
        sw2 = body[1]
        status = SAMStatus(code: body[2])
        data = Array(body.dropFirst(3))
    }

    public init(status: SAMStatus, data: [UInt8] = [], sw1: UInt8 = 0, sw2: UInt8 = 0) {
        self.sw1 = sw1
        self.sw2 = sw2
        self.status = status
        self.data = data
    }

    /// The whole frame for this response.
    public var frame: [UInt8] { SAMFrame.encode(body: [sw1, sw2, status.code] + data) }
}
