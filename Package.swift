// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "progress-exporter",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "progress-exporter", targets: ["progress-exporter"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.1.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.0"),
    ],
    targets: [
        // libmicrohttpd from the system (Debian: libmicrohttpd-dev).
        .systemLibrary(
            name: "CMicroHTTPD",
            pkgConfig: "libmicrohttpd",
            providers: [.apt(["libmicrohttpd-dev"])]
        ),
        // simdjson (Debian: libsimdjson-dev) behind a small C-callable shim.
        .target(
            name: "CSimdJSON",
            linkerSettings: [.linkedLibrary("simdjson")]
        ),
        // RE2 (Debian: libre2-dev) behind a small C-callable shim: linear-time regular expressions
        // for patterns from the config file and flags.
        .target(
            name: "CRE2",
            linkerSettings: [.linkedLibrary("re2")]
        ),
        // zlib from the system (Debian: zlib1g-dev), for gzip at levels 4-9 and snapshot checksums.
        .systemLibrary(
            name: "CZlib",
            pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]
        ),
        // ISA-L's igzip from the system (Debian: libisal-dev), for gzip-encoded /metrics answers at
        // levels 1-3: several times zlib's speed at about zlib level 1's ratio.
        .systemLibrary(
            name: "CISAL",
            pkgConfig: "libisal",
            providers: [.apt(["libisal-dev"])]
        ),
                // libcurl from the system (Debian: libcurl4-openssl-dev), for alert delivery and event streams over HTTP.
        .systemLibrary(
            name: "CCurl",
            pkgConfig: "libcurl",
            providers: [.apt(["libcurl4-openssl-dev"])]
        ),
        // The NATS C client (Debian: libnats-dev), for NATS JetStream as an event source.
        .systemLibrary(
            name: "CNats",
            pkgConfig: "libnats",
            providers: [.apt(["libnats-dev"])]
        ),
        // GnuTLS (Debian: libgnutls28-dev), which libmicrohttpd serves TLS with: checks of the web
        // config's certificate and key, and of client certificates.
        .systemLibrary(
            name: "CGnuTLS",
            pkgConfig: "gnutls",
            providers: [.apt(["libgnutls28-dev"])]
        ),
        // libcrypt (Debian: libcrypt-dev, libxcrypt): bcrypt for the web config's basic_auth_users.
        .systemLibrary(
            name: "CCrypt",
            pkgConfig: "libcrypt",
            providers: [.apt(["libcrypt-dev"])]
        ),
        // The git commit being built, for build_info and --version (Plugins/GitRevision).
        .plugin(name: "GitRevision", capability: .buildTool()),
        .target(name: "BuildRevision", plugins: ["GitRevision"]),
        // The wall clock and the one monotonic clock: every other target reads time through these.
        .target(name: "Clocks"),
        // What config readers share: the one ConfigError (file, line, reason) and YAML parsing.
        .target(name: "ConfigFiles", dependencies: [.product(name: "Yams", package: "Yams")]),
        // The one HTTP client (libcurl's multi interface): alert delivery, the SSE source, top, export, simulate.
        .target(name: "HTTPClient", dependencies: ["Clocks", "CCurl"]),
        .target(name: "MicroHTTP", dependencies: [
            "Clocks", "ConfigFiles", "CMicroHTTPD", "CGnuTLS", "CCrypt", .product(name: "Yams", package: "Yams"),
            .product(name: "DequeModule", package: "swift-collections"),
        ]),
        .target(name: "HTTPCompression", dependencies: ["CISAL", "CZlib"]),
        .target(name: "Exposition"),
        .target(name: "Events", dependencies: ["CSimdJSON"]),
        .target(name: "EventSources", dependencies: ["Clocks", "Events", "HTTPClient", "CNats"]),
        .target(
            name: "Tracking",
            dependencies: [
                "Clocks", "Events", "Exposition", "CRE2", .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "HeapModule", package: "swift-collections"),
            ]
        ),
        .target(
            name: "Alerting",
            dependencies: [
                "Clocks", "ConfigFiles", "Tracking", "Events", "Exposition", "HTTPClient", .product(name: "Yams", package: "Yams"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "ExporterApp",
            dependencies: [
                "Clocks", "ConfigFiles", "HTTPClient", "MicroHTTP", "HTTPCompression", "CZlib", "Exposition", "Events", "EventSources", "Tracking",
                "Alerting", "BuildRevision",
                .product(name: "Logging", package: "swift-log"),
            ],
            // The live page's HTML, CSS and script as files (a linter reads them), in the resource
            // bundle beside the executable: progress-exporter_ExporterApp.resources.
            resources: [.copy("LivePage/Resources/index.html"), .copy("LivePage/Resources/live.css"), .copy("LivePage/Resources/live.js")]
        ),
        .executableTarget(
            name: "progress-exporter",
            dependencies: [
                "Clocks", "ConfigFiles", "ExporterApp", "Events", "EventSources", "HTTPClient", "Tracking",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "progress-bench",
            dependencies: ["Clocks", "ExporterApp", "Alerting", "Events", "Exposition", "Tracking", "TestSupport"],
            path: "Benchmarks/progress-bench"
        ),
        // What tests share: the manual clock, `eventually`, free ports.
        .target(name: "TestSupport", dependencies: ["Clocks", "Tracking", "CNats"], path: "Tests/TestSupport"),
        .testTarget(name: "EventsTests", dependencies: ["Events"], resources: [.copy("Fixtures")]),
        .testTarget(name: "EventSourcesTests", dependencies: ["TestSupport", "EventSources"]),
        .testTarget(name: "TrackingTests", dependencies: ["TestSupport", "Tracking", "Events", "Exposition", "CRE2"], exclude: ["Golden"]),
        .testTarget(name: "ExpositionTests", dependencies: ["TestSupport", "Exposition"]),
        .testTarget(name: "AlertingTests", dependencies: ["TestSupport", "Alerting", "HTTPClient", "Tracking", "Events"]),
        .testTarget(name: "MicroHTTPTests", dependencies: ["TestSupport", "MicroHTTP", "CCrypt"]),
        .testTarget(name: "HTTPCompressionTests", dependencies: ["HTTPCompression", "CZlib"]),
        .testTarget(name: "ExporterAppTests", dependencies: ["TestSupport", "ExporterApp", "Alerting", "MicroHTTP", .product(name: "Logging", package: "swift-log")]),
        .testTarget(name: "EndToEndTests", dependencies: ["TestSupport", "progress-exporter", "CCrypt"]),
    ],
    cxxLanguageStandard: .cxx17
)

// Strict settings for every Swift target, applied once.
for target in package.targets where target.type != .system && target.type != .plugin && !["CSimdJSON", "CRE2"].contains(target.name) {
    var settings = target.swiftSettings ?? []
    settings.append(.swiftLanguageMode(.v6))
    target.swiftSettings = settings
}

// The store and the exposition writer touch class properties several times per event and per
// sample line; in release builds each access cost a dynamic exclusivity check (swift_beginAccess,
// a thread-local access set), about a tenth of their time under perf. That check catches
// overlapping accesses to one property on one thread (a closure modifying what its caller is
// modifying); release builds of these two targets skip it. Debug builds, which the tests run,
// keep it, and the static checks stay on everywhere.
for target in package.targets where ["Tracking", "Exposition"].contains(target.name) {
    target.swiftSettings = (target.swiftSettings ?? []) + [
        .unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release)),
    ]
}

// libFuzzer targets (Fuzz/), declared only for scripts/fuzz.sh, which sets PROGRESS_EXPORTER_FUZZ=1
// and builds them into their own scratch path with -sanitize=fuzzer,address; the normal build
// never sees them.
if Context.environment["PROGRESS_EXPORTER_FUZZ"] == "1" {
    package.targets += [
        .target(name: "FuzzCommon", dependencies: ["Clocks", "Tracking", "Exposition", "Events"], path: "Fuzz/Sources/FuzzCommon"),
        .target(name: "CFuzzDriver", path: "Fuzz/Sources/CFuzzDriver"),
    ] + ["fuzz-native", "fuzz-prodigy", "fuzz-snapshot", "fuzz-http"].map { name in
        .executableTarget(
            name: name, dependencies: ["FuzzCommon", "CFuzzDriver", "ExporterApp", "Events", "Tracking"],
            path: "Fuzz/Sources/\(name)",
            swiftSettings: [.swiftLanguageMode(.v6)]
        )
    }
    package.products += ["fuzz-native", "fuzz-prodigy", "fuzz-snapshot", "fuzz-http"].map { .executable(name: $0, targets: [$0]) }
    if let common = package.targets.first(where: { $0.name == "FuzzCommon" }) { common.swiftSettings = [.swiftLanguageMode(.v6)] }
}
