import Crypto
import Foundation
import KioskConfig

/// Keys and helpers for signing test bundles like central operations would.
public struct Signers: Sendable {
    public let rootKeys = [Curve25519.Signing.PrivateKey(), Curve25519.Signing.PrivateKey()]
    public let publisher = Curve25519.Signing.PrivateKey()
    /// The registry's online timestamp key.
    public let timestamp = Curve25519.Signing.PrivateKey()

    public init() {}

    public func rootMetadata(version: Int = 1, rootKeys: [Curve25519.Signing.PrivateKey]? = nil,
                             expires: String = "2099-01-01T00:00:00Z", withTimestamp: Bool = true) -> RootMetadata {
        BundleSigning.rootMetadata(version: version, expires: expires, rootKeys: (rootKeys ?? self.rootKeys).map(\.publicKey),
                                   rootThreshold: 2, publisherKeys: [publisher.publicKey], publisherThreshold: 1,
                                   timestampKeys: withTimestamp ? [timestamp.publicKey] : [])
    }

    /// A freshness statement for `kioskId` over `bundles`, issued at `issued`, signed by `signer`
    /// (the timestamp key by default).
    public func statement(kioskId: String = "demo-kiosk-01", bundles: [String] = [], issued: Date = Date(),
                          validity: TimeInterval = 86_400, signer: Curve25519.Signing.PrivateKey? = nil) throws -> Data {
        try FeedStatement(kioskId: kioskId, issued: issued, expires: issued.addingTimeInterval(validity), bundles: bundles)
            .signed(by: signer ?? timestamp)
    }

    public func signedRoot(_ root: RootMetadata, by signers: [Curve25519.Signing.PrivateKey]) throws -> Data {
        try BundleSigning.signRoot(root, by: signers)
    }

    public func bundle(version: Int, target: BundleTarget = .init(scope: .fleet), files: [String: Data],
                       expires: String = "2099-01-01T00:00:00Z", signer: Curve25519.Signing.PrivateKey? = nil) throws -> Data {
        try BundleSigning.signBundle(version: version, expires: expires, target: target, files: files, by: [signer ?? publisher])
    }
}
