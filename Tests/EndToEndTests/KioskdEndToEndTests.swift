import Foundation
import GRDB
import KioskCore
import Registry
import TestSupport
import Testing

/// The real kioskd with the emulated USB reader, a private cupsd and a real registryd on loopback
/// with a real SQLite file.
@Suite(.serialized) struct KioskdEndToEndTests {
    static let kioskId = "demo-kiosk-01"
    static let holderID = "441900199003181234"
    static let holderName = "张三"
    static let uscc = "91441900100000008X"

    @Test func aWholeVisitReachesTheRegistryAndLeavesNoPersonalDataBehind() throws {
        let bed = try KioskStack()
        defer { bed.stop() }
        try bed.reader.control("place resident")
        #expect(eventually(10) { bed.citizen("GET", "/v1/status").1.contains("张*") })
        var (code, body) = bed.citizen("GET", "/v1/enterprises?q=\(Self.uscc)")
        #expect(code == 200 && body.contains(Self.uscc), "\(body)")
        (code, body) = bed.citizen("POST", "/v1/face-checks")
        #expect(code == 200 && body.contains(#""outcome":"passed""#), "\(body)")
        (code, body) = bed.citizen("POST", "/v1/prints", #"{"request":{"kind":"business-licence","uscc":"\#(Self.uscc)"},"requestId":"e2e-licence-1"}"#)
        #expect(code == 200 && body.contains(#""state":"completed""#), "\(body)\n\(bed.kioskd.process.log.suffix(2000))")
        (code, body) = bed.citizen("POST", "/v1/prints", #"{"request":{"kind":"social-insurance-certificate"},"requestId":"e2e-si-0001"}"#)
        #expect(code == 200 && body.contains(#""state":"completed""#), "\(body)")
        #expect(eventually(20) { bed.cups.printed("a4").count == 2 })
        (code, body) = bed.citizen("POST", "/v1/applications", #"{"proposedName":"演示市测试科技有限公司","type":"有限责任公司","registeredCapital":"人民币壹佰万元","address":"演示市高新区创业路1号","businessScope":"软件开发"}"#)
        #expect(code == 200 && body.contains("YT-demo-kiosk-01-") && body.contains(#""receiptPrinted":true"#), "\(body)")
        #expect(body.contains("registryNumber"), "online, the registry's number comes at once: \(body)")
        (code, _) = bed.citizen("POST", "/v1/ratings", #"{"level":5,"serviceCode":"SC-LICENCE","formVersion":1}"#)
        #expect(code == 204)
        _ = bed.citizen("POST", "/v1/session/end")
        #expect(eventually(15) { ((try? bed.submissions("ratings").count) ?? 0) == 1 && ((try? bed.submissions("print-records").count) ?? 0) >= 2 },
                "\((try? bed.submissions("ratings").count) ?? -1) ratings, \((try? bed.submissions("print-records").count) ?? -1) print records; \(bed.kioskd.curl(bed.kioskd.technicianSocket, "GET", "/v1/queue").1)")
        #expect(try bed.submissions("applications").count == 1)
        let technician = bed.kioskd.curl(bed.kioskd.technicianSocket, "GET", "/v1/queue").1
        #expect(technician.contains("streams"), "\(technician)")
        let metrics = bed.metrics()
        for line in [#"yitiji_prints_total{outcome="completed"} 3"#, "yitiji_sessions_total 1", "yitiji_card_reads_total 1",
                     "yitiji_outbox_depth", "yitiji_registry_request_seconds_count", "yitiji_reader_connected 1",
                     "# TYPE yitiji_registry_request_seconds histogram", #"yitiji_registry_request_seconds_bucket{le="+Inf"}"#,
                     #"yitiji_print_duration_seconds_count{role="a4",outcome="completed"} 2"#,
                     #"yitiji_print_duration_seconds_count{role="receipt",outcome="completed"} 1"#,
                     #"yitiji_build_info{version=""#, #"yitiji_printer_paper{role="a4",state="ok"} 1"#,
                     #"yitiji_printer_paper{role="a4",state="out"} 0"#, #"yitiji_printer_device{role="receipt",state="online"} "#, #"yitiji_printer_toner{role="a4",state="out"} 0"#,
                     "yitiji_config_generation 0"] {
            #expect(metrics.contains(line), "\(line) missing from\n\(metrics)")
        }

        // Someone who is not the legal representative is refused the licence.
        try bed.reader.control("place hkMacaoTaiwan")
        #expect(eventually(10) { bed.citizen("GET", "/v1/status").1.contains("maskedName") })
        _ = bed.citizen("POST", "/v1/face-checks")
        (code, body) = bed.citizen("POST", "/v1/documents/preview", #"{"kind":"business-licence","uscc":"\#(Self.uscc)"}"#)
        #expect(code == 422 && body.contains("licence.refused"), "\(body)")
        try bed.reader.control("remove")

        // SIGTERM: every service (relay, heartbeat, registry watch, printers, sockets) stops at
        // once, not after its interval; kioskd exits 0.
        let stopping = Date()
        let status = bed.kioskd.process.stop(signal: SIGTERM, seconds: 30)
        #expect(Date().timeIntervalSince(stopping) < 5, "graceful stop took \(Date().timeIntervalSince(stopping)) s")
        #expect(status & 0x7f == 0 && (status >> 8) & 0xff == 0, "wait status \(status)")
        // The card holder's name also stands, as legal representative, in the enterprise's public
        // record, which the query cache may keep; it must appear nowhere else.
        var written = Data(bed.kioskd.process.log.utf8), writtenOutsideCache = written
        let fm = FileManager.default
        for name in (try? fm.subpathsOfDirectory(atPath: bed.kioskd.stateDirectory)) ?? [] {
            if let data = fm.contents(atPath: bed.kioskd.stateDirectory + "/" + name) {
                written.append(data)
                if !name.hasPrefix("cache.sqlite") { writtenOutsideCache.append(data) }
            }
        }
        if let range = writtenOutsideCache.range(of: Data(Self.holderName.utf8)) {
            Issue.record("the card holder's name was written: …\(String(decoding: writtenOutsideCache[max(0, range.lowerBound - 200)..<min(writtenOutsideCache.count, range.upperBound + 50)], as: UTF8.self))")
        }
        for secret in [Self.holderID, "广东省东莞市南城街道鸿福路200号", "19900318"] {
            if let range = written.range(of: Data(secret.utf8)) {
                Issue.record("\(secret) was written by kioskd: …\(String(decoding: written[max(0, range.lowerBound - 300)..<min(written.count, range.upperBound + 100)], as: UTF8.self))…")
            }
        }
    }

    @Test func withTheRegistryDownTheCitizenGetsAReceiptAndEverythingArrivesLater() throws {
        let bed = try KioskStack(registryRunning: false)
        defer { bed.stop() }
        try bed.reader.control("place resident")
        #expect(eventually(10) { bed.citizen("GET", "/v1/status").1.contains("张*") })
        var (code, body) = bed.citizen("GET", "/v1/enterprises?q=%E6%BC%94%E7%A4%BA%E5%B8%82")
        #expect(code == 422 && body.contains("registry.unreachable"), "\(code) \(body)")
        var tracking: [String] = []
        for i in 1...3 {
            (code, body) = bed.citizen("POST", "/v1/applications", #"{"proposedName":"演示市离线\#(i)号有限公司","type":"有限责任公司","registeredCapital":"人民币壹拾万元","address":"演示市某路\#(i)号","businessScope":"咨询"}"#)
            #expect(code == 200 && !body.contains("registryNumber") && body.contains(#""receiptPrinted":true"#), "\(code) \(body)")
            if let range = body.range(of: #"YT-[A-Za-z0-9.-]+-\d{8}-\d{6}"#, options: .regularExpression) { tracking.append(String(body[range])) }
        }
        #expect(tracking.count == 3)
        (code, body) = bed.citizen("POST", "/v1/ratings", #"{"level":1,"reason":"系统太慢","serviceCode":"SC-APPLY","formVersion":1}"#)
        #expect(code == 204, "\(body)")
        try bed.reader.control("remove")
        let queued = bed.kioskd.curl(bed.kioskd.technicianSocket, "GET", "/v1/queue").1
        #expect(queued.contains(#""depth":3"#), "\(queued)")

        // The technician purges the rating with kioskctl: it asks first (no terminal: refused without
        // --yes), and the audit log names the account the kernel reports, not a claimed name.
        let kioskctl = BuiltProducts.path("kioskctl"), socket = ["--socket", bed.kioskd.technicianSocket]
        let listed = try ProcessRunner.run(kioskctl, ["queue", "list", "--stream", "ratings", "--json"] + socket)
        let items = try JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [[String: Any]] ?? []
        let ratingID = try #require(items.first?["id"] as? Int, "\(listed.stdout) \(listed.stderr)")
        let unasked = try ProcessRunner.run(kioskctl, ["queue", "purge", "\(ratingID)", "--reason", "重复评价"] + socket)
        #expect(unasked.status == 2 && unasked.stderr.contains("--yes"), "\(unasked.stderr)")
        let purged = try ProcessRunner.run(kioskctl, ["queue", "purge", "\(ratingID)", "--reason", "重复评价", "--yes"] + socket,
                                           environment: ["SUDO_USER": "somebody-else"])
        #expect(purged.status == 0, "\(purged.stdout) \(purged.stderr)")
        let account = getpwuid(getuid()).map { String(cString: $0.pointee.pw_name) } ?? "uid \(getuid())"
        let audit = try ProcessRunner.run(kioskctl, ["audit", "--actor", "technician"] + socket)
        #expect(audit.status == 0 && audit.stdout.contains("queue.purge  by \(account) (uid \(getuid()))  item \(ratingID): 重复评价"),
                "\(audit.stdout) \(audit.stderr)")
        #expect(!audit.stdout.contains("session.start"), "only the technician's entries")
        let status = try ProcessRunner.run(kioskctl, ["queue", "status"] + socket)
        #expect(status.status == 0 && status.stdout.range(of: #"(?m)^ratings +0 "#, options: .regularExpression) != nil, "\(status.stdout)")

        try bed.registry.start()
        #expect(eventually(40) { ((try? bed.submissions("applications").count) ?? 0) == 3 })
        let delivered = try bed.submissions("applications").map { $0["tracking_number"] as String? ?? "" }
        #expect(delivered == tracking, "in order, each once")
        #expect(try bed.submissions("ratings").isEmpty, "the purged rating never reaches the registry")
    }

    /// Stops kioskd and queues `count` ratings in its outbox, as a kiosk that was offline for a
    /// while would hold them.
    static func queueRatingsWhileStopped(_ bed: KioskStack, count: Int) throws {
        bed.kioskd.stop()
        let state = bed.kioskd.stateDirectory
        let outbox = try Outbox(path: state + "/outbox.sqlite", keyFile: state + "-keys/outbox.key", kioskId: kioskId)
        for i in 0..<count {
            try outbox.enqueue(.ratings, RatingRecord(visitId: "visit-\(i)", level: 1 + i % 5, reason: "原因\(i)", serviceCode: "SC-\(i % 4)",
                                                      formVersion: 1, ratedAt: Date()))
        }
    }

    @Test func sigkillWhileDrainingDeliversEveryItemExactlyOnce() throws {
        let bed = try KioskStack(registryRunning: false)
        defer { bed.stop() }
        let total = 300
        try Self.queueRatingsWhileStopped(bed, count: total)
        try bed.registry.start()
        var kills = 0
        for round in 0..<8 {
            bed.kioskd = try bed.kioskd.restart(environment: bed.environment)
            usleep(UInt32(150_000 + round * 40_000))
            bed.kioskd.process.stop(signal: SIGKILL)
            kills += 1
            if (try? bed.submissions("ratings").count) == total { break }
        }
        bed.kioskd = try bed.kioskd.restart(environment: bed.environment)
        #expect(eventually(40) { ((try? bed.submissions("ratings").count) ?? 0) == total }, "after \(kills) SIGKILLs")
        let rows = try bed.submissions("ratings")
        let visits = rows.compactMap { row -> String? in
            guard let body: String = row["body"], let data = body.data(using: .utf8),
                  let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return nil }
            return object["visitId"] as? String
        }
        #expect(Set(visits).count == total && rows.count == total, "every rating exactly once")
        #expect(kills >= 1)
    }

    /// The worst moment for the daemon's threads: the relay draining a long outbox while every
    /// client asks at once (technician status, queue, items and metrics, the citizen's status and
    /// interface), many more requests than the concurrency pool has threads. Every one is answered,
    /// and SIGTERM still ends kioskd at once.
    @Test func everyClientAskingAtOnceDuringADrainIsAnswered() throws {
        let bed = try KioskStack(registryRunning: false)
        defer { bed.stop() }
        try Self.queueRatingsWhileStopped(bed, count: 400)
        try bed.registry.start()
        bed.kioskd = try bed.kioskd.restart(environment: bed.environment, arguments: ["--metrics-port", String(bed.metricsPort)])
        let asks: [(technician: Bool, path: String)] = [(true, "/v1/status"), (true, "/v1/queue"), (true, "/v1/queue/items?limit=50"),
                                                        (false, "/v1/status"), (false, "/v1/interface"), (true, "/v1/queue/items?dead=true")]
        let answers = Locked([Int](repeating: 0, count: 60))
        let done = DispatchGroup()
        let kioskd = bed.kioskd, metrics = "http://127.0.0.1:\(bed.metricsPort)/metrics"
        for i in 0..<60 {
            done.enter()
            Thread {
                defer { done.leave() }
                let ask = asks[i % asks.count]
                let code = i % 10 == 9
                    ? Int((try? ProcessRunner.run("/usr/bin/curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "20", metrics],
                                                  timeout: 30))?.stdout ?? "") ?? 0
                    : kioskd.curl(ask.technician ? kioskd.technicianSocket : kioskd.citizenSocket, "GET", ask.path).0
                answers.withLock { $0[i] = code }
            }.start()
        }
        #expect(done.wait(timeout: .now() + 90) == .success, "requests still unanswered after 90 s")
        let codes = answers.withLock { $0 }
        #expect(codes.allSatisfy { $0 == 200 }, "answers: \(codes)")
        #expect(eventually(60) { ((try? bed.submissions("ratings").count) ?? 0) == 400 })
        let stopping = Date()
        bed.kioskd.process.stop(signal: SIGTERM, seconds: 30)
        #expect(Date().timeIntervalSince(stopping) < 5, "graceful stop took \(Date().timeIntervalSince(stopping)) s")
    }
}

/// `kioskctl diag` against the whole kiosk: every row ok, then the registry forgetting the kiosk.
@Suite(.serialized) struct DiagWithKioskdTests {
    func diag(_ bed: KioskStack) throws -> (Int32, String) {
        let r = try ProcessRunner.run(BuiltProducts.path("kioskctl"),
                                      ["diag", "--json", "--socket", bed.kioskd.technicianSocket, "--state-dir", bed.kioskd.stateDirectory,
                                       "--runtime-dir", bed.kioskd.runtimeDirectory, "--config", bed.kioskd.configDirectory],
                                      environment: bed.environment, timeout: 60)
        return (r.status, r.stdout)
    }

    @Test func everyCheckPassesOnAHealthyKioskAndAnUnregisteredKioskIsNamed() throws {
        let bed = try KioskStack()
        defer { bed.stop() }
        _ = eventually(10) { bed.technician("GET", "/v1/diagnostics/heartbeat").1.contains("lastAcceptedAt") }
        var (code, json) = try diag(bed)
        // Every check passes; the keys row warns that this demonstration kiosk trusts the
        // demonstration keys (kioskd runs with --demo), which a real kiosk never does.
        struct Rows: Decodable { struct Row: Decodable { let id: String; let status: String; let detail: String }; let checks: [Row] }
        let rows = try JSONDecoder().decode(Rows.self, from: Data(json.utf8)).checks
        #expect(code == 1 && rows.filter { $0.status != "ok" }.map(\.id) == ["keys"], "\(json)")
        #expect(rows.first { $0.id == "keys" }?.detail.contains("demonstration") == true, "\(json)")
        #expect(json.contains("accepted by the registry"), "\(json)")
        let removed = try ProcessRunner.run(BuiltProducts.path("registryd"),
                                            ["kiosk", "remove", KioskStack.kioskId, "--yes", "--db", bed.registry.database], timeout: 30)
        #expect(removed.status == 0)
        (code, json) = try diag(bed)
        #expect(code == 2 && json.contains("the registry does not know this kiosk") && json.contains("registryd kiosk add demo-kiosk-01"),
                "\(json)")
    }
}
