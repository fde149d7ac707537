// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "Yitiji",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "kioskd", targets: ["kioskd"]),
        .executable(name: "kiosk", targets: ["kiosk"]),
        .executable(name: "kioskctl", targets: ["kioskctl"]),
        .executable(name: "registryd", targets: ["registryd"]),
        .executable(name: "yitiji-reader-sim", targets: ["yitiji-reader-sim"]),
        .executable(name: "yitiji-verifier-sim", targets: ["yitiji-verifier-sim"]),
        .library(name: "KioskCore", targets: ["KioskCore"]),
        .library(name: "IDCardReader", targets: ["IDCardReader"]),
        .library(name: "Printing", targets: ["Printing"]),
        .library(name: "Registry", targets: ["Registry"]),
        .library(name: "KioskConfig", targets: ["KioskConfig"]),
        .library(name: "FuzzTargets", targets: ["FuzzTargets"]),
        .library(name: "RegistryFuzzTargets", targets: ["RegistryFuzzTargets"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        .package(url: "https://github.com/apple/swift-crypto", "3.0.0"..<"5.0.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.0.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.20.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.0.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.20.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.25.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.21.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.4.0"),
        .package(url: "https://github.com/apple/swift-openapi-runtime", from: "1.13.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.0.0"),
        .package(url: "https://github.com/swift-server/swift-openapi-async-http-client", from: "1.5.0"),
    ],
    targets: [
        // C libraries (module maps live in drivers/)
        .systemLibrary(name: "CLibUSB", path: "drivers/CLibUSB", pkgConfig: "libusb-1.0",
                       providers: [.apt(["libusb-1.0-0-dev"])]),
        .systemLibrary(name: "CCups", path: "drivers/CCups",
                       providers: [.apt(["libcups2-dev"])]),
        .systemLibrary(name: "CCairo", path: "drivers/CCairo", pkgConfig: "pangocairo",
                       providers: [.apt(["libcairo2-dev", "libpango1.0-dev"])]),
        .systemLibrary(name: "CQREncode", path: "drivers/CQREncode", pkgConfig: "libqrencode",
                       providers: [.apt(["libqrencode-dev"])]),
        .systemLibrary(name: "CRime", path: "drivers/CRime", pkgConfig: "rime",
                       providers: [.apt(["librime-dev", "rime-data-luna-pinyin", "libopencc-data"])]),

        // Libraries, lowest first
        .target(name: "KioskCore"),
        .target(name: "IDCardReader", dependencies: [
            "KioskCore", "CLibUSB",
            .product(name: "Logging", package: "swift-log"),
        ]),
        .target(name: "Printing", dependencies: [
            "KioskCore", "CCups", "CCairo", "CQREncode",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Crypto", package: "swift-crypto"),
        ]),
        .target(name: "Registry", dependencies: [
            "KioskCore", "RegistryWire", "RegistryAPI",
            .product(name: "OpenAPIRuntime", package: "swift-openapi-runtime"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "GRDB", package: "GRDB.swift"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
        ]),
        // The types that cross the registry's wire, as both ends use them; the generated API
        // names them for the document's schemas (openapi/registry-generator.yaml, typeOverrides).
        .target(name: "RegistryWire", dependencies: [
            "KioskCore",
            .product(name: "Crypto", package: "swift-crypto"),
        ]),
        // The registry's operations and client, generated from openapi/registry.yaml (scripts/generate-registry-api.sh).
        .target(name: "RegistryAPI", dependencies: [
            "KioskCore", "RegistryWire",
            .product(name: "OpenAPIRuntime", package: "swift-openapi-runtime"),
        ], exclude: ["Generated/registry.yaml.sha256"]),
        .target(name: "KioskConfig", dependencies: [
            "KioskCore",
            .product(name: "Yams", package: "Yams"),
            .product(name: "Crypto", package: "swift-crypto"),
        ]),
        .target(name: "PersonVerification", dependencies: ["KioskCore", "KioskAPI"]),
        .target(name: "KioskTerminal"),
        .target(name: "KioskAPI", dependencies: ["KioskCore"]),
        .target(name: "KioskUI", dependencies: ["KioskCore", "KioskAPI", "KioskTerminal"]),
        .target(name: "KioskInput", dependencies: ["KioskCore", "KioskTerminal", "KioskUI", "CRime"]),
        .target(name: "SystemdSupport", dependencies: [.product(name: "Logging", package: "swift-log")]),
        .target(name: "KioskClient", dependencies: [
            "KioskAPI", "KioskCore",
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
        ]),
        .target(name: "Diagnostics", dependencies: [
            "KioskCore", "IDCardReader", "Printing", "KioskConfig", "KioskTerminal", "KioskAPI", "Registry", "PersonVerification",
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
        ]),
        .target(name: "KioskDaemon", dependencies: [
            "KioskCore", "IDCardReader", "Printing", "Registry", "KioskConfig", "KioskAPI", "PersonVerification",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            .product(name: "Crypto", package: "swift-crypto"),
        ]),
        .target(name: "RegistryServer", dependencies: [
            "KioskCore", "Registry", "RegistryAPI", "KioskConfig",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "GRDB", package: "GRDB.swift"),
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "PostgresNIO", package: "postgres-nio"),
            // The pool's own error type (its connection breaker), which PostgresNIO passes through.
            .product(name: "_ConnectionPoolModule", package: "postgres-nio"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
            .product(name: "HummingbirdCore", package: "hummingbird"),
            .product(name: "HummingbirdTLS", package: "hummingbird"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
        ]),

        // Every outside input as a fuzz target (libFuzzer executables in Fuzz/, corpus replay in the tests)
        .target(name: "FuzzTargets", dependencies: [
            "IDCardReader", "KioskConfig", "PersonVerification",
            .product(name: "Crypto", package: "swift-crypto"),
        ]),
        .target(name: "RegistryFuzzTargets", dependencies: ["Registry", "RegistryServer"]),

        // Executables: argument parsing and wiring only
        .executableTarget(name: "kioskd", dependencies: [
            "KioskDaemon", "SystemdSupport",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "kiosk", dependencies: [
            "KioskCore", "KioskTerminal", "KioskAPI", "KioskUI", "KioskClient", "KioskInput",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "kioskctl", dependencies: [
            "KioskCore", "IDCardReader", "Printing", "Registry", "KioskConfig", "KioskClient", "KioskAPI", "Diagnostics",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "registryd", dependencies: [
            "RegistryServer", "Registry", "KioskCore", "KioskConfig", "SystemdSupport",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "yitiji-reader-sim", dependencies: [
            "IDCardReader",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "yitiji-verifier-sim", dependencies: [
            "PersonVerification",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "yitiji-bench", dependencies: [
            "KioskDaemon", "RegistryServer", "RegistryAPI",
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "OpenAPIRuntime", package: "swift-openapi-runtime"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
            .product(name: "PostgresNIO", package: "postgres-nio"),
            "KioskCore", "IDCardReader", "Printing", "Registry", "KioskConfig",
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "GRDB", package: "GRDB.swift"),
        ], path: "benchmarks"),

        // Tests
        .target(name: "TestSupport", dependencies: ["KioskCore", "KioskConfig", .product(name: "Crypto", package: "swift-crypto")], path: "Tests/TestSupport"),
        .testTarget(name: "KioskCoreTests", dependencies: ["KioskCore", "TestSupport"]),
        .testTarget(name: "IDCardReaderTests", dependencies: ["IDCardReader", "TestSupport"]),
        .testTarget(name: "PrintingTests", dependencies: ["Printing", "KioskCore", "TestSupport", .product(name: "Crypto", package: "swift-crypto")]),
        .testTarget(name: "RegistryTests", dependencies: [
            "Registry", "KioskCore", "TestSupport",
            .product(name: "GRDB", package: "GRDB.swift"),
            .product(name: "Crypto", package: "swift-crypto"),
        ]),
        .testTarget(name: "KioskConfigTests", dependencies: ["KioskConfig", "TestSupport"]),
        .testTarget(name: "RegistryServerTests", dependencies: [
            "RegistryServer", "Registry", "RegistryAPI", "KioskConfig", "TestSupport", .product(name: "HummingbirdTesting", package: "hummingbird"),
            .product(name: "OpenAPIAsyncHTTPClient", package: "swift-openapi-async-http-client"),
        ]),
        .testTarget(name: "PersonVerificationTests", dependencies: ["PersonVerification", "KioskCore", "TestSupport"]),
        .testTarget(name: "KioskTerminalTests", dependencies: ["KioskTerminal", "TestSupport"]),
        .testTarget(name: "KioskInputTests", dependencies: ["KioskInput", "KioskUI", "KioskTerminal"]),
        .testTarget(name: "FuzzTargetTests", dependencies: ["FuzzTargets", "RegistryFuzzTargets", "TestSupport"]),
        .testTarget(name: "KioskUITests", dependencies: ["KioskUI", "KioskAPI", "KioskConfig", "TestSupport"]),
        .testTarget(name: "KioskDaemonTests", dependencies: [
            "KioskDaemon", "Registry", "KioskClient", "KioskAPI", "KioskCore", "KioskConfig", "IDCardReader", "TestSupport", "SystemdSupport", "Printing",
            .product(name: "Crypto", package: "swift-crypto"), .product(name: "Logging", package: "swift-log"),
            .product(name: "Hummingbird", package: "hummingbird"), .product(name: "HummingbirdTesting", package: "hummingbird"),
            .product(name: "Yams", package: "Yams"),
        ]),
        .testTarget(name: "DiagnosticsTests", dependencies: ["Diagnostics", "KioskConfig", "KioskTerminal", "TestSupport", .product(name: "Crypto", package: "swift-crypto")]),
        .testTarget(name: "EndToEndTests", dependencies: [
            "KioskCore", "IDCardReader", "Printing", "TestSupport", "Registry",
            .product(name: "GRDB", package: "GRDB.swift"),
            .product(name: "Crypto", package: "swift-crypto"),
        ], exclude: ["Snapshots"]),
    ],
    swiftLanguageModes: [.v6]
)

// libFuzzer executables, one per target: only when scripts/fuzz.sh builds them with
// -sanitize=fuzzer (libFuzzer brings their main).
if Context.environment["YITIJI_FUZZ"] != nil {
    for target in ["sam-frame", "card-text", "config-yaml", "bundle", "verifier-answer", "registry-auth"] {
        let library: Target.Dependency = target == "registry-auth" ? "RegistryFuzzTargets" : "FuzzTargets"
        package.targets.append(.executableTarget(name: "fuzz-\(target)", dependencies: [library], path: "Fuzz/\(target)",
                                                 swiftSettings: [.unsafeFlags(["-parse-as-library"])]))
        package.products.append(.executable(name: "fuzz-\(target)", targets: ["fuzz-\(target)"]))
    }
}
