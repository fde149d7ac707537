import Foundation
import KioskAPI
import KioskCore
import KioskTerminal

/// Runs the citizen's interface on a terminal: keys in, kiosk events in, the screen redrawn
/// (only what changed) as the state or the terminal's size changes.
public final class TerminalRunner: @unchecked Sendable {
    let service: any CitizenOperations
    let terminal: Terminal
    /// When true, Ctrl-C leaves the interface (for demos); a kiosk ignores it.
    let allowQuit: Bool
    /// For demos without a reader: the simulated reader's control FIFO; Ctrl-P places the
    /// legal representative's card, Ctrl-O another person's, Ctrl-R removes it.
    let cardControl: String?
    /// Composes Chinese in text fields.
    let inputMethod: (any InputMethod)?
    private let quitRequested = Locked(false)

    public init(service: any CitizenOperations, terminal: Terminal, allowQuit: Bool, cardControl: String? = nil,
                inputMethod: (any InputMethod)? = nil) {
        self.service = service
        self.terminal = terminal
        self.allowQuit = allowQuit
        self.cardControl = cardControl
        self.inputMethod = inputMethod
    }

    /// Demo keys: control lines for the simulated reader; the other bytes are the citizen's.
    func demoCardKeys(_ bytes: [UInt8]) -> [UInt8] {
        guard let cardControl else { return bytes }
        var rest: [UInt8] = []
        for byte in bytes {
            let line: String?
            switch byte {
            case 0x10: line = "place resident"
            case 0x0F: line = "place hkMacaoTaiwan"
            case 0x12: line = "remove"
            default: line = nil
            }
            if let line, let handle = FileHandle(forWritingAtPath: cardControl) {
                handle.write(Data((line + "\n").utf8))
                try? handle.close()
            } else if line == nil {
                rest.append(byte)
            }
        }
        return rest
    }

    /// Asks the interface to leave (from a signal handler's task).
    public func requestQuit() { quitRequested.withLock { $0 = true } }

    /// Connects (retrying while kioskd is not there), then runs until quit or input closes.
    public func run() async {
        terminal.enter()
        defer { terminal.restore() }
        var buffer = ScreenBuffer(width: terminal.size.width, height: terminal.size.height, useStyles: terminal.useStyles)
        var config: InterfaceConfiguration?
        while config == nil {
            if quitRequested.withLock { $0 } { return }
            do { config = try await service.interfaceConfiguration() } catch {
                let size = terminal.size
                buffer.resize(width: size.width, height: size.height)
                buffer.clear()
                let lines = ["暂停服务 · Out of service", "正在连接服务程序…… Connecting to the kiosk service…"]
                for (i, line) in lines.enumerated() {
                    let x = max(0, (size.width - DisplayWidth.of(line)) / 2)
                    _ = buffer.put(line, x: x, y: size.height / 2 - 1 + i, style: i == 0 ? .title : .plain)
                }
                terminal.write(buffer.render())
                if waitForQuitKey(milliseconds: 1000) { return }
            }
        }
        guard let config else { return }
        let app = CitizenApp(service: service, config: config, inputMethod: inputMethod)
        await app.start()

        let events = Task {
            for await event in service.events() {
                await app.handle(event: event)
            }
        }
        defer { events.cancel() }

        var decoder = KeyDecoder()
        var lastSize = (width: 0, height: 0)
        var lastInput = Date()
        while !quitRequested.withLock { $0 } {
            let size = terminal.size
            if size != lastSize {
                buffer.resize(width: size.width, height: size.height)
                buffer.invalidate()
                lastSize = size
            }
            await app.draw(into: &buffer)
            terminal.write(buffer.render())
            guard let bytes = await readInput(timeoutMilliseconds: 50) else { break }
            if bytes.isEmpty {
                if decoder.isWaiting, Date().timeIntervalSince(lastInput) > 0.05 {
                    for key in decoder.flush() { await app.handle(key: key) }
                }
                continue
            }
            lastInput = Date()
            if allowQuit, bytes.contains(3) { break }
            for key in decoder.feed(demoCardKeys(bytes)) {
                await app.handle(key: key)
                await app.draw(into: &buffer)
                terminal.write(buffer.render())
            }
        }
    }

    private func readInput(timeoutMilliseconds: Int32) async -> [UInt8]? {
        let terminal = self.terminal
        return await Task.detached { terminal.readBytes(timeoutMilliseconds: timeoutMilliseconds) }.value
    }

    private func waitForQuitKey(milliseconds: Int32) -> Bool {
        guard let bytes = terminal.readBytes(timeoutMilliseconds: milliseconds) else { return true }
        return allowQuit && bytes.contains(3)
    }
}
