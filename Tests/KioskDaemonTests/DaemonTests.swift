import Foundation
import Hummingbird
import KioskAPI
import KioskCore
@testable import KioskDaemon
import Testing
import TestSupport
import Yams

@Suite(.serialized) struct DaemonTests {
    static let holderID = "441900199003181234"
    static let holderName = "张三"

    @Test func aCardStartsASessionAndRemovingItEndsItAndWipesTheIdentity() async throws {
        let harness = try await DaemonHarness(gateway: try FakeGateway())
        var iterator = try await harness.subscribedEvents()
        try await harness.placeCard()
        let status = try await harness.client.status()
        #expect(status.session == CardHolderView(cardType: "resident", maskedName: "张*", maskedIdNumber: "441900********1234"))
        var seen: [KioskEvent] = []
        while let event = await iterator.next() {
            seen.append(event)
            if case .sessionStarted = event { break }
        }
        #expect(seen.contains(.sessionStarted(CardHolderView(cardType: "resident", maskedName: "张*", maskedIdNumber: "441900********1234"))))
        try await harness.removeCard()
        #expect(await harness.daemon.sessions.identity == nil)
        #expect(try await harness.client.status().session == nil)
        while let event = await iterator.next() {
            if case .sessionEnded(let reason) = event { #expect(reason == .cardRemoved); break }
        }
        let audit = harness.daemon.audit.recent()
        #expect(audit.map(\.action).contains("session.start"))
        #expect(audit.map(\.action).contains("session.end"))
        await harness.stop()
    }

    @Test func anIdleSessionIsWarnedThenEnded() async throws {
        let harness = try await DaemonHarness(gateway: try FakeGateway(), idleTimeout: 2)
        var iterator = try await harness.subscribedEvents()
        try await harness.placeCard()
        var warned = false, ended: SessionEndReason?
        while let event = await iterator.next() {
            if case .sessionWarning = event { warned = true }
            if case .sessionEnded(let reason) = event { ended = reason; break }
        }
        #expect(warned)
        #expect(ended == .timeout)
        #expect(await harness.daemon.sessions.identity == nil)
        await harness.stop()
    }

    @Test func theCitizenSocketRefusesTechnicianOperations() async throws {
        let harness = try await DaemonHarness(gateway: try FakeGateway())
        let citizen = harness.options.citizenSocket, technician = harness.options.technicianSocket
        let (code, _) = try harness.curl(citizen, "POST", "/v1/maintenance", body: #"{"on":true,"reason":"x"}"#)
        #expect(code == 404)
        #expect(try harness.curl(citizen, "GET", "/v1/audit").0 == 404)
        #expect(try harness.curl(technician, "GET", "/v1/status").0 == 200)
        // Socket modes: the technician socket is the owner's alone.
        let attributes = try FileManager.default.attributesOfItem(atPath: technician)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        #expect((try FileManager.default.attributesOfItem(atPath: citizen)[.posixPermissions] as? Int) == 0o660)
        await harness.stop()
    }

    @Test func everyRouteOfBothSocketsIsInTheOpenAPIDocument() async throws {
        let harness = try await DaemonHarness(gateway: try FakeGateway())
        let text = try String(contentsOfFile: BuiltProducts.repositoryPath("openapi/local-api.yaml"), encoding: .utf8)
        let paths = (try Yams.load(yaml: text) as? [String: Any])?["paths"] as? [String: [String: Any]] ?? [:]
        let documented = Set(paths.flatMap { path, operations in
            operations.keys.filter { ["get", "post", "put", "delete"].contains($0) }.map { "\($0.uppercased()) \(path)" }
        })
        let served = Set((harness.daemon.technicianRouter().routes + harness.daemon.citizenRouter().routes).map { "\($0.method) \($0.path)" })
        #expect(documented.count > 20)
        #expect(served.subtracting(documented).sorted() == [], "served but not documented")
        #expect(documented.subtracting(served).sorted() == [], "documented but not served")
        await harness.stop()
    }

    @Test func aClientWithoutPermissionOnASocketCannotConnect() async throws {
        let harness = try await DaemonHarness(gateway: try FakeGateway())
        // The run directory is traversable so that only the socket's own mode decides.
        chmod(harness.directory.path, 0o755)
        chmod(harness.options.runtimeDirectory.path, 0o755)
        let (code, _) = try harness.curl(harness.options.technicianSocket, "GET", "/v1/status", asUser: 65534)
        #expect(code == 0)
        let (citizenCode, _) = try harness.curl(harness.options.citizenSocket, "GET", "/v1/status", asUser: 65534)
        #expect(citizenCode == 0)
        // The technician socket made world-writable by mistake: the peer's credentials still decide.
        chmod(harness.options.technicianSocket, 0o666)
        let (opened, body) = try harness.curl(harness.options.technicianSocket, "GET", "/v1/status", asUser: 65534)
        #expect(opened == 403 && body.contains("not a technician"), "\(opened) \(body)")
        let (maintenance, _) = try harness.curl(harness.options.technicianSocket, "POST", "/v1/maintenance",
                                                body: #"{"on": true, "reason": "x"}"#, asUser: 65534)
        #expect(maintenance == 403)
        #expect(try harness.curl(harness.options.technicianSocket, "GET", "/v1/status").0 == 200)  // root
        await harness.stop()
    }

    @Test func technicianAccessFollowsThePeersAccountAndGroups() {
        let peer = { (uid: UInt32, gid: UInt32) in PeerCredentials(pid: 0, uid: uid, gid: gid, userName: nil) }
        #expect(TechnicianAccessMiddleware<LocalRequestContext>.allows(peer(0, 0), group: nil, ownUID: 999))
        #expect(TechnicianAccessMiddleware<LocalRequestContext>.allows(peer(999, 5), group: nil, ownUID: 999))
        #expect(!TechnicianAccessMiddleware<LocalRequestContext>.allows(peer(1000, 1000), group: nil, ownUID: 999))
        #expect(TechnicianAccessMiddleware<LocalRequestContext>.allows(peer(1000, 4242), group: 4242, ownUID: 999))
        #expect(!TechnicianAccessMiddleware<LocalRequestContext>.allows(peer(1000, 1000), group: 4242, ownUID: 999))
        // A group the citizen interface or the devices use is refused at start.
        #expect(TechnicianGroupRule.problem(technician: "yitiji-citizen", citizen: "yitiji-citizen") != nil)
        #expect(TechnicianGroupRule.problem(technician: "plugdev", citizen: "yitiji-citizen") != nil)
        #expect(TechnicianGroupRule.problem(technician: "yitiji-tech", citizen: "yitiji-citizen") == nil)
    }

    @Test func maintenanceModeEndsTheSessionAndIgnoresCards() async throws {
        let harness = try await DaemonHarness(gateway: try FakeGateway())
        try await harness.placeCard()
        #expect(try await harness.technician(.post, "/v1/maintenance", body: #"{"on":true}"#).0 == 400)
        let (code, body) = try await harness.technician(.post, "/v1/maintenance", body: #"{"on":true,"reason":"更换打印纸"}"#)
        #expect(code == 200)
        #expect(body.contains(#""maintenance":true"#))
        #expect(await harness.daemon.sessions.isActive == false)
        let status = try await harness.client.status()
        #expect(status.maintenance && status.maintenanceReason == "更换打印纸")
        _ = harness.simulator.control("remove")
        try await harness.readerPolled()
        _ = harness.simulator.control("place resident")
        try await harness.readerPolled(rounds: 3)
        #expect(await harness.daemon.sessions.isActive == false)
        await #expect(throws: CitizenAPIError.self) { _ = try await harness.client.searchEnterprises("演示市") }
        #expect(try await harness.technician(.post, "/v1/maintenance", body: #"{"on":false}"#).0 == 200)
        #expect(harness.daemon.audit.recent().contains { $0.action == "maintenance.on" && $0.detail == "更换打印纸" })
        // The audit log names the account the kernel reports for the connection, not a claimed name.
        let account = PeerContext.localAccount.description
        #expect(harness.daemon.audit.recent().filter { $0.action.hasPrefix("maintenance.") }.map(\.by) == [account, account])
        await harness.stop()
    }

    @Test func onlyTheLegalRepresentativeMayPrintTheLicence() async throws {
        let gateway = try FakeGateway()
        let harness = try await DaemonHarness(gateway: gateway)
        let uscc = await gateway.record.enterprise.uscc
        try await harness.placeCard("hkMacaoTaiwan")
        #expect(try await harness.client.checkFace().passed)
        do {
            _ = try await harness.client.preview(DocumentRequest(kind: "business-licence", uscc: uscc))
            Issue.record("a card holder who is not the legal representative got a licence preview")
        } catch let error as CitizenAPIError {
            #expect(error.messageKey == "licence.refused")
        }
        try await harness.removeCard()
        try await harness.placeCard("resident")
        #expect(try await harness.client.checkFace().passed)
        let preview = try await harness.client.preview(DocumentRequest(kind: "business-licence", uscc: uscc))
        #expect(preview.pages.joined().contains("统一社会信用代码：\(uscc)"))
        await harness.stop()
    }

    /// A kiosk with the CUPS test bed's printers polled and the resident's card placed.
    static func holderAtAKioskWithPrinters() async throws -> (CupsTestBed, FakeGateway, DaemonHarness) {
        let cups = try await offThePool { try CupsTestBed() }
        do {
            let gateway = try FakeGateway()
            let harness = try await DaemonHarness(gateway: gateway, cups: cups)
            try await waitFor("printers polled") { await harness.daemon.state.printers["a4"] != nil }
            try await harness.placeCard()
            // The verifier simulator beside the test runner: the holder is at the camera.
            #expect(try await harness.client.checkFace().passed)
            return (cups, gateway, harness)
        } catch {
            cups.stop()
            throw error
        }
    }

    /// The card is taken off (and another holder's placed) while the registry is being asked:
    /// nothing is printed for the departed holder.
    @Test func aPrintIsForTheHolderStillAtTheKiosk() async throws {
        let (cups, gateway, harness) = try await Self.holderAtAKioskWithPrinters()
        defer { cups.stop() }
        let uscc = await gateway.record.enterprise.uscc
        await gateway.setAuthorizeDelay(.seconds(2))
        let client = harness.client
        let printing = Task { try await client.print(DocumentRequest(kind: "business-licence", uscc: uscc), requestId: "req-swap-0001") }
        try await waitFor("the print's authorisation under way") { await gateway.authorizing > 0 }
        try await harness.removeCard()
        try await harness.placeCard("foreigner2023")
        do {
            let outcome = try await printing.value
            Issue.record("printed for a holder who left: \(outcome)")
        } catch let error as CitizenAPIError {
            #expect(error.messageKey == "card.needed", "\(error)")
        }
        #expect(cups.printed("a4").isEmpty)
        await harness.stop()
    }

    @Test func registryUnreachableIsSaidPlainly() async throws {
        let gateway = try FakeGateway()
        await gateway.setReachable(false)
        let harness = try await DaemonHarness(gateway: gateway)
        do {
            _ = try await harness.client.searchEnterprises("演示市")
            Issue.record("a search succeeded with the registry down")
        } catch let error as CitizenAPIError {
            #expect(error.messageKey == "registry.unreachable")
        }
        await harness.stop()
    }

    @Test func aWholeSessionPrintsAndRatesAndLeavesNoPersonalData() async throws {
        let (cups, gateway, harness) = try await Self.holderAtAKioskWithPrinters()
        defer { cups.stop() }
        let uscc = await gateway.record.enterprise.uscc
        let found = try await harness.client.searchEnterprises(uscc)
        #expect(found.results.first?.uscc == uscc)
        let licence = try await harness.client.print(DocumentRequest(kind: "business-licence", uscc: uscc), requestId: "req-licence-0001")
        #expect(licence.state == "completed")
        #expect(licence.messageKey == "print.done")
        // The same request again is the same job, not a second print.
        let again = try await harness.client.print(DocumentRequest(kind: "business-licence", uscc: uscc), requestId: "req-licence-0001")
        #expect(again.state == "completed")
        let certificate = try await harness.client.print(DocumentRequest(kind: "social-insurance-certificate"), requestId: "req-si-000001")
        #expect(certificate.state == "completed")
        try await waitFor("two jobs at the printer") { cups.printed("a4").count == 2 }
        let receipt = try await harness.client.submitApplication(ApplicationForm(
            proposedName: "演示市测试科技有限公司", type: "有限责任公司", registeredCapital: "人民币壹佰万元",
            address: "演示市高新区创业路1号", businessScope: "软件开发"))
        #expect(receipt.trackingNumber == "YT-TEST-1")
        #expect(receipt.receiptPrinted, "\(harness.log.text)")
        try await harness.client.rate(RatingSubmission(level: 2, reason: "等待时间长", serviceCode: "SC-LICENCE", formVersion: 1))
        await #expect(throws: CitizenAPIError.self) {
            try await harness.client.rate(RatingSubmission(level: 5, reason: nil, serviceCode: "SC-LICENCE", formVersion: 1))
        }
        await harness.client.endSession()
        #expect(await harness.daemon.sessions.identity == nil)
        // Without a card on the reader there is no visit to rate: no stream of fresh visit ids.
        for _ in 0..<3 {
            await #expect(throws: CitizenAPIError.self) {
                try await harness.client.rate(RatingSubmission(level: 5, reason: nil, serviceCode: "SC-LICENCE", formVersion: 1))
            }
        }

        let applications = await gateway.applications
        #expect(applications.first?.applicant.idNumber == Self.holderID)
        let ratings = await gateway.ratings
        #expect(ratings.count == 1)
        let records = await gateway.printRecords
        #expect(records.count >= 2)
        #expect(!String(describing: records).contains(Self.holderID))

        await harness.stop()
        // The keys that protect the state are not in it: a copy of the state alone reads nothing.
        let state = harness.directory.path + "/state"
        for key in StateKeys.names {
            #expect(!FileManager.default.fileExists(atPath: state + "/" + key), "\(key) lies beside the data it protects")
        }
        var keysInfo = stat()
        #expect(stat(state + "-keys", &keysInfo) == 0 && keysInfo.st_mode & 0o777 == 0o700)
        #expect(FileManager.default.fileExists(atPath: state + "-keys/audit.secret"))
        let written = try harness.everythingWritten()
        for secret in [Self.holderID, Self.holderName, "广东省东莞市南城街道鸿福路200号"] {
            #expect(written.range(of: Data(secret.utf8)) == nil, "\(secret) was written by kioskd")
        }
        #expect(harness.log.text.contains("print"))
    }
}

/// The keys that protect kioskd's state live apart from it.
@Suite struct KeysDirectoryTests {
    @Test func keysLeftInTheStateDirectoryMoveOutAndAnOpenDirectoryIsRefused() throws {
        let dir = try TemporaryDirectory(prefix: "keys")
        defer { dir.remove() }
        let state = dir.url.appendingPathComponent("state"), keys = dir.url.appendingPathComponent("keys")
        try FileManager.default.createDirectory(at: state, withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: state.path + "/outbox.key", contents: Data(repeating: 1, count: 32), attributes: [.posixPermissions: 0o600])
        _ = try KeysDirectory.prepare(keys, legacyStateDirectory: state)
        #expect(!FileManager.default.fileExists(atPath: state.path + "/outbox.key"))
        #expect(FileManager.default.contents(atPath: keys.path + "/outbox.key") == Data(repeating: 1, count: 32))
        chmod(keys.path, 0o755)
        #expect(throws: DaemonError.self) { try KeysDirectory.prepare(keys, legacyStateDirectory: state) }
        #expect(throws: DaemonError.self) { try KeysDirectory.prepare(state, legacyStateDirectory: state) }
    }

    @Test func anAuditLogWhoseSecretIsLostRefusesToStartAfresh() throws {
        let dir = try TemporaryDirectory(prefix: "audit-secret")
        defer { dir.remove() }
        let secret = dir.url.appendingPathComponent("keys-audit.secret")
        do {
            let audit = try AuditLog(stateDirectory: dir.url, secretFile: secret)
            audit.record(actor: "citizen", action: "print", subjectIdNumber: "441900199003181234")
        }
        try FileManager.default.removeItem(at: secret)
        #expect {
            try AuditLog(stateDirectory: dir.url, secretFile: secret)
        } throws: { "\($0)".contains(secret.path + " is missing") }
    }
}
