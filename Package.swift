// swift-tools-version: 6.2
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "fhir-risk-gateway",
    products: [
        .executable(name: "fhir-risk-gateway", targets: ["fhir-risk-gateway"]),
        .library(name: "FHIRCore", targets: ["FHIRCore"]),
        .library(name: "FHIRModels", targets: ["FHIRModels"]),
        .library(name: "FHIRPath", targets: ["FHIRPath"]),
        // The fuzz targets' checks, for the libFuzzer executables of the package in Fuzz/.
        .library(name: "FuzzTargets", targets: ["FuzzTargets"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-configuration", from: "1.4.0", traits: [.defaults, "YAML"]),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.3"),
        .package(url: "https://github.com/apple/swift-certificates", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-asn1", from: "1.7.4"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/vapor/jwt-kit", from: "5.8.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
    ],
    targets: [
        // libxml2's streaming reader, for the hardened FHIR XML reader.
        .systemLibrary(
            name: "CLibXML2",
            pkgConfig: "libxml-2.0",
            providers: [.apt(["libxml2-dev"])]
        ),
        // zlib, for gzip request bodies.
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        // Inflating a gzip body with a cap on its inflated size; zlib only.
        .target(name: "GzipInflate", dependencies: ["CZlib"], swiftSettings: swiftSettings),
        // A strict JSON reader over UTF-8 bytes: exact number text, no duplicate keys, limits.
        .target(name: "StrictJSON", swiftSettings: swiftSettings),
        // A hardened XML reader on libxml2's streaming reader: no DOCTYPE, no entities, limits.
        .target(name: "SafeXML", dependencies: ["CLibXML2"], swiftSettings: swiftSettings),
        // FHIR R4: element definitions (generated from the R4 schemas), the strict JSON and XML
        // readers and writers, the format-neutral element tree and base validation. No I/O.
        .target(
            name: "FHIRCore",
            dependencies: ["StrictJSON", "SafeXML"],
            swiftSettings: swiftSettings
        ),
        // FHIRPath (N1) over the element tree: lexer, parser, evaluator, for invariants and profiles.
        .target(name: "FHIRPath", dependencies: ["FHIRCore"], swiftSettings: swiftSettings),
        // Profiles as data: StructureDefinitions, ValueSets and CodeSystems compiled from
        // Profiles/, and an instance validated against a profile's snapshot (invariants in
        // FHIRPath). No I/O.
        .target(name: "FHIRProfiles", dependencies: ["FHIRCore", "FHIRPath", "StrictJSON"], swiftSettings: swiftSettings),
        // Typed Sendable value types for the resources the gateway works with (generated).
        .target(
            name: "FHIRModels",
            dependencies: ["FHIRCore"],
            swiftSettings: swiftSettings
        ),
        // The risk model: feature extraction from FHIR resources, scoring, the RiskAssessment. Pure.
        .target(
            name: "RiskModel",
            dependencies: [
                "FHIRCore", "FHIRModels", .product(name: "Crypto", package: "swift-crypto"), .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: swiftSettings
        ),
        // Durable storage of facts, cases, assessments and the outbox; SQLite through GRDB.
        .target(
            name: "Storage",
            dependencies: [.product(name: "GRDB", package: "GRDB.swift"), .product(name: "GRDBSQLite", package: "GRDB.swift")],
            swiftSettings: swiftSettings
        ),
        // The same store on PostgreSQL through postgres-nio, for several gateways on one database.
        .target(
            name: "PostgresStorage",
            dependencies: [
                "Storage",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // Case processing: a request's resources stored, each patient's cases decided by the risk
        // model's CaseAssessor, versions, withdrawals and held reasons kept, in one transaction.
        // No HTTP: tested in-process against a temporary store.
        .target(
            name: "CaseProcessing",
            dependencies: ["FHIRCore", "FHIRModels", "FHIRProfiles", "RiskModel", "Storage"],
            swiftSettings: swiftSettings
        ),
        // systemd integration: sd_notify (path and abstract sockets) and the watchdog interval.
        .target(
            name: "SystemdSupport",
            dependencies: [.product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings
        ),
        // The daemon: configuration, the FHIR HTTP API over TLS, case processing, delivery.
        .target(
            name: "GatewayServer",
            dependencies: [
                "FHIRCore", "FHIRModels", "FHIRProfiles", "RiskModel", "Storage", "PostgresStorage", "CaseProcessing", "GzipInflate", "SystemdSupport",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOExtras", package: "swift-nio-extras"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "JWTKit", package: "jwt-kit"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "fhir-risk-gateway",
            dependencies: [
                "FHIRCore",
                "FHIRModels",
                "FHIRPath",
                "FHIRProfiles",
                "StrictJSON",
                "RiskModel",
                "GatewayServer",
                "Storage",
                "PostgresStorage",
                "SystemdSupport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "FHIRCoreBenchmarks",
            dependencies: ["FHIRCore", "FHIRModels", "FHIRProfiles", "GatewayServer"],
            path: "Benchmarks/FHIRCoreBenchmarks",
            swiftSettings: swiftSettings
        ),
        // The R4 Observation invariants evaluated by the FHIRPath engine, median per evaluation.
        .executableTarget(
            name: "FHIRPathBenchmarks",
            dependencies: ["FHIRCore", "FHIRPath"],
            path: "Benchmarks/FHIRPathBenchmarks",
            swiftSettings: swiftSettings
        ),
        // One function per fuzz target: reads the input and traps on a broken invariant (a document
        // that reads writes and re-reads to the same tree; the gzip cap holds). Used by the
        // libFuzzer executables in Fuzz/ and by FuzzRegressionTests.
        .target(
            name: "FuzzTargets",
            dependencies: ["StrictJSON", "SafeXML", "FHIRCore", "FHIRPath", "GzipInflate"],
            swiftSettings: swiftSettings
        ),
        // Locates the test corpus in Tests/Fixtures; used by the test targets only.
        .target(name: "TestSupport", dependencies: ["StrictJSON", "SafeXML"], path: "Tests/TestSupport", swiftSettings: swiftSettings),
        .testTarget(name: "FuzzRegressionTests", dependencies: ["FuzzTargets", "SafeXML", "TestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "StrictJSONTests", dependencies: ["StrictJSON", "TestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "SafeXMLTests", dependencies: ["SafeXML", "TestSupport"], swiftSettings: swiftSettings),
        .testTarget(
            name: "FHIRCoreTests",
            dependencies: ["FHIRCore", "StrictJSON", "SafeXML", "TestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "FHIRPathTests", dependencies: ["FHIRPath", "FHIRCore", "TestSupport"], swiftSettings: swiftSettings),
        .testTarget(
            name: "FHIRProfilesTests",
            dependencies: ["FHIRProfiles", "FHIRCore", "GatewayServer", "TestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "FHIRModelsTests",
            dependencies: ["FHIRCore", "FHIRModels", "StrictJSON", "TestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "RiskModelTests",
            dependencies: ["RiskModel", "FHIRCore", "FHIRModels", "StrictJSON", "TestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CaseProcessingTests",
            dependencies: ["CaseProcessing", "RiskModel", "Storage", "FHIRCore", "FHIRModels", "FHIRProfiles", "TestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "StorageTests",
            dependencies: ["Storage", "PostgresStorage", "TestSupport", .product(name: "GRDB", package: "GRDB.swift")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "GatewayServerTests",
            dependencies: [
                "GatewayServer", "RiskModel", "Storage", "FHIRCore", "FHIRProfiles", "SystemdSupport", "TestSupport", .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Configuration", package: "swift-configuration"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "EndToEndTests",
            dependencies: [
                "FHIRCore", "StrictJSON", "TestSupport", .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"), .product(name: "SwiftASN1", package: "swift-asn1"),
            ],
            swiftSettings: swiftSettings
        ),
    ],
    swiftLanguageModes: [.v6]
)
