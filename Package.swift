// swift-tools-version:6.1
// Targets are listed in pipeline order: inbox → ingest → cache → train → predict → outbox.
// See docs/LAYOUT.md for what each one holds.
import PackageDescription

let package = Package(
    name: "ctd",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "ctd", targets: ["ctd"]),
        .executable(name: "ctctl", targets: ["ctctl"]),
        // For Fuzz/Package.swift, which builds the fuzzers with -sanitize=fuzzer.
        .library(name: "FuzzTargets", targets: ["FuzzTargets"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-configuration", from: "1.4.0",
                 traits: [.defaults, "YAML", "CommandLineArguments"]),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        // Already in the graph (swift-configuration's YAML trait): reads a file's keys to refuse unknown ones.
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: [
        // MARK: System-library shims
        .systemLibrary(name: "CZlib", path: "Sources/CZlib"),
        .systemLibrary(name: "CDeflate", path: "Sources/CDeflate"),
        .target(name: "Zlib", dependencies: ["CZlib", "CDeflate"]),
        .systemLibrary(name: "CDNNL", path: "Sources/CDNNL"),
        .systemLibrary(name: "CSystemd", path: "Sources/CSystemd"),
        .systemLibrary(name: "CSocket", path: "Sources/CSocket"),
        .target(name: "UnixSocket", dependencies: ["CSocket"]),
        .target(name: "AtomicFile"),
        .target(name: "SeededRandom"),
        .target(name: "Version"),
        .target(name: "ContentHash", dependencies: [.product(name: "Crypto", package: "swift-crypto")]),

        // MARK: ① Inbox and ingest: reading scans, preprocessing them
        .target(name: "NIfTI", dependencies: ["Zlib"]),
        .target(name: "Preprocess", dependencies: ["NIfTI", "AtomicFile", "ContentHash"]),

        // MARK: ② Cache: the catalog of scans, cache tensors, jobs, runs and predictions
        .target(name: "Catalog", dependencies: [.product(name: "GRDB", package: "GRDB.swift")]),
        // The training set as .npy shards and a manifest, for training elsewhere (PyTorch: trainer/).
        .target(name: "Export", dependencies: ["Preprocess", "ContentHash", "AtomicFile"]),

        // MARK: ③ Train and ④ predict: the compute engine
        // 2×2×2 max pooling for the first block's pieces, on oneDNN's OpenMP (libgomp) threads.
        .target(name: "CPoolKernels", cSettings: [.unsafeFlags(["-O3"])], linkerSettings: [.linkedLibrary("gomp")]),
        .target(name: "Engine", dependencies: ["CDNNL", "CPoolKernels"]),
        .target(name: "Model", dependencies: ["Engine", "SeededRandom", "AtomicFile"]),
        .target(name: "Training", dependencies: ["Model", "Engine", "Preprocess", "NIfTI", "SeededRandom", "ContentHash", "AtomicFile", "Reports", "Export", "Version"]),

        // MARK: ⑤ Outbox: reports and pictures
        .target(name: "Reports", dependencies: ["Zlib"]),

        // MARK: The daemon: pure decisions, the control protocol, then the services at the edges
        .target(name: "Scheduling"),
        .target(name: "ControlProtocol", dependencies: ["Version"]),
        .target(name: "ControlClient", dependencies: ["ControlProtocol", "UnixSocket", "Scheduling", "Export", "Preprocess", "ContentHash", "Version"]),
        .target(name: "Daemon", dependencies: [
            "Catalog", "Scheduling", "Training", "CSystemd", "ControlProtocol", "UnixSocket", "Engine", "Model", "Preprocess", "NIfTI", "Reports", "ContentHash", "AtomicFile", "Version",
            .product(name: "Configuration", package: "swift-configuration"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            .product(name: "Yams", package: "Yams"),
        ]),

        // MARK: Synthetic data and benchmarks
        // Optimised in debug builds too: the tests draw hundreds of scans (the shortcut audit).
        .target(name: "Synth", dependencies: ["NIfTI", "AtomicFile", "SeededRandom"], swiftSettings: [.unsafeFlags(["-O"], .when(configuration: .debug))]),
        // A second generator that shares none of Synth's drawing code (only its public Phantom).
        .target(name: "IndependentSynth", dependencies: ["Synth", "SeededRandom"], swiftSettings: [.unsafeFlags(["-O"], .when(configuration: .debug))]),
        .target(name: "Benchmarks", dependencies: ["NIfTI", "Preprocess", "Synth", "Model", "Engine", "Training", "Daemon", "Catalog",
                                                  "AtomicFile", .product(name: "Logging", package: "swift-log")]),

        // MARK: Hostile input: the decoders fuzzed by Fuzz/ and replayed by FuzzTargetsTests
        .target(name: "FuzzTargets", dependencies: ["NIfTI", "Model", "ControlProtocol", "Daemon"]),

        // MARK: Executables: argument parsing only
        .executableTarget(name: "ctd", dependencies: [
            "NIfTI", "Preprocess", "Synth", "IndependentSynth", "Model", "Training", "Benchmarks", "AtomicFile", "Daemon", "Export", "Version",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "ctctl", dependencies: [
            "ControlClient", "ControlProtocol", "Export", "UnixSocket", "Version",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        // MARK: Tests (mirror Sources)
        .target(name: "CTDTestSupport", dependencies: ["NIfTI", "Preprocess"], path: "Tests/CTDTestSupport"),
        .testTarget(name: "ZlibTests", dependencies: ["Zlib"]),
        .testTarget(name: "NIfTITests", dependencies: ["NIfTI", "Zlib", "CTDTestSupport"]),
        .testTarget(name: "PreprocessTests", dependencies: ["Preprocess", "NIfTI", "CTDTestSupport"]),
        .testTarget(name: "EngineTests", dependencies: ["Engine"]),
        .testTarget(name: "ModelTests", dependencies: ["Model", "Engine", "SeededRandom", "CTDTestSupport"]),
        .testTarget(name: "TrainingTests", dependencies: ["Training", "Model", "Preprocess", "NIfTI", "CTDTestSupport"]),
        .testTarget(name: "ReportsTests", dependencies: ["Reports", "Zlib", "CZlib"]),
        .testTarget(name: "SynthTests", dependencies: ["Synth", "NIfTI", "Preprocess"]),
        .testTarget(name: "BenchmarksTests", dependencies: ["Benchmarks", "Synth", "Training", "CTDTestSupport"]),
        .testTarget(name: "IndependentSynthTests", dependencies: ["IndependentSynth", "Synth", "NIfTI", "Preprocess"]),
        .testTarget(name: "CatalogTests", dependencies: ["Catalog", "CTDTestSupport"]),
        .testTarget(name: "ExportTests", dependencies: ["Export", "Preprocess"]),
        .testTarget(name: "SchedulingTests", dependencies: ["Scheduling"]),
        .testTarget(name: "DaemonTests", dependencies: ["Daemon", "Catalog", "Scheduling", "Training", "NIfTI", "Synth", "ContentHash", "CTDTestSupport",
                                                    "AtomicFile", .product(name: "GRDB", package: "GRDB.swift")]),
        .testTarget(name: "EndToEndTests", dependencies: ["Catalog", "CTDTestSupport", "ControlProtocol", "ControlClient", "UnixSocket", "Export", "Preprocess"]),
        .testTarget(name: "ControlProtocolTests", dependencies: ["ControlProtocol"]),
        .testTarget(name: "ControlClientTests", dependencies: ["ControlClient", "ControlProtocol"]),
        .testTarget(name: "FuzzTargetsTests", dependencies: ["FuzzTargets"], resources: [.copy("Inputs")]),
        .testTarget(name: "CLITests", dependencies: ["CTDTestSupport", "NIfTI", "Preprocess"]),
    ]
)
