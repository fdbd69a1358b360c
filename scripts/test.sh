#!/usr/bin/env bash
# Runs every check of the repository: formatting, lints, all tests (unit, property, vectors;
# the server's on SQLite and PostgreSQL, including the kill -9 crash audit, the COMMIT fault
# injection and the slow-client limits), the vector-drift check, the wasm32 build of the core,
# the quickstart example, the README walk-through, the demo and the Rust examples (paywire-axum
# and paywire-reqwest over loopback), schemathesis against a live server, a
# 60-second smoke run of every fuzz target, the Python wheel's suites, the Swift drift check,
# and @paywire/wasm (vectors in Node, host layer
# against the server, npm pack, the workers entry, headless Chromium), and settlement on a
# real local EVM chain (anvil, the Solidity test token, ERC-1271, RPC failover).
# Usage: bash scripts/test.sh        (CI runs exactly this, through .ci/run)
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

# What a fresh machine with rustup lacks; each command is a no-op when already present.
step "toolchain components"
rustup component add rustfmt clippy >/dev/null
rustup target add wasm32-unknown-unknown >/dev/null

step "rustfmt"
cargo fmt --all -- --check

step "clippy (warnings denied)"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "a real local EVM chain (anvil) and solc-js from npm; the test contracts are up to date"
(cd tests/chain && npm ci --no-audit --no-fund --loglevel=error)
bash scripts/build-contracts.sh
if [ -n "$(git status --porcelain -- contracts)" ]; then
  git status --porcelain -- contracts
  echo "contracts/out differs from what solc compiles: run 'bash scripts/build-contracts.sh' and commit" >&2
  exit 1
fi

step "tests"
# The chain tests run against anvil; here a missing anvil fails them instead of skipping.
PAYWIRE_REQUIRE_CHAIN=1 cargo test --workspace --locked
# The workspace builds paywire-core with libsecp256k1 (the server asks for it); the pure-Rust
# k256 backend, which wasm uses, runs the vectors on its own.
cargo test --locked -p paywire-core --test vectors

step "shared vectors, wire schemas, the README's list of codes and the TypeScript types are up to date"
codes_before=$(sed -n '/codes:begin/,/codes:end/p' README.md | sha256sum)
cargo run --quiet --locked -p paywire-vectors
codes_after=$(sed -n '/codes:begin/,/codes:end/p' README.md | sha256sum)
if [ -n "$(git status --porcelain -- tests/vectors schemas)" ] || [ "$codes_before" != "$codes_after" ]; then
  git --no-pager diff --stat -- tests/vectors schemas README.md
  git status --porcelain -- tests/vectors schemas
  echo "tests/vectors/, schemas/ or README.md's list of codes differs from what the generator writes: run 'cargo run -p paywire-vectors' and commit" >&2
  exit 1
fi
node bindings-js/scripts/types.mjs --check
# The bindings' glue for the free functions is generated from one table.
python3 scripts/exports.py --check

# The EVM vectors come from an independent signer (eth-account); check them in both directions.
if command -v python3 >/dev/null 2>&1; then
  step "EVM vectors: eth-account drift check and recovery of Rust signatures"
  [ -x .venv/bin/python ] || python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check "eth-account==0.14.0"
  .venv/bin/python tests/vectors/evm_exact.py --check
else
  step "EVM vectors: skipped (no python3 on this machine)"
fi

step "paywire-core builds for wasm32-unknown-unknown"
cargo build --locked -p paywire-core --target wasm32-unknown-unknown

step "the quickstart example runs"
cargo run --quiet --locked -p example-quickstart >/dev/null

step "the README walk-through runs against the server (SQLite)"
cargo build --quiet --locked -p paywire-server
scratch=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
PAYWIRE_LOG=warn PAYWIRE_ADMIN_KEY=sk_admin_walkthrough_key ./target/debug/paywire-server --database-url "sqlite://$scratch/paywire.db" \
  --listen "127.0.0.1:$port" >"$scratch/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true; rm -rf "$scratch"' EXIT
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
bash scripts/walkthrough.sh sk_admin_walkthrough_key "http://127.0.0.1:$port" ./target/debug/paywire-server
kill $server

step "the demo runs: settlement server, a paywire-axum API, a paywire-reqwest agent (--payments 5)"
cargo build --quiet --locked -p paywire-sandbox -p example-agent -p example-provider
demo=$(mktemp -d)
demo_bin="$PWD/target/debug/paywire-demo"
(cd "$demo" && "$demo_bin" --listen 127.0.0.1:0 --payments 5) | tee "$demo/out.txt" | tail -n 3
grep -Eq '^demo: 5 payments settled, agent spent \$[0-9.]+, provider earned \$[0-9.]+$' <(tail -n 1 "$demo/out.txt")
grep -q 'refused before paying anything: policy_daily_limit_exceeded' "$demo/out.txt"
grep -q 'no payment needed (an access token' "$demo/out.txt"
rm -rf "$demo"

step "the examples run: example-agent alone, and paying example-provider"
./target/debug/example-agent | tail -n 2
provider_out=$(mktemp)
PAYWIRE_LISTEN=127.0.0.1:0 ./target/debug/example-provider >"$provider_out" 2>&1 &
provider=$!
for _ in $(seq 1 100); do grep -q '^Pay it with: ' "$provider_out" && break; sleep 0.1; done
credentials=$(sed -n 's/^Pay it with: \(.*\) cargo run -p example-agent$/\1/p' "$provider_out")
env $credentials ./target/debug/example-agent
kill -INT $provider; wait $provider || true
rm -f "$provider_out"

step "API fuzzing: schemathesis against a live server (SQLite and PostgreSQL)"
bash scripts/schemathesis.sh ./target/debug/paywire-server 30

step "fuzz smoke: every cargo-fuzz target of the core for 60 s (long runs: see the README)"
bash scripts/fuzz.sh 60

step "@paywire/wasm: build (wasm-bindgen CLI, wasm-opt, TypeScript)"
bash scripts/build-wasm.sh

step "@paywire/node: build (napi build --platform --release, TypeScript)"
bash scripts/build-node.sh
# napi writes the addon's declarations; they are checked in, like the vectors.
if [ -n "$(git status --porcelain -- bindings-node/native/index.d.ts)" ]; then
  git --no-pager diff -- bindings-node/native/index.d.ts | head -40
  echo "bindings-node/native/index.d.ts differs from what napi generates: run 'bash scripts/build-node.sh' and commit" >&2
  exit 1
fi

step "both engines: shared vectors, flow vectors, binding contract, host layer against paywire-server"
PAYWIRE_SERVER_BIN="$PWD/target/debug/paywire-server" node --test bindings-js/test/*.test.mjs

step "@paywire/wasm: node --test (parity, npm pack, workers, Chromium)"
# Headless Chromium for the browser test: Debian's package, installed when missing.
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then apt-get install -y -qq chromium >/dev/null || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }
  else sudo apt-get install -y -qq chromium >/dev/null; fi
fi
(cd bindings-wasm && PAYWIRE_SERVER_BIN="$PWD/../target/debug/paywire-server" node --test test/)

step "dashboard: headless Chromium against the demo (screenshots in target/dashboard/)"
(cd tests/dashboard && npm ci --no-audit --no-fund --loglevel=error && PAYWIRE_DEMO_BIN="$PWD/../../target/debug/paywire-demo" node --test)

step "@paywire/node: node --test (npm pack, require and import, types)"
(cd bindings-node && PAYWIRE_SERVER_BIN="$PWD/../target/debug/paywire-server" node --test test/)

step "paywire for Python: the wheel (maturin + uniffi), installed into a fresh venv"
bash scripts/build-python.sh
if [ -n "$(git status --porcelain -- bindings-python/python/paywire/types.py)" ]; then
  echo "bindings-python/python/paywire/types.py differs from what scripts/typeddicts.py generates: run 'bash scripts/build-python.sh' and commit" >&2
  exit 1
fi
pyenv=$(mktemp -d)
python3 -m venv "$pyenv/venv"
"$pyenv/venv/bin/pip" install --quiet --disable-pip-version-check target/wheels/paywire-*.whl \
  "httpx==0.28.1" "requests==2.32.5" "starlette==0.49.3" "fastapi==0.121.0" "uvicorn==0.38.0" \
  "eth-account==0.14.0" "x402[httpx,evm,fastapi]==2.25.0" "pytest==8.4.2" "pytest-benchmark==5.2.3" "mypy==1.18.2"

step "paywire for Python: vectors, binding contract, httpx/requests/ASGI against paywire-server, interop with Coinbase's x402, parity"
PAYWIRE_SERVER_BIN="$PWD/target/debug/paywire-server" "$pyenv/venv/bin/python" -m pytest -q -p no:cacheprovider bindings-python/tests
"$pyenv/venv/bin/python" -m pytest -q -p no:cacheprovider bindings-python/bench --benchmark-disable
"$pyenv/venv/bin/python" -m mypy --strict --no-incremental examples/python
# The Python agent example pays the Rust provider example.
provider_out=$(mktemp)
PAYWIRE_LISTEN=127.0.0.1:0 ./target/debug/example-provider >"$provider_out" 2>&1 &
provider=$!
for _ in $(seq 1 100); do grep -q '^Pay it with: ' "$provider_out" && break; sleep 0.1; done
credentials=$(sed -n 's/^Pay it with: \(.*\) cargo run -p example-agent$/\1/p' "$provider_out")
env $credentials "$pyenv/venv/bin/python" examples/python/agent.py
kill -INT $provider; wait $provider || true
rm -rf "$pyenv" "$provider_out"

step "Swift: the sources uniffi generates from the same library are up to date (compiled on a Mac only)"
bash scripts/build-swift.sh
if [ -n "$(git status --porcelain -- bindings-swift)" ]; then
  git status --porcelain -- bindings-swift
  echo "bindings-swift/ differs from what uniffi generates: run 'bash scripts/build-swift.sh' and commit" >&2
  exit 1
fi

step "interop: Coinbase's official x402 clients and middleware with Paywire, both ways (tests/interop)"
(cd tests/interop && npm ci --no-audit --no-fund --loglevel=error && PAYWIRE_SERVER_BIN="$PWD/../../target/debug/paywire-server" node --test)

step "on a real chain: @x402/express with paywire-server settling on anvil; @x402/fetch and Paywire's wrapFetch pay (scripts/chain-e2e.sh)"
bash scripts/chain-e2e.sh

step "all checks passed"
