import Foundation
import KioskCore

/// Why a reader operation failed.
public enum ReaderError: Error, Sendable, Equatable, CustomStringConvertible {
    /// No reader was found or it could not be opened.
    case noReader(String)
    /// The transport failed (timeout, unplugged, I/O).
    case transport(TransportError, command: String)
    /// The reader answered with a failure status.
    case status(SAMStatus, command: String)
    /// The reader's bytes were not a valid frame.
    case frame(FrameError, command: String)
    /// The frame was valid but the card data was not.
    case cardData(CardDataError)
    /// A `find card` answered 80 right after a read: the same card is still on the reader.
    case sameCardStillPresent
    /// Waiting for a card ran out of time.
    case noCardPlaced

    public var description: String {
        switch self {
        case .noReader(let why): return "no ID-card reader: \(why)"
        case let .transport(error, command): return "\(command): \(error)"
        case let .status(status, command):
            let advice = status.advice
            return "\(command): reader status \(status)" + (advice.isEmpty ? "" : "; \(advice)")
        case let .frame(error, command): return "\(command): \(error)"
        case .cardData(let error): return "card data: \(error)"
        case .sameCardStillPresent: return "the card already read is still on the reader: remove it"
        case .noCardPlaced: return "no card was placed on the reader"
        }
    }

    /// True when the device itself went away.
    public var isDisconnect: Bool {
        if case .transport(.disconnected, _) = self { return true }
        return false
    }
}

/// Timeouts and retry counts for a reader; the defaults are the reference's.
public struct ReaderTiming: Sendable, Equatable, Codable {
    public var commandMilliseconds: Int = 300
    public var findMilliseconds: Int = 500
    public var readMilliseconds: Int = 3500
    public var pollIntervalMilliseconds: Int = 250
    /// Read attempts (find → select → read) before giving up on a card.
    public var readAttempts: Int = 3
    /// Consecutive failed reads after which the SAM is reset.
    public var resetAfterFailures: Int = 3
    /// Read the fingerprint too (`30 10`) instead of `30 01`.
    public var readFingerprint: Bool = false

    public init() {}
}

/// Speaks SAM_V over one transport: one command at a time, each with its deadline.
/// Not thread-safe: one thread owns a reader.
public final class SAMReader {
    public let transport: any ReaderTransport
    public var timing: ReaderTiming
    private var decoder = SAMFrameDecoder()
    /// Late answers to earlier commands that were recognised and skipped.
    public private(set) var staleFramesSkipped = 0
    /// Called with each frame sent and received, for `--verbose` diagnostics (never card data in logs).
    public var frameObserver: ((_ sent: Bool, _ frame: [UInt8]) -> Void)?

    public init(transport: any ReaderTransport, timing: ReaderTiming = ReaderTiming()) {
        self.transport = transport
        self.timing = timing
    }

    /// Sends `command` and waits for one response frame within `timeoutMilliseconds`.
    public func exchange(_ command: SAMCommand, timeoutMilliseconds: Int? = nil) throws(ReaderError) -> SAMResponse {
        let timeout = timeoutMilliseconds ?? command.defaultTimeoutMilliseconds
        let name = command.description
        transport.discardInput()
        decoder.reset()
        let frame = command.frame
        frameObserver?(true, frame)
        do { try transport.write(frame, timeoutMilliseconds: timeout) } catch {
            throw .transport(error, command: name)
        }
        let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(timeout) * 1_000_000
        while true {
            do {
                while var response = try decoder.nextResponse() {
                    frameObserver?(false, response.frame)
                    if command.accepts(response) { return response }
                    staleFramesSkipped += 1
                    wipeBytes(&response.data)
                }
            } catch {
                decoder.reset()
                throw .frame(error, command: name)
            }
            let now = DispatchTime.now().uptimeNanoseconds
            guard now < deadline else {
                let buffered = decoder.bufferedCount
                decoder.reset()
                if buffered > 0, let needed = decoder.bytesNeeded {
                    throw .frame(.truncated(expected: buffered + needed, received: buffered), command: name)
                }
                throw .transport(.timeout, command: name)
            }
            let remaining = Int((deadline - now) / 1_000_000) + 1
            do {
                let bytes = try transport.read(maxCount: 4096, timeoutMilliseconds: remaining)
                decoder.append(bytes)
            } catch .timeout {
                let buffered = decoder.bufferedCount
                decoder.reset()
                if buffered > 0 {
                    throw .frame(.truncated(expected: SAMFrame.headerCount + 1, received: buffered), command: name)
                }
                throw .transport(.timeout, command: name)
            } catch {
                decoder.reset()
                throw .transport(error, command: name)
            }
        }
    }

    /// Sends `command` and requires a success status.
    @discardableResult
    public func run(_ command: SAMCommand, timeoutMilliseconds: Int? = nil) throws(ReaderError) -> SAMResponse {
        let response = try exchange(command, timeoutMilliseconds: timeoutMilliseconds)
        guard response.status.isSuccess else { throw .status(response.status, command: command.description) }
        return response
    }

    public func resetSAM() throws(ReaderError) { try run(.resetSAM) }

    /// The SAM's status: success, or the failure status.
    public func samStatus() throws(ReaderError) -> SAMStatus {
        try exchange(.samStatus).status
    }

    public func samIdentifier() throws(ReaderError) -> SAMIdentifier {
        let response = try run(.readSAMID)
        guard let id = SAMIdentifier(data: response.data) else {
            throw .frame(.length(response.data.count), command: SAMCommand.readSAMID.description)
        }
        return id
    }

    /// `find card`: the 4 bytes on success; nil when no new card (status 80).
    public func findCard() throws(ReaderError) -> [UInt8]? {
        let response = try exchange(.findCard, timeoutMilliseconds: timing.findMilliseconds)
        switch response.status {
        case .findCardSuccess, .success: return response.data
        case .findCardFailed: return nil
        default: throw .status(response.status, command: SAMCommand.findCard.description)
        }
    }

    /// `select card`: the chip serial (8 bytes).
    public func selectCard() throws(ReaderError) -> [UInt8] {
        try run(.selectCard, timeoutMilliseconds: timing.findMilliseconds).data
    }

    /// `read`: the card, decoded.
    public func readCard() throws(ReaderError) -> CardRead {
        let command: SAMCommand = timing.readFingerprint ? .readTextAndFingerprint : .readText
        var response = try run(command, timeoutMilliseconds: timing.readMilliseconds)
        defer { wipeBytes(&response.data) }
        do { return try CardText.decodeRead(data: response.data) } catch { throw .cardData(error) }
    }

    /// The latest appended address, or nil when there is none (status 91).
    public func appendedAddress() throws(ReaderError) -> String? {
        let response = try exchange(.readAppendedAddress)
        if response.status == .noContent { return nil }
        guard response.status.isSuccess else {
            throw .status(response.status, command: SAMCommand.readAppendedAddress.description)
        }
        let address = CardText.decodeUCS2LE(response.data)
        return address.isEmpty ? nil : address
    }

    /// find → select → read, the one call applications expect.
    /// Throws `.sameCardStillPresent` when the card just read is still there.
    public func readNewCard() throws(ReaderError) -> CardRead {
        guard try findCard() != nil else { throw .sameCardStillPresent }
        _ = try selectCard()
        return try readCard()
    }
}
