import Crypto
import Foundation
import Hummingbird
import HummingbirdCore
import ServiceLifecycle
import KioskCore
import Registry

/// What a kiosk asks of `GET /v1/config/announcements`: its site, the `etag` of the
/// announcements it holds, and how many seconds (0–60) it will wait for a change.
struct AnnouncementQuery: Sendable, Equatable {
    var site: String?
    var etag: String?
    var wait: Int

    /// The query of `uri`; a site that is not a kiosk identifier is a 400 problem.
    init(_ uri: URI) throws {
        let parameters = uri.queryParameters
        site = parameters.get("site")
        if let site, !KioskSignature.isValidKioskId(site) {
            throw Problem(status: .badRequest, code: "request.invalid", title: "Invalid site", detail: "site must be 1 to 64 of A-Z a-z 0-9 . _ -")
        }
        etag = parameters.get("etag")
        wait = min(max(parameters.get("wait", as: Int.self) ?? 0, 0), 60)
    }
}

/// One announcements request after its first look at the catalogue: what the kiosk is told if
/// nothing changes, and until when it may be held (nil: answer now).
struct AnnouncementPoll: Sendable {
    let kioskId: String
    let site: String?
    /// The etag the kiosk holds.
    let known: String?
    /// The catalogue revision the answer was made at.
    var revision: Int64
    /// The answer as of `revision`.
    var answer: ConfigAnnouncements
    /// When a held poll is answered unchanged; nil when it is answered at once.
    let deadline: ContinuousClock.Instant?
}

/// Answers the configuration announcements: opens a poll, follows the catalogue's changes and
/// finishes the answer (the publish's download spread, the signed freshness statement). A poll
/// is held either in its request's task (the router's route) or parked with no task at all
/// (`ConfigPollParking`, which the live server puts in front of the route).
final class AnnouncementDesk: Sendable {
    let catalogue: ConfigCatalogue
    let spread: ConfigSpread
    let timestampKey: Curve25519.Signing.PrivateKey?
    let validity: TimeInterval

    init(catalogue: ConfigCatalogue, options: RegistryOptions) {
        self.catalogue = catalogue
        spread = ConfigSpread(perSecond: options.bundleDownloadsPerSecond)
        timestampKey = options.timestampKey
        validity = options.statementValidity
    }

    /// The poll of `kioskId` asking `query`, as the catalogue stands now.
    func open(kioskId: String, query: AnnouncementQuery) async throws -> AnnouncementPoll {
        let (revision, answer) = try await catalogue.announcements(kioskId: kioskId, site: query.site)
        let held = query.etag != nil && query.etag == answer.etag && query.wait > 0
        return AnnouncementPoll(kioskId: kioskId, site: query.site, known: query.etag, revision: revision, answer: answer,
                                deadline: held ? ContinuousClock.now + .seconds(query.wait) : nil)
    }

    /// Follows `poll` to catalogue revision `revision`: true when the kiosk's bundles changed
    /// (answer it now), false when they are still the ones it holds (keep holding).
    func follow(_ poll: inout AnnouncementPoll, to revision: Int64) async throws -> Bool {
        poll.revision = revision
        poll.answer = ConfigAnnouncements.newest(of: try await catalogue.bundles(at: revision), kioskId: poll.kioskId, site: poll.site)
        return poll.answer.etag != poll.known
    }

    /// Holds `poll` in the calling task until the kiosk's bundles change or its deadline passes.
    /// A graceful stop (a rolling restart) ends the wait: the kiosk gets its answer now and polls
    /// again, on another replica or this one restarted, instead of a cut connection.
    func hold(_ poll: AnnouncementPoll) async throws -> ConfigAnnouncements {
        guard let deadline = poll.deadline else { return poll.answer }
        return try await cancelWhenGracefulShutdown {
            var poll = poll
            while let changed = await self.catalogue.waitForChange(after: poll.revision, until: deadline) {
                if try await self.follow(&poll, to: changed) { break }
            }
            return poll.answer
        }
    }

    /// `answer` as it is sent to `kioskId`: spread over the kiosks told together, and with its
    /// freshness statement when the registry has a timestamp key.
    func finish(_ answer: ConfigAnnouncements, kioskId: String) async throws -> ConfigAnnouncements {
        var answer = spread.apply(spread.seconds(herd: await catalogue.herd), to: answer)
        if let timestampKey {
            answer.statement = try freshnessStatement(for: answer, kioskId: kioskId, key: timestampKey, validity: validity)
        }
        return answer
    }
}
