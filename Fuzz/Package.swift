// swift-tools-version:6.1
// libFuzzer targets for the decoders that read strangers' bytes. Not part of the main build:
// `scripts/fuzz.sh` builds this package with -sanitize=fuzzer,address and runs each target.
import PackageDescription

let package = Package(
    name: "ctd-fuzz",
    dependencies: [.package(name: "ctd", path: "..")],
    targets: [
        .target(name: "FuzzDriver", dependencies: [.product(name: "FuzzTargets", package: "ctd")]),
        .executableTarget(name: "FuzzNIfTI", dependencies: ["FuzzDriver", .product(name: "FuzzTargets", package: "ctd")]),
        .executableTarget(name: "FuzzCheckpoint", dependencies: ["FuzzDriver", .product(name: "FuzzTargets", package: "ctd")]),
        .executableTarget(name: "FuzzSafeTensors", dependencies: ["FuzzDriver", .product(name: "FuzzTargets", package: "ctd")]),
        .executableTarget(name: "FuzzConfig", dependencies: ["FuzzDriver", .product(name: "FuzzTargets", package: "ctd")]),
        .executableTarget(name: "FuzzControl", dependencies: ["FuzzDriver", .product(name: "FuzzTargets", package: "ctd")]),
    ]
)
