#!/usr/bin/env bash
# Checks that every package would publish, each the way its registry would serve it:
#   1. the crates (paywire-core, paywire-axum, paywire-reqwest, paywire-server): `cargo
#      package`, which also builds each from its own tarball (a file outside a crate, or a path
#      dependency without a version, fails here);
#   2. the npm packages (@paywire/wasm, @paywire/node and its platform package, as napi-rs
#      publishes them: the main package lists the platform one as an optional dependency):
#      `npm publish --dry-run`, then served by a registry on loopback (scripts/npm-registry.mjs)
#      and installed by name into a scratch project, which requires and imports both and calls
#      the core through each;
#   3. the Python sdist: `maturin sdist`, then `pip install` of the sdist into a fresh venv —
#      the wheel built from source — and the core called through it.
# Needs the npm packages built (scripts/build-wasm.sh, scripts/build-node.sh). Each check ends
# with a `packages: ok …` line.
# Usage: bash scripts/packages.sh
set -euo pipefail
cd "$(dirname "$0")/.."
scratch=$(mktemp -d)
registry=""
cleanup() {
  [ -n "$registry" ] && kill "$registry" 2>/dev/null
  rm -rf "$scratch"
}
trap cleanup EXIT
npm_quiet() { npm "$@" --no-audit --no-fund --loglevel=error; }

# ---- 1. crates ----
rm -f target/package/*.crate
# --allow-dirty: what is checked is the tree as it is (CI's is a clean clone).
if ! cargo package --locked --allow-dirty -p paywire-core -p paywire-axum -p paywire-reqwest -p paywire-server \
    >"$scratch/cargo-package.log" 2>&1; then
  grep -v '^ *Compiling' "$scratch/cargo-package.log" | tail -30
  echo "packages: cargo package failed" >&2
  exit 1
fi
for crate in paywire-core paywire-axum paywire-reqwest paywire-server; do
  [ -f "target/package/$crate-0.1.0.crate" ] || { echo "packages: $crate did not package" >&2; exit 1; }
done
echo "packages: ok crates (4 packaged, each built from its tarball)"

# ---- 2. npm ----
for built in bindings-wasm/dist/index.js bindings-node/dist/index.js bindings-node/npm/linux-x64-gnu/paywire.linux-x64-gnu.node; do
  [ -f "$built" ] || { echo "packages: $built is missing: run scripts/build-wasm.sh and scripts/build-node.sh" >&2; exit 1; }
done
mkdir -p "$scratch/tarballs" "$scratch/node"
# @paywire/node as napi-rs publishes it: its files, and the platform package as an optional
# dependency (npm installs the one matching the machine).
cp -r bindings-node/package.json bindings-node/README.md bindings-node/dist "$scratch/node/"
mkdir -p "$scratch/node/native" && cp bindings-node/native/index.js bindings-node/native/index.d.ts "$scratch/node/native/"
node -e '
  const fs = require("fs"), file = process.argv[1], p = JSON.parse(fs.readFileSync(file, "utf8"));
  p.optionalDependencies = Object.fromEntries(p.napi.targets.map(() => ["@paywire/node-linux-x64-gnu", p.version]));
  delete p.devDependencies; delete p.overrides; delete p.scripts;
  fs.writeFileSync(file, JSON.stringify(p, null, 2));' "$scratch/node/package.json"
for dir in bindings-wasm "$scratch/node" bindings-node/npm/linux-x64-gnu; do
  (cd "$dir" && npm_quiet publish --dry-run >/dev/null 2>"$scratch/publish.log") ||
    { cat "$scratch/publish.log"; echo "packages: npm publish --dry-run failed in $dir" >&2; exit 1; }
  (cd "$dir" && npm_quiet pack --pack-destination "$scratch/tarballs" >/dev/null)
done
node scripts/npm-registry.mjs "$scratch"/tarballs/*.tgz >"$scratch/registry.log" &
registry=$!
for _ in $(seq 1 100); do grep -q '^registry: ' "$scratch/registry.log" && break; sleep 0.1; done
url=$(sed -n 's/^registry: //p' "$scratch/registry.log")
mkdir -p "$scratch/project"
cd "$scratch/project"
printf '{ "name": "consumer", "private": true, "version": "1.0.0" }\n' > package.json
printf '@paywire:registry=%s\n' "$url" > .npmrc
npm_quiet install @paywire/node @paywire/wasm >/dev/null
[ -f node_modules/@paywire/node-linux-x64-gnu/paywire.linux-x64-gnu.node ] ||
  { echo "packages: installing @paywire/node did not bring its platform package" >&2; exit 1; }
cat > smoke.cjs <<'JS'
const node = require("@paywire/node");
const ring = new node.KeyRing("k1", new Uint8Array(32).fill(7));
const token = ring.issue({ id: "t", iss: "a", sub: "b", scope: { resource: "https://a.example/", methods: ["GET"] }, iat: 1, exp: 2_000_000_000, maxUses: null });
if (ring.verify(token, "GET", "https://a.example/x", 100, 0).claims.id !== "t") throw new Error("@paywire/node (require) does not verify");
if (node.parsePrice("$0.01", 6) !== "10000") throw new Error("@paywire/node parsePrice");
JS
cat > smoke.mjs <<'JS'
import * as wasm from "@paywire/wasm";
import { parsePrice } from "@paywire/node";
if (wasm.parsePrice("$0.01", 6) !== "10000" || parsePrice("0.5", 2) !== "50") throw new Error("parsePrice");
const policy = new wasm.Policy({ maxPerRequest: "0.10" });
const verdict = policy.evaluate({ amount: "0.50", network: "eip155:8453", asset: "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913", payTo: "0x209693Bc6afc0C5328bA36FaF03C514EF312287C" }, new wasm.Usage(), 1_700_000_000);
if (verdict.decision !== "deny") throw new Error(`@paywire/wasm (import) policy: ${JSON.stringify(verdict)}`);
JS
node smoke.cjs
node smoke.mjs
cd - >/dev/null
kill "$registry"; registry=""
echo "packages: ok npm (publish --dry-run, installed by name from a registry: @paywire/wasm, @paywire/node with its platform package)"

# ---- 3. the Python sdist ----
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -c "import maturin" 2>/dev/null || .venv/bin/pip install --quiet --disable-pip-version-check "maturin==1.16.0"
rm -f target/wheels/paywire-*.tar.gz
(cd bindings-python && ../.venv/bin/maturin sdist --out ../target/wheels 2>&1 | tail -1)
python3 -m venv "$scratch/venv"
# The wheel is built from the sdist's sources alone; the workspace's target directory only
# lends its compiled dependencies (a debug build: this checks that it builds and works).
CARGO_TARGET_DIR="$PWD/target" MATURIN_PEP517_ARGS="--profile dev" \
  "$scratch/venv/bin/pip" install --quiet --disable-pip-version-check target/wheels/paywire-*.tar.gz
(cd "$scratch" && venv/bin/python - <<'PY'
import paywire
assert paywire.parse_price("$0.01", 6) == "10000"
ring = paywire.KeyRing("k1", bytes([7]) * 32)
token = ring.issue({"id": "t", "iss": "a", "sub": "b", "scope": {"resource": "https://a.example/", "methods": ["GET"]}, "iat": 1, "exp": 2_000_000_000, "maxUses": None})
assert ring.verify(token, "GET", "https://a.example/x", 100, 0)["claims"]["id"] == "t"
PY
)
rm -f target/wheels/paywire-*.tar.gz
echo "packages: ok python (the sdist builds a wheel from source in a fresh venv, which works)"
