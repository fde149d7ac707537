import Foundation
import KioskCore

/// A card the simulator can hold: identity plus raw photo and fingerprint bytes.
public struct SimulatedCard: Sendable, Equatable {
    public var identity: CardIdentity
    public var photo: [UInt8]
    public var fingerprint: [UInt8]
    /// The chip serial `select card` returns.
    public var serial: [UInt8]

    public init(identity: CardIdentity, photo: [UInt8] = SimulatedCard.samplePhoto,
                fingerprint: [UInt8] = SimulatedCard.sampleFingerprint,
                serial: [UInt8] = [0x12, 0x34, 0x56, 0x78, 0x9A, 0xBC, 0xDE, 0xF0]) {
        self.identity = identity
        self.photo = photo
        self.fingerprint = fingerprint
        self.serial = serial
    }

    /// 1024 bytes with a WLT header; the SAM_V preamble occurs inside, as it can in real photos.
    public static let samplePhoto: [UInt8] = {
        var bytes: [UInt8] = [0x57, 0x4C, 0x66, 0x00, 0x7E, 0x00, 0x32, 0x00]
        var x: UInt32 = 0x1234_5678
        while bytes.count < 1024 {
            x = x &* 1_103_515_245 &+ 12345
            bytes.append(UInt8(truncatingIfNeeded: x >> 16))
        }
        bytes.replaceSubrange(300..<307, with: SAMFrame.preamble + [0x00, 0x04])
        return bytes
    }()

    /// Two 512-byte templates starting with 'C'.
    public static let sampleFingerprint: [UInt8] = {
        var bytes: [UInt8] = []
        for finger: UInt8 in [11, 12] {
            var t: [UInt8] = [0x43, 0x01, 0x00, 0x00, 0x01, finger, 0x5A]
            while t.count < 512 { t.append(UInt8(truncatingIfNeeded: t.count &* 7 &+ Int(finger))) }
            bytes += t
        }
        bytes.replaceSubrange(600..<605, with: SAMFrame.preamble)
        return bytes
    }()
}

/// Fictitious sample cards of every kind (numbers carry valid check characters).
public enum SampleCards {
    static func date(_ y: Int, _ m: Int, _ d: Int) -> CalendarDate {
        CalendarDate(year: y, month: m, day: d) ?? CalendarDate.today()
    }

    public static let resident = CardIdentity(
        cardType: .resident, name: "张三", sex: .male, ethnicity: "汉", birthDate: date(1990, 3, 18),
        address: "广东省东莞市南城街道鸿福路200号", idNumber: "441900199003181234",
        issuer: "东莞市公安局", validFrom: date(2015, 6, 1), validUntil: date(2035, 6, 1))

    /// A resident card with no end date (长期).
    public static let residentLongTerm = CardIdentity(
        cardType: .resident, name: "李四", sex: .female, ethnicity: "满", birthDate: date(1949, 12, 31),
        address: "北京市朝阳区建国路1号", idNumber: "11010519491231002X", issuer: "北京市公安局朝阳分局",
        validFrom: date(2010, 1, 1), validUntil: nil)

    public static let hkMacaoTaiwan = CardIdentity(
        cardType: .hkMacaoTaiwan, name: "陈美玲", sex: .female, birthDate: date(1985, 6, 12),
        address: "广东省深圳市福田区福华路88号", idNumber: "810000198506120024", issuer: "深圳市公安局",
        validFrom: date(2019, 9, 1), validUntil: date(2024, 9, 1), passNumber: "H12345678",
        issueCount: 1)

    public static let foreigner2017 = CardIdentity(
        cardType: .foreigner2017, name: "史密斯", englishName: "SMITH, JOHN", sex: .male,
        birthDate: date(1978, 4, 2), idNumber: "USA310078040214", issuer: "1500",
        validFrom: date(2018, 5, 20), validUntil: date(2028, 5, 20), nationality: "USA",
        cardVersion: "01")

    public static let foreigner2023 = CardIdentity(
        cardType: .foreigner2023, name: "玛丽亚", englishName: "GARCIA LOPEZ, MARIA ISABEL", sex: .female,
        birthDate: date(1988, 8, 8), idNumber: "911316198808080015", validFrom: date(2023, 12, 1),
        validUntil: date(2033, 12, 1), nationality: "ESP", renewalCount: 0)

    /// Every sample by the name the simulator's `place` command takes.
    public static let byName: [String: CardIdentity] = [
        "resident": resident, "resident-longterm": residentLongTerm, "hkMacaoTaiwan": hkMacaoTaiwan,
        "foreigner2017": foreigner2017, "foreigner2023": foreigner2023,
    ]
}

/// One-shot or standing faults the simulator injects.
public enum SimulatorFault: Sendable, Equatable {
    /// The next response carries a wrong checksum.
    case badChecksum
    /// The next response stops half way (and nothing more follows).
    case truncated
    /// The next read (`30 01`/`30 10`) answers this status instead.
    case readStatus(SAMStatus)
    /// The next command of any kind answers this status.
    case status(SAMStatus)
    /// The next read starts, then the card leaves: the read answers 41 and the card is gone.
    case removeCardDuringRead
    /// The next command gets no answer at all.
    case noAnswer
    /// Junk bytes before the next response.
    case garbageBefore
}

/// A reply the simulator sends after `delayMilliseconds`.
public struct SimulatorReply: Sendable, Equatable {
    public var delayMilliseconds: Int
    public var bytes: [UInt8]
}

/// The reader's side of SAM_V, byte for byte: a SAM with a card slot. Pure logic, no I/O.
public final class ReaderSimulator: Sendable {
    fileprivate struct State {
        var card: SimulatedCard?
        var cardActive = false
        var faults: [SimulatorFault] = []
        var decoder = SAMFrameDecoder()
        /// Latency before each answer, per command (default: none).
        var latency: [String: Int] = [:]
        /// Chunk size for delivering responses; 0 delivers each response at once.
        var chunkSize = 0
        /// The appended address `30 03` returns, if any.
        var appendedAddress: String?
        /// Commands received, by kind.
        var received: [String: Int] = [:]
    }

    private let state: Locked<State>

    /// The appended address `30 03` returns, if any.
    public var appendedAddress: String? {
        get { state.withLock { $0.appendedAddress } }
        set { state.withLock { $0.appendedAddress = newValue } }
    }

    /// The golden SAM ID: `05.01-20101129-0001228293-0296863149`.
    public static let samIDData: [UInt8] = [0x05, 0x00, 0x01, 0x00, 0x09, 0xB8, 0x32, 0x01, 0x05,
                                            0xBE, 0x12, 0x00, 0xAD, 0xC5, 0xB1, 0x11]

    public init(card: CardIdentity? = nil) {
        var initial = State()
        if let card { initial.card = SimulatedCard(identity: card) }
        state = Locked(initial)
    }

    /// Puts a card on the reader.
    public func place(_ card: SimulatedCard) {
        state.withLock {
            $0.card = card
            $0.cardActive = false
        }
    }

    /// Takes the card off.
    public func remove() { state.withLock { $0.card = nil; $0.cardActive = false } }

    /// The reader lost power (unplugged): it forgets the half-received request and that the card
    /// on it was already read; the card stays where it is, and the faults and latencies set.
    public func powerCycle() { state.withLock { $0.decoder = SAMFrameDecoder(); $0.cardActive = false } }

    /// True while a card is on the reader.
    public var hasCard: Bool { state.withLock { $0.card != nil } }

    /// Queues a fault for the next matching command.
    public func inject(_ fault: SimulatorFault) { state.withLock { $0.faults.append(fault) } }

    /// Sets the latency for a command (`find`, `select`, `read`, or `all`).
    public func setLatency(_ milliseconds: Int, for command: String = "all") {
        state.withLock { $0.latency[command] = milliseconds }
    }

    /// Delivers responses in chunks of `size` bytes (0: whole frames).
    public func setChunkSize(_ size: Int) { state.withLock { $0.chunkSize = max(0, size) } }

    /// Feeds host bytes; returns the replies to send, in order.
    public func receive(_ bytes: [UInt8]) -> [SimulatorReply] {
        state.withLock { $0.receive(bytes) }
    }

    fileprivate static func kind(of command: SAMCommand) -> String {
        switch command {
        case .findCard: return "find"
        case .selectCard: return "select"
        case .readText, .readTextAndFingerprint: return "read"
        default: return "other"
        }
    }

    /// How many commands of each kind (`find`, `select`, `read`, `other`) arrived so far, so a
    /// test can act at a known step of the host's exchange (e.g. unplug while a read is pending).
    public var commandCounts: [String: Int] { state.withLock { $0.received } }

    /// Applies one line of the control language:
    /// `place KIND`, `remove`, `fault checksum|truncated|no-answer|garbage|remove-during-read`,
    /// `fault status XX`, `fault read-status XX`, `latency MS [find|select|read|all]`, `chunk N`,
    /// `power-cycle` (see `powerCycle()`; the host also drops answers not yet sent).
    /// Returns an error message for a bad line.
    public func control(_ line: String) -> String? {
        let words = line.split(separator: " ").map(String.init)
        guard let verb = words.first else { return nil }
        switch (verb, words.count) {
        case ("place", 2):
            guard let identity = SampleCards.byName[words[1]] else {
                return "unknown card '\(words[1])': use one of \(SampleCards.byName.keys.sorted().joined(separator: ", "))"
            }
            place(SimulatedCard(identity: identity))
        case ("remove", 1): remove()
        case ("power-cycle", 1): powerCycle()
        case ("fault", 2):
            switch words[1] {
            case "checksum": inject(.badChecksum)
            case "truncated": inject(.truncated)
            case "no-answer": inject(.noAnswer)
            case "garbage": inject(.garbageBefore)
            case "remove-during-read": inject(.removeCardDuringRead)
            default: return "unknown fault '\(words[1])'"
            }
        case ("fault", 3):
            guard let code = UInt8(words[2], radix: 16) else { return "status must be hex, e.g. 41" }
            if words[1] == "status" { inject(.status(SAMStatus(code: code))) }
            else if words[1] == "read-status" { inject(.readStatus(SAMStatus(code: code))) }
            else { return "unknown fault '\(words[1])'" }
        case ("latency", 2), ("latency", 3):
            guard let ms = Int(words[1]), ms >= 0 else { return "latency must be milliseconds" }
            setLatency(ms, for: words.count == 3 ? words[2] : "all")
        case ("chunk", 2):
            guard let n = Int(words[1]), n >= 0 else { return "chunk must be a byte count" }
            setChunkSize(n)
        default:
            return "unknown command '\(line)'"
        }
        return nil
    }
}

extension ReaderSimulator.State {
    mutating func receive(_ bytes: [UInt8]) -> [SimulatorReply] {
        decoder.append(bytes)
        var replies: [SimulatorReply] = []
        while true {
            switch nextRequest() {
            case .success(nil): return replies
            case .success(let body?): replies += respond(to: body)
            case .failure(.checksum):
                replies.append(SimulatorReply(delayMilliseconds: 0, bytes: SAMResponse(status: .hostChecksumError).frame))
            case .failure:
                replies.append(SimulatorReply(delayMilliseconds: 0, bytes: SAMResponse(status: .hostLengthError).frame))
            }
        }
    }

    private mutating func nextRequest() -> Result<[UInt8]?, FrameError> {
        do throws(FrameError) { return .success(try decoder.nextBody()) } catch { return .failure(error) }
    }

    private mutating func takeFault(_ match: (SimulatorFault) -> Bool) -> SimulatorFault? {
        guard let i = faults.firstIndex(where: match) else { return nil }
        return faults.remove(at: i)
    }

    private func delay(for command: SAMCommand) -> Int {
        let key = ReaderSimulator.kind(of: command)
        return latency[key] ?? latency["all"] ?? 0
    }

    private mutating func respond(to body: [UInt8]) -> [SimulatorReply] {
        guard let command = SAMCommand(body: body) else {
            return [SimulatorReply(delayMilliseconds: 0, bytes: SAMResponse(status: .commandError).frame)]
        }
        received[ReaderSimulator.kind(of: command), default: 0] += 1
        if takeFault({ $0 == .noAnswer }) != nil { return [] }
        var response = answer(command)
        if case .status(let s)? = takeFault({ if case .status = $0 { return true } else { return false } }) {
            response = SAMResponse(status: s)
        }
        var frame = response.frame
        if takeFault({ $0 == .badChecksum }) != nil { frame[frame.count - 1] ^= 0x5A }
        if takeFault({ $0 == .truncated }) != nil { frame = Array(frame.prefix(frame.count / 2)) }
        if takeFault({ $0 == .garbageBefore }) != nil { frame = [0x00, 0x13, 0xAA, 0x96, 0xAA, 0xAA] + frame }
        let wait = delay(for: command)
        guard chunkSize > 0 else { return [SimulatorReply(delayMilliseconds: wait, bytes: frame)] }
        var replies: [SimulatorReply] = []
        var index = 0
        while index < frame.count {
            let end = min(frame.count, index + chunkSize)
            replies.append(SimulatorReply(delayMilliseconds: index == 0 ? wait : 0, bytes: Array(frame[index..<end])))
            index = end
        }
        return replies
    }

    private mutating func answer(_ command: SAMCommand) -> SAMResponse {
        switch command {
        case .resetSAM, .samStatus, .setMaxRFBytes, .setBaudRate:
            return SAMResponse(status: .success)
        case .readSAMID:
            return SAMResponse(status: .success, data: ReaderSimulator.samIDData)
        case .findCard:
            guard card != nil, !cardActive else { return SAMResponse(status: .findCardFailed) }
            return SAMResponse(status: .findCardSuccess, data: [0x00, 0x00, 0x00, 0x00])
        case .selectCard:
            guard let card else { return SAMResponse(status: .selectCardFailed) }
            return SAMResponse(status: .success, data: card.serial)
        case .readText, .readTextAndFingerprint:
            if takeFault({ $0 == .removeCardDuringRead }) != nil {
                card = nil
                cardActive = false
                return SAMResponse(status: .readCardFailed)
            }
            if case .readStatus(let s)? = takeFault({ if case .readStatus = $0 { return true } else { return false } }) {
                return SAMResponse(status: s)
            }
            guard let card else { return SAMResponse(status: .readCardFailed) }
            cardActive = true
            let withFingerprint = command == .readTextAndFingerprint
            let data = ReadResponseLayout.encode(
                text: CardText.encode(card.identity), photo: card.photo,
                fingerprint: withFingerprint ? card.fingerprint : [], withFingerprintField: withFingerprint)
            return SAMResponse(status: .success, data: data)
        case .readAppendedAddress:
            guard card != nil else { return SAMResponse(status: .readCardFailed) }
            guard let address = appendedAddress else { return SAMResponse(status: .noContent) }
            return SAMResponse(status: .success, data: CardText.encodeUCS2LE(address, byteCount: 70))
        }
    }
}
