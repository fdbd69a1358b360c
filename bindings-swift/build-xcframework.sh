#!/usr/bin/env bash
# Builds paywire_ffiFFI.xcframework on a Mac (Xcode and rustup): the paywire-python crate as a
# static library for macOS (arm64 + x86_64), iOS devices and the iOS simulator (arm64 + x86_64),
# with the generated C header and module map. Then `swift test` runs Tests/PaywireTests.
set -euo pipefail
cd "$(dirname "$0")/.."
targets=(aarch64-apple-darwin x86_64-apple-darwin aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios)
rustup target add "${targets[@]}"
for target in "${targets[@]}"; do
  cargo build --release --locked -p paywire-python --target "$target"
done
out=bindings-swift/build
rm -rf "$out" bindings-swift/paywire_ffiFFI.xcframework && mkdir -p "$out/macos" "$out/ios-sim"
lib=libpaywire_ffi.a
lipo -create target/aarch64-apple-darwin/release/$lib target/x86_64-apple-darwin/release/$lib -output "$out/macos/$lib"
lipo -create target/aarch64-apple-ios-sim/release/$lib target/x86_64-apple-ios/release/$lib -output "$out/ios-sim/$lib"
xcodebuild -create-xcframework \
  -library "$out/macos/$lib" -headers bindings-swift/Headers \
  -library target/aarch64-apple-ios/release/$lib -headers bindings-swift/Headers \
  -library "$out/ios-sim/$lib" -headers bindings-swift/Headers \
  -output bindings-swift/paywire_ffiFFI.xcframework
echo "built bindings-swift/paywire_ffiFFI.xcframework; run: (cd bindings-swift && swift test)"
