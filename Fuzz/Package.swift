// swift-tools-version:6.2
// The coverage-guided fuzz target (libFuzzer), a package of its own so that the main build never links libFuzzer.
// Build and run: see README, "Hostile input".
import Foundation
import PackageDescription

/// A path dependency is named after its folder, whatever the clone is called.
let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().lastPathComponent.lowercased()

let package = Package(
    name: "signalbridge-fuzz",
    platforms: [.macOS(.v15)],
    dependencies: [.package(path: "..")],
    targets: [
        .executableTarget(
            name: "WebhookFuzzer",
            dependencies: [.product(name: "SignalBridgeFuzzing", package: root)],
            swiftSettings: [.enableUpcomingFeature("ExistentialAny"), .enableUpcomingFeature("MemberImportVisibility")]
        )
    ]
)
