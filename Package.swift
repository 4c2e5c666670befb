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
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
    ],
    targets: [
        // MARK: System-library shims
        .systemLibrary(name: "CZlib", path: "Sources/CZlib"),
        .systemLibrary(name: "CDeflate", path: "Sources/CDeflate"),
        .target(name: "Zlib", dependencies: ["CZlib", "CDeflate"]),
        .systemLibrary(name: "CDNNL", path: "Sources/CDNNL"),
        .target(name: "AtomicFile"),
        .target(name: "SeededRandom"),
        .target(name: "ContentHash", dependencies: [.product(name: "Crypto", package: "swift-crypto")]),

        // MARK: ① Inbox and ingest: reading scans, preprocessing them
        .target(name: "NIfTI", dependencies: ["Zlib"]),
        .target(name: "Preprocess", dependencies: ["NIfTI"]),

        // MARK: ③ Train and ④ predict: the compute engine
        .target(name: "Engine", dependencies: ["CDNNL"]),
        .target(name: "Model", dependencies: ["Engine", "SeededRandom", "AtomicFile"]),
        .target(name: "Training", dependencies: ["Model", "Engine", "Preprocess", "NIfTI", "SeededRandom", "ContentHash", "AtomicFile", "Reports"]),

        // MARK: ⑤ Outbox: reports and pictures
        .target(name: "Reports", dependencies: ["Zlib"]),

        // MARK: Synthetic data and benchmarks
        .target(name: "Synth", dependencies: ["NIfTI", "AtomicFile", "SeededRandom"]),
        .target(name: "Benchmarks", dependencies: ["NIfTI", "Preprocess", "Synth", "Model", "Engine", "Training"]),

        // MARK: Executables: argument parsing only
        .executableTarget(name: "ctd", dependencies: [
            "NIfTI", "Preprocess", "Synth", "Model", "Training", "Benchmarks", "AtomicFile",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "ctctl", dependencies: [
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
        .testTarget(name: "CLITests", dependencies: ["CTDTestSupport", "NIfTI", "Preprocess"]),
    ]
)
