/// SW3, the status byte every response carries, with its meaning.
public enum SAMStatus: Sendable, Hashable, CustomStringConvertible {
    case success                       // 90
    case findCardSuccess               // 9F
    case hostChecksumError             // 10
    case hostLengthError               // 11
    case commandError                  // 21
    case operationNotPermitted         // 23
    case unrecognisedError             // 24
    case cardFailedToAuthenticateSAM   // 31
    case samFailedToAuthenticateCard   // 32
    case informationVerificationError  // 33
    case cardTypeNotRecognised         // 40
    case readCardFailed                // 41
    case getRandomFailed               // 47
    case samSelfTestFailed             // 60
    case samNotAuthorised              // 66
    case findCardFailed                // 80
    case selectCardFailed              // 81
    case noContent                     // 91
    /// A code the reference does not list.
    case other(UInt8)

    /// Every status the reference lists, success included.
    public static let known: [SAMStatus] = [
        .success, .findCardSuccess, .hostChecksumError, .hostLengthError, .commandError,
        .operationNotPermitted, .unrecognisedError, .cardFailedToAuthenticateSAM,
        .samFailedToAuthenticateCard, .informationVerificationError, .cardTypeNotRecognised,
        .readCardFailed, .getRandomFailed, .samSelfTestFailed, .samNotAuthorised, .findCardFailed,
        .selectCardFailed, .noContent,
    ]

    public init(code: UInt8) {
        self = SAMStatus.known.first { $0.code == code } ?? .other(code)
    }

    /// The byte on the wire.
    public var code: UInt8 {
        switch self {
        case .success: return 0x90
        case .findCardSuccess: return 0x9F
        case .hostChecksumError: return 0x10
        case .hostLengthError: return 0x11
        case .commandError: return 0x21
        case .operationNotPermitted: return 0x23
        case .unrecognisedError: return 0x24
        case .cardFailedToAuthenticateSAM: return 0x31
        case .samFailedToAuthenticateCard: return 0x32
        case .informationVerificationError: return 0x33
        case .cardTypeNotRecognised: return 0x40
        case .readCardFailed: return 0x41
        case .getRandomFailed: return 0x47
        case .samSelfTestFailed: return 0x60
        case .samNotAuthorised: return 0x66
        case .findCardFailed: return 0x80
        case .selectCardFailed: return 0x81
        case .noContent: return 0x91
        case .other(let code): return code
        }
    }

    /// True for 90 and 9F.
    public var isSuccess: Bool { self == .success || self == .findCardSuccess }

    /// What the status means, in English.
    public var meaning: String {
        switch self {
        case .success: return "success"
        case .findCardSuccess: return "card found"
        case .hostChecksumError: return "checksum error in the host's frame"
        case .hostLengthError: return "length error in the host's frame"
        case .commandError: return "command error"
        case .operationNotPermitted: return "operation not permitted"
        case .unrecognisedError: return "unrecognised error"
        case .cardFailedToAuthenticateSAM: return "card failed to authenticate the SAM"
        case .samFailedToAuthenticateCard: return "SAM failed to authenticate the card"
        case .informationVerificationError: return "information verification error"
        case .cardTypeNotRecognised: return "card type not recognised"
        case .readCardFailed: return "read card failed"
        case .getRandomFailed: return "get-random failed"
        case .samSelfTestFailed: return "SAM self-test failed"
        case .samNotAuthorised: return "SAM not authorised"
        case .findCardFailed: return "find card failed (no card, or the card already read is still there)"
        case .selectCardFailed: return "select card failed"
        case .noContent: return "no content for this item"
        case .other: return "status code not in the reference"
        }
    }

    /// What a technician can do about it.
    public var advice: String {
        switch self {
        case .success, .findCardSuccess, .noContent: return ""
        case .hostChecksumError, .hostLengthError, .commandError:
            return "the reader did not understand the request: check the cable and the reader model entry"
        case .operationNotPermitted, .unrecognisedError, .other:
            return "reset the reader (unplug it for 5 seconds); if it persists, replace it"
        case .cardFailedToAuthenticateSAM, .samFailedToAuthenticateCard, .informationVerificationError,
             .readCardFailed, .getRandomFailed:
            return "hold the card still on the reader and try again; if it persists the card may be damaged"
        case .cardTypeNotRecognised: return "the card is not an ID card this reader supports"
        case .samSelfTestFailed, .samNotAuthorised:
            return "the reader's security module is faulty or not authorised: replace the reader"
        case .findCardFailed: return "place the card flat on the reader"
        case .selectCardFailed: return "the card moved: place it again"
        }
    }

    /// `41 (read card failed)`.
    public var description: String { "\(hex(code)) (\(meaning))" }
}
