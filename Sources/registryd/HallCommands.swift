import ArgumentParser
import Foundation
import KioskCore
import Registry
import RegistryServer

/// The hall staff's commands: call the next number, see the queues.
struct Hall: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Call numbers and see the queues of a service hall.",
        discussion: """
            Exit codes: 0 done; 1 nobody waiting; 2 bad arguments.
            Examples:
              registryd hall call --site hall-1 --queue A --counter 3 --db registry.sqlite
              registryd hall status --site hall-1 --db registry.sqlite
            """,
        subcommands: [Call.self, Status.self])

    static func hallStore(_ store: any RegistryStore) throws -> any HallStore {
        guard let hall = store as? any HallStore else { throw ValidationError("this store keeps no hall") }
        return hall
    }

    static func checkSite(_ site: String) throws {
        guard HallNames.isSite(site) else { throw ValidationError("--site must be 1 to 64 of A-Z a-z 0-9 . _ -, not '\(site.prefix(70))'") }
    }

    struct Call: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Call the next number of a queue to a counter (priority tickets first).")
        @Option(help: "The site (hall).") var site: String
        @Option(help: "The queue letter, e.g. A.") var queue: String
        @Option(help: "The counter (窗口) number, 1 to 999.") var counter: Int
        @OptionGroup var store: StoreOptions

        func validate() throws {
            try Hall.checkSite(site)
            guard HallNames.isQueue(queue) else { throw ValidationError("--queue must be one capital letter, e.g. A, not '\(queue.prefix(10))'") }
            guard (1...999).contains(counter) else { throw ValidationError("--counter must be 1 to 999") }
        }

        func run() async throws {
            let (site, queue, counter) = (self.site, self.queue, self.counter)
            let result = try await store.with { store in
                try await Hall.hallStore(store).callNext(site: site, queue: queue, counter: counter, caller: "console", key: nil, now: Date())
            }
            switch result {
            case .success(let ticket):
                print("\(ticket.number) to counter \(counter)\(ticket.priority ? " (appointment)" : "")\t\(ticket.serviceCode)")
            case .failure(let problem):
                FileHandle.standardError.write(Data("registryd: \(problem.detail)\n".utf8))
                throw ExitCode(1)
            }
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Today's queues of a site: waiting, and the number called last.")
        @Option(help: "The site (hall).") var site: String
        @Flag(help: "JSON output.") var json = false
        @OptionGroup var store: StoreOptions

        func validate() throws { try Hall.checkSite(site) }

        func run() async throws {
            let site = self.site
            let figures = try await store.with { try await Hall.hallStore($0).hallFigures(site: site, now: Date()) }
            if json {
                print(String(decoding: try RegistryJSON.encoder().encode(figures), as: UTF8.self))
                return
            }
            if figures.queues.isEmpty { print("no tickets at \(site) today (\(figures.day))") }
            for q in figures.queues {
                let last = q.lastCalled.map { "last called \($0) to counter \(q.lastCounter ?? 0)" } ?? "none called yet"
                print("\(q.queue)\t\(q.waiting) waiting\t\(last)")
            }
        }
    }
}

/// Appointments booked elsewhere, loaded for check-in at the kiosks.
struct Appointments: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Load appointments booked online.",
        subcommands: [Import.self])

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Import a day's appointments: a JSON array of {id, site, serviceCode, queue, idNumber, name, startsAt, endsAt}, or a CSV file (.csv) with those columns in a header line.",
            discussion: """
                Every appointment is checked first; with one bad, nothing is stored. An appointment stored before
                is replaced unless it was checked in. Exit codes: 0 stored; 1 some refused; 2 a bad file.
                """)
        @Argument(help: "The JSON file.") var file: String
        @OptionGroup var store: StoreOptions

        func run() async throws {
            guard let data = FileManager.default.contents(atPath: file) else { throw ValidationError("cannot read \(file)") }
            let items: [Appointment]
            if file.lowercased().hasSuffix(".csv") {
                do { items = try AppointmentCSV.parse(String(decoding: data, as: UTF8.self)) } catch {
                    FileHandle.standardError.write(Data("registryd: \(file): \(error.description); nothing was stored\n".utf8))
                    throw ExitCode(2)
                }
            } else {
                do { items = try RegistryJSON.decoder().decode([Appointment].self, from: data) } catch {
                    let p = DecodingProblem(error, root: "(file)")
                    FileHandle.standardError.write(Data("registryd: \(file): \(p.location): \(p.reason); nothing was stored\n".utf8))
                    throw ExitCode(2)
                }
            }
            for (index, item) in items.enumerated() {
                if let problem = item.problem() {
                    FileHandle.standardError.write(Data("registryd: \(file): item \(index) (\(item.id.prefix(64))): \(problem); nothing was stored\n".utf8))
                    throw ExitCode(2)
                }
            }
            let results = try await store.with { try await Hall.hallStore($0).storeAppointments(items, now: Date()) }
            var stored = 0, replaced = 0, refused = 0
            for (item, result) in zip(items, results) {
                switch result {
                case .success(true): replaced += 1
                case .success(false): stored += 1
                case .failure(let problem):
                    refused += 1
                    FileHandle.standardError.write(Data("registryd: \(item.id): \(problem.detail)\n".utf8))
                }
            }
            print("\(stored) stored, \(replaced) replaced, \(refused) refused")
            if refused > 0 { throw ExitCode(1) }
        }
    }
}

/// The back office's commands on applications' progress.
struct Applications: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "See and move on applications' progress (kiosks show it to citizens).",
        discussion: """
            Exit codes: 0 done; 1 no such application, or it is closed; 2 bad arguments.
            Examples:
              registryd applications show YT-demo-kiosk-01-20261203-000001 --db registry.sqlite
              registryd applications set-status SQ-20261203-00000042 --status more-materials --note "住所使用证明" --db registry.sqlite
              registryd applications approve YT-demo-kiosk-01-20261203-000001 --region 441900 --db registry.sqlite
              registryd applications refuse SQ-20261203-00000042 --note "名称与在先登记企业近似" --db registry.sqlite
            """,
        subcommands: [Show.self, SetStatus.self, Approve.self, Refuse.self])

    static func progressStore(_ store: any RegistryStore) throws -> any ProgressStore {
        guard let progress = store as? any ProgressStore else { throw ValidationError("this store keeps no progress") }
        return progress
    }

    static func describe(_ p: ApplicationProgress) -> String {
        var lines = ["\(p.trackingNumber)\t\(p.registryNumber)\t\(p.proposedName)\t\(p.status.rawValue)"]
        let format = ISO8601DateFormatter()
        for step in p.history { lines.append("  \(format.string(from: step.at))\t\(step.status.rawValue)\(step.note.map { "\t\($0)" } ?? "")") }
        if let opening = p.opening {
            lines.append("  parties: \(opening.stage.rawValue), \(opening.confirmedCount) of \(opening.parties.count) confirmed, window until \(format.string(from: opening.confirmBy))")
            for party in opening.parties {
                let share = party.shareBasisPoints.map { " " + Shares.percent($0) } ?? ""
                lines.append("    \(party.maskedName)\t\(party.roles.map(\.rawValue).joined(separator: ","))\(share)\t"
                             + (party.confirmedAt.map { "confirmed " + format.string(from: $0) } ?? "not confirmed"))
            }
        }
        return lines.joined(separator: "\n")
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "An application's status and history, by tracking or registry number.")
        @Argument(help: "The tracking number (YT-…) or the registry's number (SQ-…).") var number: String
        @Flag(help: "JSON output.") var json = false
        @OptionGroup var store: StoreOptions

        func run() async throws {
            let number = self.number
            guard ProgressNames.isNumber(number) else { throw ValidationError("'\(number.prefix(80))' is not an application number") }
            guard let progress = try await store.with({ store in
                guard let openings = Openings(store) else { return try await Applications.progressStore(store).progress(number: number) }
                return try await openings.state(number: number)?.0
            }) else {
                FileHandle.standardError.write(Data("registryd: no application \(number)\n".utf8))
                throw ExitCode(1)
            }
            print(json ? String(decoding: try RegistryJSON.encoder().encode(progress), as: UTF8.self) : Applications.describe(progress))
        }
    }

    struct SetStatus: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set-status",
            abstract: "Move an application on: under-review, more-materials (--note says what to bring), approved, refused (--note says why).")
        @Argument(help: "The tracking number (YT-…) or the registry's number (SQ-…).") var number: String
        @Option(help: "under-review, more-materials, approved or refused.") var status: String
        @Option(help: "What to bring, or why refused.") var note: String?
        @Option(help: "Who makes the change (kept in the history).") var by: String = "console"
        @OptionGroup var store: StoreOptions

        func run() async throws {
            guard ProgressNames.isNumber(number) else { throw ValidationError("'\(number.prefix(80))' is not an application number") }
            guard let status = ApplicationStatus(rawValue: status) else {
                throw ValidationError("--status must be one of \(ApplicationStatus.allCases.dropFirst().map(\.rawValue).joined(separator: ", ")), not '\(self.status)'")
            }
            let change = StatusChange(status: status, note: note)
            if let problem = change.problem() { throw ValidationError(problem) }
            let (number, by) = (self.number, self.by)
            let outcome = try await store.with { store -> Result<ApplicationProgress, Problem> in
                // Approval needs every party's confirmation.
                guard let openings = Openings(store) else { throw ValidationError("this store keeps no progress") }
                return try await openings.setStatus(number: number, change, by: by, key: nil)
            }
            switch outcome {
            case .success(let progress): print(Applications.describe(progress))
            case .failure(let problem):
                FileHandle.standardError.write(Data("registryd: \(problem.detail)\n".utf8))
                throw ExitCode(1)
            }
        }
    }
}

extension Applications {
    /// Approves an establishment application: a credit code, the licence record, the status.
    struct Approve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Approve an establishment application: allocate its unified social credit code and issue the licence record its legal representative prints at any kiosk.")
        @Argument(help: "The tracking number (YT-…) or the registry's number (SQ-…).") var number: String
        @Option(help: "The six-digit region code of the registration authority.") var region: String = "441900"
        @Option(help: "The registration authority, printed on the licence.") var authority: String = "演示市市场监督管理局"
        @Option(help: "Who approves (kept in the history).") var by: String = "console"
        @Flag(help: "JSON output: the licence record.") var json = false
        @OptionGroup var store: StoreOptions

        func validate() throws {
            guard ProgressNames.isNumber(number) else { throw ValidationError("'\(number.prefix(80))' is not an application number") }
            guard region.count == 6, region.allSatisfy({ $0.isASCII && $0.isNumber }) else { throw ValidationError("--region is six digits, e.g. 441900") }
            guard (2...60).contains(authority.count) else { throw ValidationError("--authority has 2 to 60 characters") }
        }

        func run() async throws {
            let (number, region, authority, by) = (self.number, self.region, self.authority, self.by)
            let outcome = try await store.with { store in
                try await LicenceIssuance.approve(number: number, region: region, authority: authority, by: by,
                                                  store: store, progress: try Applications.progressStore(store))
            }
            switch outcome {
            case .success(let record):
                if json {
                    print(String(decoding: try RegistryJSON.encoder().encode(record), as: UTF8.self))
                } else {
                    print("approved \(number): \(record.enterprise.name) \(record.enterprise.uscc); the legal representative prints the licence at any kiosk")
                }
            case .failure(let refusal):
                FileHandle.standardError.write(Data("registryd: \(refusal.description)\n".utf8))
                throw ExitCode(1)
            }
        }
    }

    /// Refuses an establishment application, saying why.
    struct Refuse: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Refuse an establishment application; --note says why (the citizen sees it).")
        @Argument(help: "The tracking number (YT-…) or the registry's number (SQ-…).") var number: String
        @Option(help: "Why it is refused.") var note: String
        @Option(help: "Who refuses (kept in the history).") var by: String = "console"
        @OptionGroup var store: StoreOptions

        func run() async throws {
            var command = SetStatus()
            command.number = number
            command.status = ApplicationStatus.refused.rawValue
            command.note = note
            command.by = by
            command.store = store
            try await command.run()
        }
    }
}

/// The hall staff's commands for results by post.
struct Deliveries: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Results by post: what the hall posts, and marking it posted when the courier takes it.",
        discussion: """
            Exit codes: 0 done; 1 no such delivery; 2 bad arguments.
            Examples:
              registryd deliveries list --site demo-hall --status pending --db registry.sqlite
              registryd deliveries mark-posted YT-demo-kiosk-01-20261203-000001 --by 王五 --db registry.sqlite
            """,
        subcommands: [List.self, MarkPosted.self])

    static func deliveryStore(_ store: any RegistryStore) throws -> any DeliveryStore {
        guard let deliveries = store as? any DeliveryStore else { throw ValidationError("this store keeps no deliveries") }
        return deliveries
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "A site's deliveries, oldest first, with the addresses to write on the envelopes.")
        @Option(help: "The site (hall).") var site: String
        @Option(help: "pending or posted.") var status: String?
        @Flag(help: "JSON output.") var json = false
        @OptionGroup var store: StoreOptions

        func validate() throws {
            try Hall.checkSite(site)
            if let status, DeliveryRecord.Status(rawValue: status) == nil { throw ValidationError("--status must be pending or posted, not '\(status)'") }
        }

        func run() async throws {
            let (site, status) = (self.site, self.status.flatMap(DeliveryRecord.Status.init(rawValue:)))
            let list = try await store.with { try await Deliveries.deliveryStore($0).deliveries(site: site, status: status) }
            if json {
                print(String(decoding: try RegistryJSON.encoder().encode(DeliveryList(deliveries: list)), as: UTF8.self))
                return
            }
            if list.isEmpty { print("no deliveries at \(site)") }
            for d in list {
                print("\(d.deliveryId)\t\(d.kind.rawValue)\t\(d.reference)\t\(d.status.rawValue)\t\(d.address.recipient)\t\(d.address.mobile)\t\(d.address.address)")
            }
        }
    }

    struct MarkPosted: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "mark-posted", abstract: "Mark a delivery posted (the courier took it).")
        @Argument(help: "The delivery's id (an application's tracking number, or a certificate request's id).") var id: String
        @Option(help: "Who handed it over.") var by: String = "console"
        @OptionGroup var store: StoreOptions

        func run() async throws {
            guard ProgressNames.isNumber(id) else { throw ValidationError("'\(id.prefix(80))' is not a delivery id") }
            let (id, by) = (self.id, self.by)
            switch try await store.with({ try await Deliveries.deliveryStore($0).markPosted(id: id, site: nil, by: by, now: Date()) }) {
            case .success(let record):
                print("\(record.deliveryId) posted\(record.postedBy.map { " by \($0)" } ?? "")")
            case .failure(let problem):
                FileHandle.standardError.write(Data("registryd: \(problem.detail)\n".utf8))
                throw ExitCode(1)
            }
        }
    }
}
