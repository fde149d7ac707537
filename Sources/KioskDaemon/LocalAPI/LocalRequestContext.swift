#if canImport(Glibc)
import Glibc
#endif
import Hummingbird
import NIOCore

/// The process at the other end of a local socket, as the kernel reports it (`SO_PEERCRED`):
/// the audit log names the account that really asked, not what a client claims to be.
public struct PeerCredentials: Sendable, Equatable, CustomStringConvertible {
    public var pid: Int32
    public var uid: UInt32
    public var gid: UInt32
    /// The account name of `uid`, when the system knows it.
    public var userName: String?

    public init(pid: Int32, uid: UInt32, gid: UInt32, userName: String?) {
        self.pid = pid
        self.uid = uid
        self.gid = gid
        self.userName = userName
    }

    /// `alice (uid 1000)`, or `uid 1000` when the account has no name.
    public var description: String { userName.map { "\($0) (uid \(uid))" } ?? "uid \(uid)" }

    /// The name of account `uid` from the password database.
    static func accountName(_ uid: UInt32) -> String? {
        var entry = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 1024)
        guard getpwuid_r(uid, &entry, &buffer, buffer.count, &result) == 0, result != nil, let name = entry.pw_name else { return nil }
        return String(cString: name)
    }
}

/// A request context that can tell who is connected.
public protocol PeerAwareRequestContext: RequestContext {
    /// The connected process's credentials; nil when the transport cannot tell.
    func peer() async -> PeerCredentials?
}

extension PeerAwareRequestContext {
    /// Who to name in the audit log for an operation asked on this connection.
    func auditName() async -> String {
        (await peer())?.description ?? "unknown account"
    }
}

/// The request context of kioskd's Unix sockets: the basic context plus the peer's credentials.
public struct LocalRequestContext: PeerAwareRequestContext {
    public var coreContext: CoreRequestContextStorage
    private let channel: any Channel

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }

    /// `struct ucred` from `<sys/socket.h>`, which Glibc's module does not export.
    private struct UCred: Sendable {
        var pid: Int32 = 0
        var uid: UInt32 = 0
        var gid: UInt32 = 0
    }

    public func peer() async -> PeerCredentials? {
        guard let provider = channel as? any SocketOptionProvider else { return nil }
        let cred: UCred
        do {
            cred = try await provider.unsafeGetSocketOption(level: SocketOptionLevel(SOL_SOCKET), name: SocketOptionName(SO_PEERCRED)).get()
        } catch { return nil }
        return PeerCredentials(pid: cred.pid, uid: cred.uid, gid: cred.gid, userName: PeerCredentials.accountName(cred.uid))
    }
}
