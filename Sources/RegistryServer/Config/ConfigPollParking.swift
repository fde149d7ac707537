import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import KioskCore
import Metrics
import NIOCore
import NIOHTTPTypes
import Registry

/// Holds the fleet's configuration long polls below the HTTP server's per-connection task.
///
/// A poll held in its request's task keeps that task's asynchronous stack (about 12 KiB) for as
/// long as it is held, and the connection's task keeps its largest stack for as long as the
/// connection lives. A fleet holds one poll per kiosk all the time, so `ConfigPollHandler` takes
/// `GET /v1/config/announcements` out of the connection before the server sees it: a short task
/// checks the signature and opens the poll; a poll to hold is then parked in the catalogue as a
/// callback, with no task at all, and its answer is written to the connection when a change or
/// its deadline wakes it. The answer is the route's, byte for byte; the route itself still
/// answers a poll the handler passes on (one behind another request on a connection).
public final class ConfigPollParking: Sendable {
    /// The one path taken, exactly as the API spells it.
    static let path = "/v1/config/announcements"

    let desk: AnnouncementDesk
    let authenticator: RequestAuthenticator
    let availability: StoreAvailability?

    init(desk: AnnouncementDesk, authenticator: RequestAuthenticator, availability: StoreAvailability?) {
        self.desk = desk
        self.authenticator = authenticator
        self.availability = availability
    }

    /// A handler for one connection, after the HTTP codec.
    public func handler() -> any RemovableChannelHandler { ConfigPollHandler(parking: self) }

    /// Whether `head` is a poll taken here: a GET of exactly the path, with no body.
    func takes(_ head: HTTPRequest) -> Bool {
        guard head.method == .get, let target = head.path else { return false }
        let path = target.utf8.firstIndex(of: UInt8(ascii: "?")).map { target[..<$0] } ?? target[...]
        guard path == Self.path else { return false }
        if let length = head.headerFields[.contentLength], length != "0" { return false }
        return head.headerFields[.transferEncoding] == nil
    }

    /// Answers the poll of `head` through `reply`: at once, or when the catalogue wakes it.
    func start(_ head: HTTPRequest, ticket: PollTicket, reply: @escaping @Sendable (PollReply) -> Void) {
        Task {
            do {
                if let refusal = availability?.refusal { throw refusal }
                let values = { (name: String) in RegistryRoutes.values(name, in: head.headerFields) }
                let signer: RequestSigner
                do {
                    let admission = try await authenticator.admit(values)
                    signer = try await authenticator.verify(admission, method: head.method.rawValue, target: head.path ?? "/",
                                                            body: ByteBuffer())
                } catch let failure as SignatureFailure {
                    throw failure.problem
                }
                guard signer.role == .kiosk else { throw RegistryRequestContext.wrongRole(signer.id, signer.role, wanted: [.kiosk]) }
                let poll = try await desk.open(kioskId: signer.id, query: try AnnouncementQuery(URI(head.path ?? "/")))
                guard poll.deadline != nil else { return reply(await answer(poll)) }
                await park(poll, ticket: ticket, reply: reply)
            } catch {
                reply(PollReply(error))
            }
        }
    }

    /// Parks `poll` in the catalogue, or answers it now when the connection is being quiesced.
    func park(_ poll: AnnouncementPoll, ticket: PollTicket, reply: @escaping @Sendable (PollReply) -> Void) async {
        switch ticket.park(poll) {
        case .gone: return
        case .answerNow: return reply(await answer(poll))
        case .parked: break
        }
        guard let deadline = poll.deadline else { return reply(await answer(poll)) }
        await desk.catalogue.park(after: poll.revision, until: deadline, isGone: { ticket.isGone }) { changed in
            Task { await self.woken(poll, by: changed, ticket: ticket, reply: reply) }
        }
    }

    /// A parked poll woken by revision `changed` (nil: its deadline passed).
    func woken(_ poll: AnnouncementPoll, by changed: Int64?, ticket: PollTicket, reply: @escaping @Sendable (PollReply) -> Void) async {
        guard !ticket.isGone else { return }
        var poll = poll
        do {
            if let changed, try await !desk.follow(&poll, to: changed), let deadline = poll.deadline, ContinuousClock.now < deadline {
                return await park(poll, ticket: ticket, reply: reply)
            }
            reply(await answer(poll))
        } catch {
            reply(PollReply(error))
        }
    }

    /// The answer to `poll` as it stands, finished for sending.
    func answer(_ poll: AnnouncementPoll) async -> PollReply {
        do {
            return PollReply(json: try RegistryJSON.encoder().encode(try await desk.finish(poll.answer, kioskId: poll.kioskId)))
        } catch {
            return PollReply(error)
        }
    }
}

/// An answer to a parked poll, as it goes on the wire.
struct PollReply: Sendable {
    var status: HTTPResponse.Status
    var contentType: String
    var body: Data

    init(json: Data) {
        status = .ok
        contentType = "application/json"
        body = json
    }

    /// The problem the route would have answered for `error`.
    init(_ error: any Error) {
        let problem = error as? Problem ?? StoreUnavailable.problem(for: error)
            ?? Problem(status: .internalServerError, code: "internal", title: "Internal error", detail: "the registry could not answer; try again later")
        status = problem.status
        contentType = "application/problem+json"
        body = (try? RegistryJSON.encoder().encode(problem)) ?? Data()
    }
}

/// Where one parked poll stands; shared by its connection's handler (on the event loop) and the
/// tasks that authenticate, park and wake it.
final class PollTicket: Sendable {
    enum State {
        /// Being authenticated and opened.
        case starting
        /// Parked in the catalogue.
        case parked(AnnouncementPoll)
        /// The connection is being quiesced: answer now, park no more.
        case quiescing
        /// Answered, or its connection closed.
        case gone
    }

    enum Parking { case parked, answerNow, gone }

    private let state = Locked(State.starting)

    /// True once nothing more is to be done for the poll here.
    var isGone: Bool {
        state.withLock { if case .parked = $0 { return false }; if case .starting = $0 { return false }; return true }
    }

    /// Records `poll` as parked, unless the connection is being quiesced or is gone.
    func park(_ poll: AnnouncementPoll) -> Parking {
        state.withLock { state in
            switch state {
            case .starting, .parked:
                state = .parked(poll)
                return .parked
            case .quiescing: return .answerNow
            case .gone: return .gone
            }
        }
    }

    /// The server is stopping: the parked poll (nil while it is still starting; it will be
    /// answered instead of parked) to answer now unchanged.
    func quiesce() -> AnnouncementPoll? {
        state.withLock { state in
            switch state {
            case .parked(let poll):
                state = .quiescing
                return poll
            case .starting:
                state = .quiescing
                return nil
            case .quiescing, .gone: return nil
            }
        }
    }

    /// The poll was answered or its connection closed.
    func end() { state.withLock { $0 = .gone } }
}

/// Takes configuration polls out of one HTTP/1.1 connection before the server's task sees them
/// (see `ConfigPollParking`). Requests before or behind a poll keep their order: a poll that
/// arrives while another request is being answered is passed on to the server, and requests sent
/// behind a poll being held wait until it is answered (up to `behindLimit` bytes of them; a
/// client pipelining more behind a held poll is cut off).
final class ConfigPollHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    let parking: ConfigPollParking
    /// Requests passed on to the server whose answers have not ended.
    private var passedOn = 0
    /// The poll taken: its head until its end was read, then its ticket (the head is not kept
    /// while the poll is held: only whether the client asked to close after the answer).
    private var poll: (head: HTTPRequest?, ticket: PollTicket?, closing: Bool, started: ContinuousClock.Instant)?
    /// Parts that arrived behind the poll, handed on after its answer.
    private var behind: [HTTPRequestPart] = []
    private var behindBytes = 0
    /// Most bytes of requests kept behind a poll.
    static let behindLimit = 64 << 10
    /// The server asked the connection to close when idle; passed on once the poll is answered.
    private var quiesceEvent: Any?

    init(parking: ConfigPollParking) { self.parking = parking }

    /// Every connection keeps a receive buffer of the size its reads start at (NIO's default: 2
    /// KiB). A fleet's connections mostly carry small signed requests and wait: they start at
    /// 1 KiB, which still holds a poll whole, and grow as larger bodies arrive.
    func handlerAdded(context: ChannelHandlerContext) {
        let sizing = AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 1024, maximum: 65536)
        _ = try? context.channel.syncOptions?.setOption(ChannelOptions.recvAllocator, value: sizing)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        if poll != nil {
            if case .end = part, poll?.ticket == nil, behind.isEmpty {
                start(context: context)
            } else if case .body = part, poll?.ticket == nil, behind.isEmpty {
                // A poll has no body; the head said so, so there is none to read.
            } else {
                behind.append(part)
                switch part {
                case .head(let head): behindBytes += 64 + (head.path?.utf8.count ?? 0) + head.headerFields.reduce(0) { $0 + $1.name.rawName.utf8.count + $1.value.utf8.count }
                case .body(let bytes): behindBytes += bytes.readableBytes
                case .end: behindBytes += 8
                }
                if behindBytes > Self.behindLimit { context.close(promise: nil) }
            }
            return
        }
        switch part {
        case .head(let head) where passedOn == 0 && parking.takes(head):
            poll = (head, nil, head.headerFields[.connection]?.lowercased().contains("close") ?? false, .now)
        case .head:
            passedOn += 1
            context.fireChannelRead(data)
        case .body, .end:
            context.fireChannelRead(data)
        }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) { passedOn = max(0, passedOn - 1) }
        context.write(data, promise: promise)
    }

    func channelInactive(context: ChannelHandlerContext) {
        poll?.ticket?.end()
        poll = nil
        (behind, behindBytes) = ([], 0)
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        poll?.ticket?.end()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard event is ChannelShouldQuiesceEvent, let poll else { return context.fireUserInboundEventTriggered(event) }
        quiesceEvent = event
        if let ticket = poll.ticket, let parked = ticket.quiesce() {
            let (parking, reply) = (parking, replier(context: context, ticket: ticket))
            Task { reply(await parking.answer(parked)) }
        }
    }

    private func start(context: ChannelHandlerContext) {
        guard let head = poll?.head else { return }
        let ticket = PollTicket()
        poll?.ticket = ticket
        poll?.head = nil
        if quiesceEvent != nil { _ = ticket.quiesce() }
        parking.start(head, ticket: ticket, reply: replier(context: context, ticket: ticket))
    }

    /// Writes a reply to `ticket`'s poll on the event loop, once.
    private func replier(context: ChannelHandlerContext, ticket: PollTicket) -> @Sendable (PollReply) -> Void {
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        return { reply in
            bound.eventLoop.execute {
                let (handler, context) = bound.value
                handler.send(reply, for: ticket, context: context)
            }
        }
    }

    private func send(_ reply: PollReply, for ticket: PollTicket, context: ChannelHandlerContext) {
        guard let poll, poll.ticket === ticket else { return }
        self.poll = nil
        ticket.end()
        var head = HTTPResponse(status: reply.status)
        head.headerFields[.contentType] = reply.contentType
        head.headerFields[.contentLength] = String(reply.body.count)
        let close = poll.closing
        if close { head.headerFields[.connection] = "close" }
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(ByteBuffer(bytes: reply.body))), promise: nil)
        let written = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: written)
        Self.record(reply.status, since: poll.started)
        if close {
            written.futureResult.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
            return
        }
        if let event = quiesceEvent {
            quiesceEvent = nil
            written.futureResult.assumeIsolated().whenComplete { _ in context.fireUserInboundEventTriggered(event) }
        }
        // Hand on what arrived behind the poll (another poll among it is taken again).
        let waiting = behind
        (behind, behindBytes) = ([], 0)
        guard !waiting.isEmpty else { return }
        for part in waiting { channelRead(context: context, data: wrapInboundOut(part)) }
        // The server's side takes in what it was handed when a read completes.
        context.fireChannelReadComplete()
    }

    /// The route's request metrics, as the server's metrics middleware records them.
    private static func record(_ status: HTTPResponse.Status, since started: ContinuousClock.Instant) {
        let dimensions = [("http.route", ConfigPollParking.path), ("http.request.method", "GET"),
                          ("http.response.status_code", String(status.code))]
        Counter(label: "hb.requests", dimensions: dimensions).increment()
        let elapsed = ContinuousClock.now - started
        Metrics.Timer(label: "http.server.request.duration", dimensions: dimensions, preferredDisplayUnit: .seconds)
            .recordNanoseconds(elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000)
    }
}
