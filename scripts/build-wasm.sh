#!/usr/bin/env bash
# Builds the npm package @paywire/wasm in bindings-wasm/:
#   0. bindings-js/src/types.ts from schemas/wire.schema.json (paywire-core's types), and the
#      shared host layer (bindings-js/src) copied into ts/host/;
#   1. paywire-wasm for wasm32-unknown-unknown (release profile);
#   2. wasm-bindgen's `web` glue into bindings-wasm/pkg/ — one ES module used by every entry
#      (web: explicit init; node: reads the .wasm file; workers: imports the .wasm module);
#   3. wasm-opt from npm's binaryen (Debian's binaryen 108 produces broken modules);
#   4. the TypeScript host layer (wrapFetch, paywall) into bindings-wasm/dist/.
# Installs what it lacks: the wasm32 target, the wasm-bindgen CLI matching Cargo.lock, npm packages.
set -euo pipefail
cd "$(dirname "$0")/.."
PKG=bindings-wasm

rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
# The CLI must equal the wasm-bindgen crate exactly; take the version from Cargo.lock.
WB=$(grep -A1 '^name = "wasm-bindgen"$' Cargo.lock | sed -n 's/^version = "\(.*\)"$/\1/p')
if ! wasm-bindgen --version 2>/dev/null | grep -qx "wasm-bindgen $WB"; then
  echo "installing wasm-bindgen-cli $WB (about 2 minutes)"
  # No --locked: the CLI's own lockfile pins a yanked webpki-roots.
  cargo install wasm-bindgen-cli --version "=$WB"
fi
[ -x "$PKG/node_modules/.bin/wasm-opt" ] || (cd "$PKG" && npm ci --no-audit --no-fund)

# The TypeScript declarations of the JSON shapes, from the core's schemas (the wasm module's
# .d.ts includes them), and the host layer both packages share.
node bindings-js/scripts/types.mjs
rm -rf "$PKG/ts/host" && mkdir -p "$PKG/ts/host" && cp bindings-js/src/*.ts "$PKG/ts/host/"
cargo build -p paywire-wasm --target wasm32-unknown-unknown --profile wasm-release --locked
rm -rf "$PKG/pkg"
wasm-bindgen target/wasm32-unknown-unknown/wasm-release/paywire_wasm.wasm --out-dir "$PKG/pkg" --target web
# -O3, not -Oz: signature recovery and token checks are the hot paths; -O3 stays well inside
# the size budget (see the README).
"$PKG/node_modules/.bin/wasm-opt" -O3 "$PKG/pkg/paywire_wasm_bg.wasm" -o "$PKG/pkg/paywire_wasm_bg.wasm"
rm -rf "$PKG/dist"
(cd "$PKG" && node_modules/.bin/tsc -p tsconfig.json)
# CommonJS: the package is ES modules, which Node >= 20.19 loads with require() (older Node
# needs import()). The .wasm ships once, in pkg/, which every entry reads.
cat > "$PKG/dist/node.cjs" <<'CJS'
// CommonJS entry of @paywire/wasm for Node: the package is ES modules, which Node >= 20.19
// (and 22.12) loads synchronously with require(). On older Node use import("@paywire/wasm").
module.exports = require("./node.js");
CJS
echo "built $PKG: $(wc -c < "$PKG/pkg/paywire_wasm_bg.wasm") bytes of wasm, $(gzip -9c "$PKG/pkg/paywire_wasm_bg.wasm" | wc -c) gzipped"
