// swift-tools-version:5.9
// Paywire's core for Swift (iOS, macOS): the uniffi bindings generated from the same Rust
// library as the Python wheel (scripts/build-swift.sh regenerates Sources/ and Headers/; CI fails
// on drift). The native library comes as an XCFramework built on a Mac by build-xcframework.sh.
import PackageDescription

let package = Package(
    name: "Paywire",
    platforms: [.macOS(.v12), .iOS(.v15)],
    products: [
        .library(name: "Paywire", targets: ["Paywire"]),
    ],
    targets: [
        .binaryTarget(name: "paywire_ffiFFI", path: "paywire_ffiFFI.xcframework"),
        .target(name: "Paywire", dependencies: ["paywire_ffiFFI"], path: "Sources/Paywire"),
        .testTarget(name: "PaywireTests", dependencies: ["Paywire"], path: "Tests/PaywireTests"),
    ]
)
