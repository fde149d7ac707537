/// A key the citizen pressed. The kiosk is driven by keys only.
public enum Key: Equatable, Sendable {
    case up, down, left, right
    case enter
    case escape
    case backspace
    case tab
    case pageUp, pageDown, home, end, delete
    /// A printable character (digits, letters, and any text typed or pasted).
    case character(Character)
    /// Ctrl+letter, e.g. `.control("c")`.
    case control(Character)
    /// A function key, F1 to F12.
    case function(Int)
}

/// Turns the bytes a terminal sends into keys, byte by byte, never seeing the terminal itself.
///
/// A lone ESC is ambiguous (it starts every arrow key): feed bytes as they arrive and call
/// `flush()` when no byte followed within a short pause (e.g. 50 ms) to get `.escape`.
public struct KeyDecoder: Sendable {
    private var pending: [UInt8] = []

    public init() {}

    /// Adds bytes; returns the keys now complete.
    public mutating func feed(_ bytes: some Sequence<UInt8>) -> [Key] {
        var keys: [Key] = []
        for byte in bytes {
            pending.append(byte)
            keys.append(contentsOf: drain(final: false))
        }
        return keys
    }

    /// Ends an incomplete sequence: a lone ESC becomes `.escape`; anything else is dropped.
    public mutating func flush() -> [Key] {
        drain(final: true)
    }

    /// Whether bytes are waiting for more (call `flush()` after a pause).
    public var isWaiting: Bool { !pending.isEmpty }

    private mutating func drain(final: Bool) -> [Key] {
        var keys: [Key] = []
        while !pending.isEmpty {
            switch decodeOne() {
            case let .key(key, length):
                keys.append(key)
                pending.removeFirst(length)
            case let .skip(length):
                pending.removeFirst(length)
            case .needMore:
                if final {
                    if pending == [0x1B] { keys.append(.escape) }
                    pending.removeAll()
                }
                return keys
            }
        }
        return keys
    }

    private enum Step { case key(Key, Int), skip(Int), needMore }

    private func decodeOne() -> Step {
        let b = pending[0]
        switch b {
        case 0x0D, 0x0A: return .key(.enter, 1)
        case 0x7F, 0x08: return .key(.backspace, 1)
        case 0x09: return .key(.tab, 1)
        case 0x1B: return decodeEscape()
        case 0x01...0x1A: return .key(.control(Character(Unicode.Scalar(b + 0x60))), 1)
        case 0x00...0x1F: return .skip(1)
        case 0x20...0x7E: return .key(.character(Character(Unicode.Scalar(b))), 1)
        default: return decodeUTF8()
        }
    }

    private func decodeEscape() -> Step {
        guard pending.count >= 2 else { return .needMore }
        let second = pending[1]
        if second == 0x1B { return .key(.escape, 1) }
        guard second == UInt8(ascii: "[") || second == UInt8(ascii: "O") else {
            // ESC then an ordinary key (Alt+key): report ESC, keep the key.
            return .key(.escape, 1)
        }
        // The Linux console's F1–F5: ESC [ [ A … E.
        if second == UInt8(ascii: "["), pending.count >= 3, pending[2] == UInt8(ascii: "[") {
            guard pending.count >= 4 else { return .needMore }
            let letter = pending[3]
            return (0x41...0x45).contains(letter) ? .key(.function(Int(letter) - 0x40), 4) : .skip(4)
        }
        // CSI / SS3: parameters until a final byte 0x40–0x7E.
        var index = 2
        while index < pending.count {
            let byte = pending[index]
            if (0x40...0x7E).contains(byte) {
                let params = String(decoding: pending[2..<index], as: UTF8.self)
                let length = index + 1
                switch Character(Unicode.Scalar(byte)) {
                case "A": return .key(.up, length)
                case "B": return .key(.down, length)
                case "C": return .key(.right, length)
                case "D": return .key(.left, length)
                case "H": return .key(.home, length)
                case "F": return .key(.end, length)
                // xterm and foot F1–F4 (SS3 P…S, or CSI 1;mod P…S).
                case "P": return .key(.function(1), length)
                case "Q": return .key(.function(2), length)
                case "R": return .key(.function(3), length)
                case "S": return .key(.function(4), length)
                case "~":
                    // A modifier after ';' (Ctrl+PageUp is CSI 5;5~) does not change the key.
                    switch params.split(separator: ";").first.map(String.init) ?? "" {
                    case "1", "7": return .key(.home, length)
                    case "4", "8": return .key(.end, length)
                    case "3": return .key(.delete, length)
                    case "5": return .key(.pageUp, length)
                    case "6": return .key(.pageDown, length)
                    default:
                        // F-keys as CSI n ~ (a modifier after ';' is ignored): 11–15 F1–F5 (rxvt-style),
                        // 17–21 F6–F10, 23–24 F11–F12.
                        let number = Int(params.split(separator: ";").first ?? "") ?? 0
                        let functions: [Int: Int] = [11: 1, 12: 2, 13: 3, 14: 4, 15: 5, 17: 6, 18: 7, 19: 8, 20: 9, 21: 10, 23: 11, 24: 12]
                        if let f = functions[number] { return .key(.function(f), length) }
                        return .skip(length)
                    }
                default: return .skip(length)
                }
            }
            guard index < 16 else { return .skip(index + 1) }
            index += 1
        }
        return .needMore
    }

    private func decodeUTF8() -> Step {
        let b = pending[0]
        let length: Int
        switch b {
        case 0xC2...0xDF: length = 2
        case 0xE0...0xEF: length = 3
        case 0xF0...0xF4: length = 4
        default: return .skip(1)
        }
        guard pending.count >= length else { return .needMore }
        let bytes = Array(pending[0..<length])
        guard bytes.dropFirst().allSatisfy({ $0 & 0xC0 == 0x80 }) else { return .skip(1) }
        let text = String(decoding: bytes, as: UTF8.self)
        guard let character = text.first, text.unicodeScalars.first?.value != 0xFFFD else { return .skip(length) }
        return .key(.character(character), length)
    }
}
