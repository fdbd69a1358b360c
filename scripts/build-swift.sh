#!/usr/bin/env bash
# Generates the Swift sources of the Paywire package (bindings-swift/) from the same uniffi
# library the Python wheel is built from: Sources/Paywire/Paywire.swift, and the C header and
# module map under Headers/ that the XCFramework carries. CI runs it and fails on drift.
# Compiling Swift needs a Mac (this Linux machine has no Swift toolchain):
# bindings-swift/build-xcframework.sh builds the static libraries and the XCFramework there.
set -euo pipefail
cd "$(dirname "$0")/.."
# The library's uniffi metadata is the same in any profile: the workspace's debug build serves.
cargo build --quiet --locked --workspace --all-targets
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
./target/debug/uniffi-bindgen generate --library target/debug/libpaywire_ffi.so --language swift --out-dir "$out" >/dev/null
cp "$out/paywire_ffi.swift" bindings-swift/Sources/Paywire/Paywire.swift
cp "$out/paywire_ffiFFI.h" bindings-swift/Headers/paywire_ffiFFI.h
# An XCFramework's headers carry their module map under this name.
cp "$out/paywire_ffiFFI.modulemap" bindings-swift/Headers/module.modulemap
echo "generated bindings-swift: $(wc -l < bindings-swift/Sources/Paywire/Paywire.swift) lines of Swift"
