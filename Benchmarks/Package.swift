// swift-tools-version:6.1
// Benchmarks of the hot paths (ordo-one/benchmark), a package of its own so that the main build does not depend on
// the benchmark package. Run: `cd Benchmarks && swift package benchmark` (see README, "Performance").
import Foundation
import PackageDescription

/// A path dependency is named after its folder, whatever the clone is called.
let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().lastPathComponent.lowercased()

let package = Package(
    name: "signalbridge-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark.git", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "HotPaths",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "SignalBridgeCore", package: root),
                .product(name: "SignalBridgeFuzzing", package: root),
            ],
            path: "Benchmarks/HotPaths",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        )
    ]
)
