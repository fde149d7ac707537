import ArgumentParser
import Crypto
import Foundation
import KioskCore
import KioskConfig
import Registry
import RegistryServer

/// Central operations' configuration commands: keys and root metadata (offline), signing,
/// publishing, staged roll-out, and what the fleet runs.
struct Config: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Sign and publish configuration bundles for kiosks, a site or the fleet.",
        discussion: """
            Signing keys stay offline: keygen, root and sign need no database and run on the signing
            machine; only the signed bundle is carried to registryd.
            Examples:
              registryd config keygen -o root-1.key           (prints the public key)
              registryd config root --root-key root-1.key --root-key root-2.key --root-threshold 2 \\
                --publisher-key publisher.pub --timestamp-key timestamp.pub --version 1 --expires 2028-01-01T00:00:00Z -o root.json
              registryd config sign kiosk-config/ --only texts.yaml --version 3 --target site:demo-hall \\
                --expires 2027-06-30T00:00:00Z --key publisher.key -o bundle.json
              registryd config inspect bundle.json --root root.json
              registryd config publish bundle.json --target fleet --stage 10 --dry-run --db registry.sqlite
              registryd config publish bundle.json --target site:demo-hall --stage 10 --db registry.sqlite
              registryd config stage 7 --percent 100 --db registry.sqlite
              registryd config list --db registry.sqlite
              registryd config status --db registry.sqlite
              registryd config status --bundle 7 --db registry.sqlite
            """,
        subcommands: [Keygen.self, Root.self, Sign.self, Inspect.self, Publish.self, Stage.self, List.self, Status.self])

    struct Keygen: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Make an Ed25519 key (base64, mode 0600); print its public key and key id.")
        @Option(name: .shortAndLong, help: "Where to write the private key.") var output: String

        func run() throws {
            guard !FileManager.default.fileExists(atPath: output) else { throw ValidationError("\(output) exists: refusing to overwrite a key") }
            let key = Curve25519.Signing.PrivateKey()
            guard FileManager.default.createFile(atPath: output, contents: Data((key.rawRepresentation.base64EncodedString() + "\n").utf8),
                                                 attributes: [.posixPermissions: 0o600]) else {
                throw ValidationError("cannot write \(output)")
            }
            let pub = output.replacingOccurrences(of: ".key", with: "") + ".pub"
            try (key.publicKey.rawRepresentation.base64EncodedString() + "\n").write(toFile: pub, atomically: true, encoding: .utf8)
            print("public key \(key.publicKey.rawRepresentation.base64EncodedString()) (written to \(pub)), key id \(KeyID.of(key.publicKey))")
        }
    }

    static func publicKey(_ path: String) throws -> Curve25519.Signing.PublicKey {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw ValidationError("cannot read \(path)") }
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if let raw = Data(base64Encoded: trimmed), let key = try? Curve25519.Signing.PublicKey(rawRepresentation: raw) { return key }
        if let key = try? BundleSigning.loadPrivateKey(path: path) { return key.publicKey }
        throw ValidationError("\(path) is neither a base64 Ed25519 public key nor a private key")
    }

    struct Root: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Make and sign root metadata (the fleet's trust: root and publisher keys, thresholds).")
        @Option(help: "A root private key (repeat; each signs).") var rootKey: [String] = []
        @Option(help: "Root signatures needed for the next rotation.") var rootThreshold: Int = 1
        @Option(help: "A publisher public (or private) key (repeat).") var publisherKey: [String] = []
        @Option(help: "Publisher signatures needed on a bundle.") var publisherThreshold: Int = 1
        @Option(help: "The registry's online timestamp public (or private) key, which signs the feed's freshness statements (repeat).")
        var timestampKey: [String] = []
        @Option(help: "Root version; a rotation must be the current version + 1.") var version: Int = 1
        @Option(help: "RFC 3339 expiry.") var expires: String
        @Option(help: "Old root private keys that also sign (a rotation needs the old threshold too).") var previousRootKey: [String] = []
        @Option(name: .shortAndLong, help: "Where to write root.json.") var output: String

        func run() throws {
            guard !rootKey.isEmpty, !publisherKey.isEmpty else { throw ValidationError("give at least one --root-key and one --publisher-key") }
            guard ConfigDates.parse(expires) != nil else { throw ValidationError("--expires must be an RFC 3339 time, e.g. 2028-01-01T00:00:00Z") }
            let roots = try rootKey.map { try BundleSigning.loadPrivateKey(path: $0) }
            let previous = try previousRootKey.map { try BundleSigning.loadPrivateKey(path: $0) }
            let publishers = try publisherKey.map(Config.publicKey)
            let metadata = BundleSigning.rootMetadata(version: version, expires: expires, rootKeys: roots.map(\.publicKey),
                                                      rootThreshold: rootThreshold, publisherKeys: publishers,
                                                      publisherThreshold: publisherThreshold,
                                                      timestampKeys: try timestampKey.map(Config.publicKey))
            do { try metadata.validate() } catch { throw ValidationError("\(error)") }
            try BundleSigning.signRoot(metadata, by: roots + previous).write(to: URL(fileURLWithPath: output))
            print("root v\(version) written to \(output): \(roots.count) root key(s), threshold \(rootThreshold); \(publishers.count) publisher key(s); "
                  + (timestampKey.isEmpty ? "no timestamp key (kiosks cannot tell a frozen feed)" : "\(timestampKey.count) timestamp key(s)"))
        }
    }

    struct Sign: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Sign a bundle of configuration files (offline).")
        @Argument(help: "A configuration directory.") var directory: String
        @Option(help: "Only these files (relative paths; repeat). Default: every file.") var only: [String] = []
        @Option(help: "The bundle's version: higher than every earlier one for the target.") var version: Int
        @Option(help: "fleet, site:ID or kiosk:ID.") var target: String
        @Option(help: "RFC 3339 expiry.") var expires: String
        @Option(help: "A publisher private key (repeat for a threshold).") var key: [String]
        @Option(help: "A note for the history.") var note: String?
        @Option(name: .shortAndLong, help: "Where to write the signed bundle.") var output: String

        func run() throws {
            guard let parsedTarget = BundleTarget(target) else { throw ValidationError("--target must be fleet, site:ID or kiosk:ID") }
            guard version > 0 else { throw ValidationError("--version must be positive") }
            guard ConfigDates.parse(expires) != nil else { throw ValidationError("--expires must be an RFC 3339 time") }
            var files = try BundleSigning.files(in: URL(fileURLWithPath: directory))
            if !only.isEmpty {
                let missing = only.filter { files[$0] == nil }
                guard missing.isEmpty else { throw ValidationError("not in \(directory): \(missing.joined(separator: ", "))") }
                files = files.filter { only.contains($0.key) }
            }
            let signers = try key.map { try BundleSigning.loadPrivateKey(path: $0) }
            let envelope = try BundleSigning.signBundle(version: version, expires: expires, target: parsedTarget, files: files, note: note,
                                                        by: signers)
            do { _ = try BundleInspection.manifest(of: envelope).checkedFiles() } catch { throw ValidationError("\(error)") }
            try envelope.write(to: URL(fileURLWithPath: output))
            print("signed \(files.count) file(s) as \(parsedTarget) v\(version) → \(output) (\(envelope.count) bytes)")
        }
    }

    struct Inspect: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "What a signed bundle holds, and whether its signatures meet a root's threshold (offline).",
            discussion: "Exit codes: 0 readable (and, with --root, signed well enough), 1 not signed well enough for the root, 2 not a bundle.")
        @Argument(help: "The signed bundle.") var bundle: String
        @Option(help: "A root.json: check the signatures against its publisher keys and threshold.") var root: String?
        @Flag(help: "JSON output.") var json = false

        func run() throws {
            guard let data = FileManager.default.contents(atPath: bundle) else {
                FileHandle.standardError.write(Data("registryd: cannot read \(bundle)\n".utf8))
                throw ExitCode(2)
            }
            let envelope: SignedEnvelope, manifest: BundleManifest
            do {
                envelope = try SignedEnvelope.decode(data)
                manifest = try BundleInspection.manifest(of: data)
            } catch {
                FileHandle.standardError.write(Data("registryd: \(bundle): \(error)\n".utf8))
                throw ExitCode(2)
            }
            var verdict: String?
            var signedWell = true
            if let root {
                do {
                    guard let rootData = FileManager.default.contents(atPath: root) else { throw ValidationError("cannot read \(root)") }
                    let trusted = try RootMetadata.trustOnFirstUse(try SignedEnvelope.decode(rootData))
                    _ = try envelope.verifiedPayload(type: SignedEnvelope.configType, role: "publisher", root: trusted)
                    verdict = "signatures meet root v\(trusted.version)'s publisher threshold (\(trusted.roles["publisher"]?.threshold ?? 0))"
                } catch {
                    verdict = "not accepted by \(root): \(error)"
                    signedWell = false
                }
            }
            let expired = ConfigDates.parse(manifest.expires).map { $0 <= Date() } ?? true
            if json {
                var object: [String: Any] = [
                    "target": manifest.target.description, "version": manifest.version, "expires": manifest.expires, "expired": expired,
                    "note": manifest.note ?? "", "signatures": envelope.signatures.map(\.keyid),
                    "files": manifest.files.sorted { $0.key < $1.key }.map { ["path": $0.key, "sha256": $0.value.sha256,
                                                                              "bytes": Data(base64Encoded: $0.value.contents)?.count ?? 0] },
                ]
                if let verdict { object["verdict"] = verdict; object["accepted"] = signedWell }
                print(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys]), as: UTF8.self))
            } else {
                print("\(manifest.target) v\(manifest.version), expires \(manifest.expires)\(expired ? " (EXPIRED)" : "")"
                      + (manifest.note.map { ", note: \($0)" } ?? ""))
                print("signed by: \(envelope.signatures.map(\.keyid).joined(separator: ", "))")
                for (path, file) in manifest.files.sorted(by: { $0.key < $1.key }) {
                    print("  \(path)\t\(Data(base64Encoded: file.contents)?.count ?? 0) bytes\tsha256 \(file.sha256.prefix(16))…")
                }
                if let verdict { print(verdict) }
            }
            if !signedWell { throw ExitCode(1) }
        }
    }

    struct Publish: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Publish a signed bundle; kiosks learn of it at once.")
        @Argument(help: "The signed bundle.") var bundle: String
        @Option(help: "fleet, site:ID or kiosk:ID: must be the bundle's own signed target.") var target: String
        @Option(help: "Share of the target's kiosks that get it now, 1–100 (widen later with `config stage`).") var stage: Int = 100
        @Option(help: "A note.") var note: String = ""
        @Flag(help: "Say which registered kiosks it would reach; publish nothing.") var dryRun = false
        @OptionGroup var store: StoreOptions

        func validate() throws {
            guard (1...100).contains(stage) else { throw ValidationError("--stage must be 1 to 100 (percent)") }
            guard BundleTarget(target) != nil else { throw ValidationError("--target must be fleet, site:ID or kiosk:ID") }
        }

        func run() async throws {
            guard let envelope = FileManager.default.contents(atPath: bundle) else { throw ValidationError("cannot read \(bundle)") }
            let manifest: BundleManifest
            do { manifest = try BundleInspection.manifest(of: envelope) } catch { throw ValidationError("\(bundle): \(error)") }
            guard manifest.target.description == target else {
                throw ValidationError("the bundle is signed for \(manifest.target), not \(target): re-sign it or name its target")
            }
            if let expiry = ConfigDates.parse(manifest.expires), expiry <= Date() {
                throw ValidationError("the bundle expired at \(manifest.expires): sign a new one")
            }
            let (version, stage, note) = (manifest.version, self.stage, self.note)
            let target = self.target
            if dryRun {
                let kiosks = try await store.with { try await $0.kiosks().map(\.id) }
                guard let reached = Rollout.reach(target: target, version: version, percent: stage, kiosks: kiosks) else {
                    print("dry run: \(target) v\(version) would reach \(stage) % of the kiosks that ask from that site (the registry learns sites from the kiosks' requests); nothing published")
                    return
                }
                print("dry run: \(target) v\(version) at \(stage) % would reach \(reached.count) of \(kiosks.count) registered kiosk(s); nothing published")
                for id in reached { print("  \(id)") }
                return
            }
            let published: PublishedBundle
            do {
                published = try await store.with { store in
                    guard let configs = store as? any ConfigBundleStore else { throw PublishError.invalid("this store keeps no bundles") }
                    return try await configs.publish(envelope: envelope, target: target, version: version, stagePercent: stage, note: note, at: Date())
                }
            } catch let error as PublishError { throw ValidationError(error.description) }
            print("published bundle \(published.id): \(target) v\(version) to \(stage) % of its kiosks")
        }
    }

    struct Stage: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Change a bundle's roll-out share (0 stops it).")
        @Argument(help: "The bundle id (from `config list`).") var id: Int64
        @Option(help: "0–100.") var percent: Int
        @OptionGroup var store: StoreOptions

        func run() async throws {
            guard (0...100).contains(percent) else { throw ValidationError("--percent must be 0 to 100") }
            let (id, percent) = (self.id, self.percent)
            let changed = try await store.with { store in try await (store as? any ConfigBundleStore)?.setStage(id: id, percent: percent) ?? false }
            guard changed else { throw ValidationError("no bundle \(id)") }
            print("bundle \(id) now goes to \(percent) % of its kiosks")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Published bundles, newest first.")
        @OptionGroup var store: StoreOptions
        @Flag(help: "JSON output.") var json = false

        func run() async throws {
            let bundles = try await store.with { store in try await (store as? any ConfigBundleStore)?.publishedBundles(targets: nil) ?? [] }
            if json { return print(String(decoding: try RegistryJSON.encoder().encode(bundles), as: UTF8.self)) }
            if bundles.isEmpty { print("no bundles published") }
            for b in bundles {
                print("\(b.id)\t\(b.target)\tv\(b.version)\t\(b.stagePercent) %\t\(b.size) bytes\t\(Timestamp.rfc3339(b.publishedAt))\t\(b.note)")
            }
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "What each kiosk last reported of its configuration, or one bundle's roll-out (--bundle).")
        @OptionGroup var store: StoreOptions
        @Option(help: "A bundle id (from `config list`): which kiosks applied it, failed it, or have not reported it yet.") var bundle: Int64?
        @Flag(help: "JSON output.") var json = false

        func run() async throws {
            if let bundle {
                let found = try await store.with { store -> (PublishedBundle, Rollout.Progress)? in
                    guard let configs = store as? any ConfigBundleStore,
                          let published = try await configs.publishedBundles(targets: nil).first(where: { $0.id == bundle }) else { return nil }
                    let progress = Rollout.progress(of: published, kiosks: try await store.kiosks().map(\.id), reports: try await configs.configReports())
                    return (published, progress)
                }
                guard let (published, progress) = found else { throw ValidationError("no bundle \(bundle): see `registryd config list`") }
                if json { return print(String(decoding: try RegistryJSON.encoder().encode(progress), as: UTF8.self)) }
                print("bundle \(published.id): \(published.target) v\(published.version) at \(published.stagePercent) %: "
                      + "\(progress.applied.count) applied, \(progress.failed.count) failed, \(progress.waiting.count) waiting")
                for id in progress.applied { print("  applied  \(id)") }
                for (id, why) in progress.failed.sorted(by: { $0.key < $1.key }) { print("  failed   \(id)\t\(why)") }
                for id in progress.waiting { print("  waiting  \(id)") }
                return
            }
            let states = try await store.with { store in try await (store as? any ConfigBundleStore)?.configReports() ?? [] }
            if json { return print(String(decoding: try RegistryJSON.encoder().encode(states), as: UTF8.self)) }
            if states.isEmpty { print("no kiosk has reported yet") }
            for s in states {
                let r = s.report
                print("\(s.kioskId)\t\(r.target ?? "-") v\(r.version.map(String.init) ?? "-")\t\(r.result)\tgeneration \(r.generation)\t\(Timestamp.rfc3339(r.at))\t\(r.reason ?? "")")
            }
        }
    }
}
