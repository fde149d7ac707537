import ArgumentParser
import Foundation
import IDCardReader

/// `yitiji-reader-sim`: the reader's side of SAM_V, for test beds and the demo.
@main
struct ReaderSim: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "yitiji-reader-sim",
        abstract: "Simulate an ID-card reader byte for byte.",
        discussion: """
        Serves SAM_V on stdin/stdout (behind the emulated USB reader) or on a pseudo-terminal
        (for the serial transport). Control lines written to the FIFO:
          place resident|resident-longterm|hkMacaoTaiwan|foreigner2017|foreigner2023
          remove
          fault checksum|truncated|no-answer|garbage|remove-during-read
          fault status XX | fault read-status XX
          latency MS [find|select|read|all]
          chunk N
        Example: yitiji-reader-sim --pty /tmp/reader-tty --control /tmp/reader-ctl --card resident
        """)

    @Option(help: "Serve on a pseudo-terminal whose slave is linked at this path (default: stdin/stdout).")
    var pty: String?

    @Option(help: "A FIFO for control lines (created if missing).")
    var control: String?

    @Option(help: "A sample card on the reader at start.")
    var card: String?

    @Option(help: "Latency before every answer, milliseconds.")
    var latency: Int = 0

    @Option(help: "A status file rewritten after every control line and host command (controls applied, commands received by kind).")
    var status: String?

    func run() throws {
        // A parent may have left these ignored; the simulator must stop when asked.
        signal(SIGTERM, SIG_DFL)
        signal(SIGINT, SIG_DFL)
        var unblock = sigset_t()
        sigemptyset(&unblock)
        sigaddset(&unblock, SIGTERM)
        sigaddset(&unblock, SIGINT)
        sigprocmask(SIG_UNBLOCK, &unblock, nil)
        let simulator = ReaderSimulator()
        if let card, let problem = simulator.control("place \(card)") { throw ValidationError(problem) }
        if latency > 0 { simulator.setLatency(latency) }
        let host: SimulatorHost
        if let pty {
            host = try SimulatorHost.pseudoTerminal(simulator: simulator, linkPath: pty)
        } else {
            host = SimulatorHost(simulator: simulator, input: STDIN_FILENO, output: STDOUT_FILENO)
        }
        if let control { try host.openControl(path: control) }
        host.statusPath = status
        FileHandle.standardError.write(Data("reader simulator ready\n".utf8))
        host.run()
    }
}
