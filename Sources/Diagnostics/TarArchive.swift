import Foundation

/// A ustar archive built in memory, so a support bundle never lands on disk outside its output file.
struct TarArchive {
    private(set) var data = Data()
    private var directories: Set<String> = []

    /// Adds a regular file (mode 0600) at `path`, with its parent directories first.
    mutating func add(_ path: String, _ contents: Data, mtime: Date) {
        var parent = ""
        for component in path.split(separator: "/").dropLast() {
            parent += component + "/"
            if directories.insert(parent).inserted { append(header(parent, size: 0, mode: 0o700, type: "5", mtime: mtime)) }
        }
        append(header(path, size: contents.count, mode: 0o600, type: "0", mtime: mtime))
        append(contents)
        let padding = (512 - contents.count % 512) % 512
        append(Data(count: padding))
    }

    /// The archive with its two closing zero blocks.
    func finished() -> Data { data + Data(count: 1024) }

    private mutating func append(_ bytes: Data) { data.append(bytes) }

    private func header(_ name: String, size: Int, mode: Int, type: Character, mtime: Date) -> Data {
        var block = [UInt8](repeating: 0, count: 512)
        func put(_ text: String, at offset: Int, width: Int) {
            for (i, byte) in text.utf8.prefix(width).enumerated() { block[offset + i] = byte }
        }
        func octal(_ value: Int, width: Int) -> String {
            let digits = String(value, radix: 8)
            return String(repeating: "0", count: max(0, width - 1 - digits.count)) + digits
        }
        // Names over 100 bytes go into the ustar prefix field.
        var name = name, prefix = ""
        if name.utf8.count > 100, let cut = name.utf8.prefix(155).lastIndex(of: UInt8(ascii: "/")) {
            prefix = String(name[..<cut])
            name = String(name[name.index(after: cut)...])
        }
        put(name, at: 0, width: 100)
        put(octal(mode, width: 8), at: 100, width: 7)
        put(octal(0, width: 8), at: 108, width: 7)
        put(octal(0, width: 8), at: 116, width: 7)
        put(octal(size, width: 12), at: 124, width: 11)
        put(octal(Int(max(0, mtime.timeIntervalSince1970)), width: 12), at: 136, width: 11)
        for i in 148..<156 { block[i] = 0x20 }
        block[156] = UInt8(ascii: type.unicodeScalars.first ?? "0")
        put("ustar", at: 257, width: 6)
        put("00", at: 263, width: 2)
        put(prefix, at: 345, width: 155)
        let sum = block.reduce(0) { $0 + Int($1) }
        put(octal(sum, width: 7), at: 148, width: 6)
        block[154] = 0
        block[155] = 0x20
        return Data(block)
    }
}
