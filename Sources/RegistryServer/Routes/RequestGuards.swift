import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import NIOSSL
import KioskCore
import NIOCore
import NIOHTTPTypes
import Registry

/// Answers 503 `store.unavailable` while the store's probe says the database does not answer
/// (every route but `GET /v1/health`, which says so itself), and turns an error that means the
/// database went away mid-request (`StoreUnavailable.isOutage`) into the same answer instead of a 500.
/// Kiosks retry 503 with their backoff; nothing was recorded.
public struct StoreOutageMiddleware<Context: RequestContext>: RouterMiddleware {
    let availability: StoreAvailability?

    public init(availability: StoreAvailability?) { self.availability = availability }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if let refusal = availability?.refusal, request.uri.path != "/v1/health" { throw refusal }
        do {
            return try await next(request, context)
        } catch let problem as Problem {
            throw problem
        } catch {
            throw StoreUnavailable.problem(for: error) ?? error
        }
    }
}

/// Refuses a request whose path is not in normal form before any routing: empty segments
/// (`//v1`), `.` and `..` segments, percent-encoded unreserved characters (`%76`), a trailing
/// slash, characters outside RFC 3986's path set, or a `/v1` prefix in another case. Routing
/// and authentication then see exactly one spelling of every route.
public struct CanonicalPathMiddleware<Context: RequestContext>: RouterMiddleware {
    public init() {}

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if let why = Self.problem(rawTarget: request.uri.string) {
            throw Problem(status: .badRequest, code: "request.path-invalid", title: "Path not in normal form",
                          detail: "\(why); send the path as the API spells it, e.g. /v1/enterprises/{uscc}")
        }
        return try await next(request, context)
    }

    /// Why the request target's path is not in normal form, or nil when it is.
    public static func problem(rawTarget: String) -> String? {
        let path = rawTarget.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
        guard path.utf8.count <= 2048 else { return "the path is over 2048 bytes" }
        guard path.hasPrefix("/") else { return "the path must start with /" }
        if path == "/" { return nil }
        let bytes = Array(path.utf8)
        var i = 0
        while i < bytes.count {
            let c = bytes[i]
            if c == UInt8(ascii: "%") {
                guard i + 2 < bytes.count, let hi = hexValue(bytes[i + 1]), let lo = hexValue(bytes[i + 2]) else {
                    return "the path holds a malformed percent escape"
                }
                let decoded = hi << 4 | lo
                if isUnreserved(decoded) { return "the path percent-encodes '\(Character(Unicode.Scalar(decoded)))', which must be sent as is" }
                i += 3
                continue
            }
            guard isUnreserved(c) || c == UInt8(ascii: "/") || isSubDelimOrColonAt(c) else {
                return "the path holds a character that must be percent-encoded"
            }
            i += 1
        }
        let segments = path.dropFirst().split(separator: "/", omittingEmptySubsequences: false)
        for segment in segments {
            if segment.isEmpty { return "the path has an empty segment (// or a trailing /)" }
            if segment == "." || segment == ".." { return "the path has a '\(segment)' segment" }
        }
        if let first = segments.first, first != "v1", first.lowercased() == "v1" { return "the version prefix is spelled /v1" }
        return nil
    }

    static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: return c - 0x30
        case 0x41...0x46: return c - 0x41 + 10
        case 0x61...0x66: return c - 0x61 + 10
        default: return nil
        }
    }

    static func isUnreserved(_ c: UInt8) -> Bool {
        (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A)
            || c == UInt8(ascii: "-") || c == UInt8(ascii: ".") || c == UInt8(ascii: "_") || c == UInt8(ascii: "~")
    }

    static func isSubDelimOrColonAt(_ c: UInt8) -> Bool {
        "!$&'()*+,;=:@".utf8.contains(c)
    }
}

/// Remembers the nonces of verified requests for as long as their timestamps are acceptable,
/// so that a captured request is refused the second time (`auth.replayed`). Bounded: when
/// `capacity` nonces are held, new requests are refused with 503 until old ones expire.
/// A nonce is held as a 64-bit keyed hash of kiosk and nonce (the hasher's seed is random per
/// process, so no one can make two requests collide on purpose): some 40 bytes each, so a fleet's
/// five minutes of requests fit in a few hundred megabytes at most.
public actor ReplayGuard {
    /// Each nonce's hash with the second from which it may be forgotten.
    private var seen: [UInt64: Int64] = [:]
    /// The hashes by that second: expiry walks the seconds passed, whatever order timestamps came
    /// in (kiosks' clocks differ by seconds; nothing is ever sorted).
    private var bySecond: [Int64: [UInt64]] = [:]
    /// Every second before this one has been expired.
    private var sweptTo: Int64?
    /// Most nonces held at once.
    public let capacity: Int

    /// A guard holding at most `capacity` nonces.
    public init(capacity: Int = 4_000_000) { self.capacity = max(1, capacity) }

    /// How many nonces are held now.
    public var count: Int { seen.count }

    /// Records the request's nonce; throws `SignatureFailure.replayed` when this kiosk already
    /// used it inside the window, or a 503 problem when the guard is full.
    public func admit(_ signed: SignedRequestHeaders, now: Date = Date()) throws {
        let nowSeconds = Int64(max(0, min(now.timeIntervalSince1970, 1e12)))
        expire(before: nowSeconds)
        var hasher = Hasher()
        hasher.combine(signed.kioskId)
        hasher.combine(signed.nonce)
        let key = UInt64(bitPattern: Int64(hasher.finalize()))
        guard seen[key] == nil else { throw SignatureFailure.replayed }
        guard seen.count < capacity else {
            throw Problem(statusCode: 503, code: "auth.busy", title: "Too many requests",
                          detail: "the registry is refusing new requests for a moment; try again in a few seconds")
        }
        // Acceptable until its timestamp leaves the skew window on the far side.
        let until = max(signed.seconds, nowSeconds) + Int64(KioskSignature.allowedSkew) + 1
        seen[key] = until
        bySecond[until, default: []].append(key)
    }

    private func expire(before now: Int64) {
        guard let from = sweptTo else {
            sweptTo = now
            return
        }
        guard now > from else { return }
        // After a long quiet spell, visit the seconds that hold nonces rather than every second passed.
        let seconds: [Int64] = now - from <= Int64(bySecond.count) ? Array(from..<now) : bySecond.keys.filter { $0 < now }
        for second in seconds {
            guard let keys = bySecond.removeValue(forKey: second) else { continue }
            for key in keys where seen[key] == second { seen[key] = nil }
        }
        sweptTo = now
    }
}

/// Closes a connection whose client is too slow or silent: the next request's head must arrive
/// within `headTimeout` of the connection opening or of the previous response, and its body
/// must be complete within `bodyTimeout` of the head. Handling time (a long poll) is not counted.
public final class RequestDeadlineHandler: ChannelDuplexHandler, RemovableChannelHandler {
    public typealias InboundIn = HTTPRequestPart
    public typealias InboundOut = HTTPRequestPart
    public typealias OutboundIn = HTTPResponsePart
    public typealias OutboundOut = HTTPResponsePart

    let headTimeout: TimeAmount
    let bodyTimeout: TimeAmount
    private var timer: Scheduled<Void>?
    private var inFlight = 0

    /// A handler with the given deadlines.
    public init(headTimeout: TimeAmount, bodyTimeout: TimeAmount) {
        self.headTimeout = headTimeout
        self.bodyTimeout = bodyTimeout
    }

    public func handlerAdded(context: ChannelHandlerContext) { arm(context: context, headTimeout) }

    public func handlerRemoved(context: ChannelHandlerContext) { disarm() }

    public func channelInactive(context: ChannelHandlerContext) {
        disarm()
        context.fireChannelInactive()
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            inFlight += 1
            arm(context: context, bodyTimeout)
        case .end:
            disarm()
        case .body:
            break
        }
        context.fireChannelRead(data)
    }

    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) {
            inFlight = max(0, inFlight - 1)
            if inFlight == 0 { arm(context: context, headTimeout) }
        }
        context.write(data, promise: promise)
    }

    private func arm(context: ChannelHandlerContext, _ amount: TimeAmount) {
        disarm()
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(in: amount) {
            loopBound.value.close(promise: nil)
        }
    }

    private func disarm() {
        timer?.cancel()
        timer = nil
    }
}

/// What one connection may cost registryd: how many are open at once, how long a client may
/// take to send a request's head and body, and how large its headers may be.
public struct ConnectionLimits: Sendable {
    /// Most connections open at once; more wait in the listen backlog.
    public var maxConnections: Int
    /// Time allowed for a request's head, from connecting or after the previous answer (idle
    /// keep-alive connections are closed after it too).
    public var headerTimeout: TimeAmount
    /// Time allowed for a request's body after its head.
    public var bodyTimeout: TimeAmount

    /// Limits with the given values.
    public init(maxConnections: Int = 4096, headerTimeout: TimeAmount = .seconds(20), bodyTimeout: TimeAmount = .seconds(30)) {
        self.maxConnections = maxConnections
        self.headerTimeout = headerTimeout
        self.bodyTimeout = bodyTimeout
    }

    /// HTTP/1.1 with the deadlines and small header limits (8 KiB a field, 32 KiB in all, 64 fields),
    /// over TLS when `tls` is given (the handshake counts against the head deadline).
    /// With `parking`, configuration polls are taken out of each connection after the deadlines' handler.
    public func server(tls: TLSConfiguration? = nil, parking: ConfigPollParking? = nil) throws -> HTTPServerBuilder {
        let (head, body) = (headerTimeout, bodyTimeout)
        let http1 = HTTPServerBuilder.http1(configuration: .init(
            additionalChannelHandlers: [RequestDeadlineHandler(headTimeout: head, bodyTimeout: body) as any RemovableChannelHandler]
                + (parking.map { [$0.handler()] } ?? []),
            httpDecoderConfiguration: .init(maxHeaderFieldSize: 8 << 10, maxHeaderListSize: 32 << 10, maxHeaderFieldCount: 64)))
        guard let tls else { return http1 }
        return try .tls(http1, tlsConfiguration: tls)
    }

    /// The server's TLS configuration from a PEM certificate chain and a PEM private key
    /// (TLS 1.2 at least). Throws a sentence naming the file that is wrong.
    public static func tlsConfiguration(certificateFile: String, keyFile: String) throws -> TLSConfiguration {
        let chain: [NIOSSLCertificate]
        do { chain = try NIOSSLCertificate.fromPEMFile(certificateFile) } catch {
            throw TLSSetupError("\(certificateFile): not a PEM certificate chain (\(error))")
        }
        guard !chain.isEmpty else { throw TLSSetupError("\(certificateFile): holds no certificate") }
        let key: NIOSSLPrivateKey
        do { key = try NIOSSLPrivateKey(file: keyFile, format: .pem) } catch {
            throw TLSSetupError("\(keyFile): not a PEM private key (\(error))")
        }
        var configuration = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        configuration.minimumTLSVersion = .tlsv12
        return configuration
    }


    /// The application configuration for `address`, with the connection cap. Raises the open-file
    /// limit to what the cap needs, where the hard limit allows.
    public func configuration(address: BindAddress) -> ApplicationConfiguration {
        var limit = rlimit()
        if getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 {
            let wanted = rlim_t(maxConnections + 256)
            if limit.rlim_cur < wanted {
                limit.rlim_cur = min(wanted, limit.rlim_max)
                _ = setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
            }
        }
        // A fleet reconnects at once after a restart: the kernel caps the backlog at somaxconn.
        return ApplicationConfiguration(address: address, serverName: nil, backlog: 8192,
                                        availableConnectionsDelegate: MaximumAvailableConnections(maxConnections))
    }
}

/// registryd's TLS files could not be used.
public struct TLSSetupError: Error, CustomStringConvertible {
    public let description: String
    init(_ text: String) { description = text }
}

/// Token buckets per client address: `burst` requests at once, refilled at `perSecond`. Holds at
/// most `capacity` addresses; the longest idle are forgotten first.
public actor RateLimiter {
    struct Bucket { var tokens: Double; var at: Double }
    private var buckets: [String: Bucket] = [:]
    let burst: Double
    let perSecond: Double
    let capacity: Int

    /// A limiter of `burst` requests refilled at `perSecond`, for at most `capacity` addresses.
    public init(burst: Int, perSecond: Double, capacity: Int = 100_000) {
        self.burst = Double(max(1, burst))
        self.perSecond = max(0.001, perSecond)
        self.capacity = max(1, capacity)
    }

    /// Takes a token for `client`; false when it has none left.
    public func admit(_ client: String, now: Double = Date().timeIntervalSince1970) -> Bool {
        var bucket = buckets[client] ?? Bucket(tokens: burst, at: now)
        bucket.tokens = min(burst, bucket.tokens + max(0, now - bucket.at) * perSecond)
        bucket.at = now
        let admitted = bucket.tokens >= 1
        if admitted { bucket.tokens -= 1 }
        if buckets[client] == nil, buckets.count >= capacity {
            // Forget the buckets idle longest (full again by now, most likely).
            for (key, _) in buckets.sorted(by: { $0.value.at < $1.value.at }).prefix(capacity / 10 + 1) { buckets[key] = nil }
        }
        buckets[client] = bucket
        return admitted
    }
}
