#!/usr/bin/env bash
# Builds the npm package @paywire/node in bindings-node/ as napi-rs publishes one:
#   1. bindings-js/src/types.ts from the core's schemas, and the shared host layer copied into
#      ts/host/ (the same sources @paywire/wasm builds);
#   2. the addon with `napi build --platform --release` (native/index.js is napi's loader,
#      native/index.d.ts its declarations, checked for drift by CI), placed in the platform
#      package npm/linux-x64-gnu/ (the loader finds it there once installed, or next to itself
#      while developing);
#   3. the TypeScript into dist/: CommonJS, with .mjs entries re-exporting it for `import`.
set -euo pipefail
cd "$(dirname "$0")/.."
PKG=bindings-node

node bindings-js/scripts/types.mjs
rm -rf "$PKG/ts/host" && mkdir -p "$PKG/ts/host" && cp bindings-js/src/*.ts "$PKG/ts/host/"
[ -x "$PKG/node_modules/.bin/napi" ] || (cd "$PKG" && npm ci --no-audit --no-fund --loglevel=error)

(cd "$PKG" && node_modules/.bin/napi build --platform --release --output-dir native >/dev/null)
cp "$PKG/native/paywire.linux-x64-gnu.node" "$PKG/npm/linux-x64-gnu/"

rm -rf "$PKG/dist"
(cd "$PKG" && node_modules/.bin/tsc -p tsconfig.json)
for entry in index express hono; do
  [ -f "$PKG/dist/$entry.js" ] && printf 'export * from "./%s.js";\n' "$entry" > "$PKG/dist/$entry.mjs"
done
echo "built $PKG: $(wc -c < "$PKG/native/paywire.linux-x64-gnu.node") bytes of addon"
