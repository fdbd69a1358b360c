#!/usr/bin/env bash
# Runs every check of the repository, in parts (`--only <part>[,<part>…]` runs some; CI runs
# all of them, through .ci/run):
#   lint      rustfmt, clippy (warnings denied)
#   rust      every cargo test (unit, property, vectors, the server's suites on SQLite and
#             PostgreSQL with the crash, fault and limits tests, its chain tests on anvil), the
#             drift checks (vectors, schemas, codes, TypeScript types, binding glue, contracts),
#             eth-account's EVM vectors, the core on wasm32 and with its pure-Rust signature
#             backend, quickstart
#   server    the README's walk-through against a live server, schemathesis (both databases)
#   demo      the demo (--payments 5) and both Rust examples over loopback
#   fuzz      every cargo-fuzz target for 60 s (two at a time)
#   js        @paywire/wasm and @paywire/node built and tested (vectors, host layer against the
#             server, paid MCP tools, npm pack, workers entry, headless Chromium), the dashboard
#   python    the wheel in a fresh venv: vectors, binding contract, hosts (HTTP and MCP), x402
#             interop, mypy; with js, scripts/mcp-e2e.sh (each MCP client pays each server)
#   swift     the Swift sources uniffi generates, checked for drift
#   interop   Coinbase's official x402 clients and middleware against Paywire, both ways
#   chain     a real local EVM chain (anvil): Coinbase's SDK settling through paywire-server
#             (scripts/chain-e2e.sh), and the server's chain tests when 'rust' did not run them
#   packages  each crate packages, the npm tarballs install as a registry serves them and pass
#             `npm publish --dry-run`, the Python sdist builds a working wheel
# It checks first that the machine has what the parts need (and says how to get what it
# lacks), builds the workspace once in debug and reuses it, ends with one line per suite and
# `N passed, 0 failed`, and fails if the run left the clone dirty.
# Usage: bash scripts/test.sh [--only <part>[,<part>…]] [--list]
set -euo pipefail
cd "$(dirname "$0")/.."

PARTS=(lint rust server demo fuzz js python swift interop chain packages)
ONLY=""
while [ $# -gt 0 ]; do
  case "$1" in
    --only) ONLY=${2:?--only needs a part}; shift 2 ;;
    --only=*) ONLY=${1#--only=}; shift ;;
    --list) printf '%s\n' "${PARTS[@]}"; exit 0 ;;
    -h|--help) sed -n '2,26p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
done
for part in ${ONLY//,/ }; do
  [[ " ${PARTS[*]} " == *" $part "* ]] || { echo "no part named $part: ${PARTS[*]}" >&2; exit 2; }
done
want() { [ -z "$ONLY" ] || [[ ",$ONLY," == *",$1,"* ]]; }

# ---- the summary: one line per suite, and the totals ----
SUMMARY=$(mktemp)
LOGS=$(mktemp -d)
STARTED=$(date +%s)
CURRENT=""
elapsed() { printf '%d:%02d' $(( ($(date +%s) - STARTED) / 60 )) $(( ($(date +%s) - STARTED) % 60 )); }
step() { CURRENT="$*"; printf '\n==> [%s] %s\n' "$(elapsed)" "$*"; }
# record <suite> <passed> <failed> [detail]
record() { printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "${4:-}" >>"$SUMMARY"; }
check() { record "$1" 1 0 "${2:-}"; }
cargo_counts() { awk '/^test result:/ {p += $4; f += $6} END {print p + 0, f + 0}' "$1"; }
node_counts() { awk '/^# pass / {p += $3} /^# fail / {f += $3} END {print p + 0, f + 0}' "$1"; }
# `mcp: N of M paid tool calls settled`: N passed, M - N failed.
mcp_counts() { sed -n 's/^mcp: \([0-9]*\) of \([0-9]*\) paid tool calls settled$/\1 \2/p' "$1" | awk '{print $1, $2 - $1} END {if (NR == 0) print 0, 1}'; }
pytest_counts() {
  tail -n 3 "$1" | grep -Eo '[0-9]+ (passed|failed)' | awk '/passed/ {p += $1} /failed/ {f += $1} END {print p + 0, f + 0}'
}
# suite <name> <counter> <command…>: runs the command with its output shown and kept, and
# records its counts (a failing command fails the run, after the summary).
suite() {
  local name=$1 counter=$2 log
  shift 2
  log="$LOGS/$(echo "$name" | tr -c 'a-zA-Z0-9' _).log"
  "$@" 2>&1 | tee "$log"
  read -r passed failed < <("$counter" "$log")
  record "$name" "$passed" "$failed"
  [ "$failed" = 0 ] || { echo "$name: $failed failed" >&2; return 1; }
}
finish() {
  local status=$?
  [ -n "${server:-}" ] && kill "$server" 2>/dev/null
  [ -n "${provider:-}" ] && kill "$provider" 2>/dev/null
  printf '\n==> summary (%s)\n' "$(elapsed)"
  awk -F'\t' '{printf "  %-58s %6d passed, %d failed%s\n", $1, $2, $3, ($4 == "" ? "" : "  (" $4 ")"); p += $2; f += $3}
      END {printf "%d passed, %d failed\n", p, f}' "$SUMMARY"
  if [ $status -ne 0 ]; then echo "FAILED during: $CURRENT" >&2; fi
  rm -rf "$SUMMARY" "$LOGS"
  exit $status
}
trap finish EXIT

# ---- what the machine needs, checked first ----
step "preflight: what the parts need"
missing=()
need() { command -v "$1" >/dev/null 2>&1 || missing+=("$1 — $2"); }
need cargo "Rust through rustup: https://rustup.rs"
need rustup "Rust through rustup: https://rustup.rs"
need cc "a C compiler for the crates that build C (SQLite, aws-lc): apt-get install build-essential"
need git "apt-get install git"
need curl "apt-get install curl"
need jq "the README's walk-through reads answers with it: apt-get install jq"
need python3 "Python 3.9 or newer: apt-get install python3"
if command -v python3 >/dev/null && ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
  missing+=("python3 venv — apt-get install python3-venv")
fi
if want js || want interop || want chain || want packages || want rust; then
  need node "Node.js 20.19 or newer (https://nodejs.org, or your distribution's nodejs)"
  need npm "npm, with Node.js"
  if command -v node >/dev/null; then
    node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)' ||
      missing+=("Node.js $(node --version) is too old — 20.19 or newer")
  fi
fi
POSTGRES_URL=${PAYWIRE_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}
if want rust || want server || want chain; then
  need psql "the PostgreSQL client: apt-get install postgresql-client"
  if command -v psql >/dev/null && ! psql "$POSTGRES_URL" -qtAc 'SELECT 1' >/dev/null 2>&1; then
    missing+=("PostgreSQL at $POSTGRES_URL — run one with a passwordless postgres role and a database named test (apt-get install postgresql; trust auth on 127.0.0.1), or point PAYWIRE_TEST_POSTGRES_URL at yours")
  fi
fi
if (want js || want packages) && ! command -v chromium >/dev/null; then
  if [ "$(id -u)" != 0 ] && ! sudo -n true 2>/dev/null; then
    missing+=("chromium — the browser tests install Debian's package, which needs root or passwordless sudo: apt-get install chromium")
  fi
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "This machine lacks what the tests need:" >&2
  printf '  - %s\n' "${missing[@]}" >&2
  exit 1
fi
check "preflight"

# What a fresh machine with rustup lacks; each command is a no-op when already present.
rustup component add rustfmt clippy >/dev/null
rustup target add wasm32-unknown-unknown >/dev/null

debug_built=""
# The workspace in debug, once: every target — the tests and the binaries the later parts run —
# with one resolution of features (a `cargo build` of the binaries alone would leave out the
# dev-dependencies' features and compile much of the workspace again).
debug_build() {
  [ -n "$debug_built" ] && return
  step "the workspace, built once in debug (the tests, and the binaries the parts below run)"
  cargo build --workspace --locked --all-targets
  debug_built=1
}
[ -x .venv/bin/python ] || python3 -m venv .venv

chain_ready=""
# anvil and solc-js from npm (tests/chain), and the contracts they compile, checked for drift.
chain_tools() {
  [ -n "$chain_ready" ] && return
  step "a real local EVM chain (anvil) and solc-js from npm; the test contracts are up to date"
  (cd tests/chain && npm ci --no-audit --no-fund --loglevel=error)
  bash scripts/build-contracts.sh
  if [ -n "$(git status --porcelain -- contracts server/contracts)" ]; then
    git status --porcelain -- contracts server/contracts
    echo "contracts/out or server/contracts differs from what solc compiles: run 'bash scripts/build-contracts.sh' and commit" >&2
    exit 1
  fi
  check "contracts: no drift"
  chain_ready=1
}

if want lint; then
  step "rustfmt"
  cargo fmt --all -- --check
  check "rustfmt"
  step "clippy (warnings denied)"
  cargo clippy --workspace --all-targets --locked -- -D warnings
  check "clippy, warnings denied"
fi

if want rust; then
  chain_tools
  debug_build
  step "cargo test: every crate (the server's suites on SQLite and PostgreSQL, its chain tests on anvil)"
  # A missing anvil fails the chain tests here instead of skipping them.
  suite "cargo test --workspace (SQLite, PostgreSQL, anvil)" cargo_counts env PAYWIRE_REQUIRE_CHAIN=1 cargo test --workspace --locked
  # The workspace builds paywire-core with libsecp256k1 (the server asks for it); the pure-Rust
  # k256 backend, which wasm uses, runs the vectors on its own.
  suite "paywire-core vectors on k256" cargo_counts cargo test --locked -p paywire-core --test vectors

  step "shared vectors, wire schemas, the README's list of codes, TypeScript types, binding glue are up to date"
  codes_before=$(sed -n '/codes:begin/,/codes:end/p' README.md | sha256sum)
  # The workspace's build of the generator (`cargo run -p` would resolve features apart and
  # compile the core again).
  ./target/debug/paywire-vectors
  codes_after=$(sed -n '/codes:begin/,/codes:end/p' README.md | sha256sum)
  if [ -n "$(git status --porcelain -- tests/vectors schemas)" ] || [ "$codes_before" != "$codes_after" ]; then
    git --no-pager diff --stat -- tests/vectors schemas README.md
    git status --porcelain -- tests/vectors schemas
    echo "tests/vectors/, schemas/ or README.md's list of codes differs from what the generator writes: run 'cargo run -p paywire-vectors' and commit" >&2
    exit 1
  fi
  check "vectors, schemas and codes: no drift"
  node bindings-js/scripts/types.mjs --check
  check "TypeScript types: no drift"
  python3 scripts/exports.py --check
  check "binding glue (exports.toml): no drift"

  # The EVM vectors come from an independent signer (eth-account); check them in both directions.
  step "EVM vectors: eth-account drift check and recovery of Rust signatures"
  .venv/bin/pip install --quiet --disable-pip-version-check "eth-account==0.14.0"
  .venv/bin/python tests/vectors/evm_exact.py --check
  check "EVM vectors against eth-account"

  # The js part builds the core for wasm32 (release) inside @paywire/wasm; alone, this part
  # checks it builds there.
  if ! want js; then
    step "paywire-core builds for wasm32-unknown-unknown"
    cargo build --locked -p paywire-core --target wasm32-unknown-unknown
    check "paywire-core on wasm32"
  fi

  step "the quickstart example runs"
  ./target/debug/example-quickstart >/dev/null
  check "example-quickstart"
fi

if want server; then
  debug_build
  step "the README walk-through, as written, against the server (SQLite)"
  scratch=$(mktemp -d)
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  PAYWIRE_LOG=warn PAYWIRE_ADMIN_KEY=sk_admin_walkthrough_key ./target/debug/paywire-server --database-url "sqlite://$scratch/paywire.db" \
    --listen "127.0.0.1:$port" >"$scratch/server.log" 2>&1 &
  server=$!
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
  bash scripts/walkthrough.sh sk_admin_walkthrough_key "http://127.0.0.1:$port" ./target/debug/paywire-server
  kill $server; server=""
  rm -rf "$scratch"
  check "README walk-through"

  step "API fuzzing: schemathesis against a live server (SQLite and PostgreSQL)"
  bash scripts/schemathesis.sh ./target/debug/paywire-server 30 | tee "$LOGS/schemathesis.log"
  for db in sqlite postgres; do
    cases=$(sed -n "s/^schemathesis ($db): \([0-9][0-9]*\) generated.*/\1/p" "$LOGS/schemathesis.log")
    record "schemathesis ($db)" "${cases:-0}" 0 "generated cases, no 5xx, answers as documented"
  done
fi

if want demo; then
  debug_build
  step "the demo runs: settlement server, a paywire-axum API, a paywire-reqwest agent (--payments 5)"
  demo=$(mktemp -d)
  demo_bin="$PWD/target/debug/paywire-demo"
  (cd "$demo" && "$demo_bin" --listen 127.0.0.1:0 --payments 5) | tee "$demo/out.txt" | tail -n 3
  grep -Eq '^demo: 5 payments settled, agent spent \$[0-9.]+, provider earned \$[0-9.]+$' <(tail -n 1 "$demo/out.txt")
  grep -q 'refused before paying anything: policy_daily_limit_exceeded' "$demo/out.txt"
  grep -q 'no payment needed (an access token' "$demo/out.txt"
  # Run again on the same database: it reuses its provider and agent and says how to sign in.
  (cd "$demo" && "$demo_bin" --listen 127.0.0.1:0 --payments 5) >"$demo/again.txt"
  grep -Eq '^demo: 5 payments settled' <(tail -n 1 "$demo/again.txt")
  grep -q 'reusing the provider' "$demo/again.txt"
  grep -q 'as the operator with' "$demo/again.txt"
  rm -rf "$demo"
  check "the demo, twice on one database"

  step "the examples run: example-agent alone, and paying example-provider"
  ./target/debug/example-agent | tail -n 2
  provider_out=$(mktemp)
  PAYWIRE_LISTEN=127.0.0.1:0 ./target/debug/example-provider >"$provider_out" 2>&1 &
  provider=$!
  for _ in $(seq 1 100); do grep -q '^Pay it with: ' "$provider_out" && break; sleep 0.1; done
  credentials=$(sed -n 's/^Pay it with: \(.*\) cargo run -p example-agent$/\1/p' "$provider_out")
  env $credentials ./target/debug/example-agent
  kill -INT $provider; wait $provider || true; provider=""
  rm -f "$provider_out"
  check "example-agent and example-provider"
fi

if want fuzz; then
  step "fuzz smoke: every cargo-fuzz target of the core for 60 s, two at a time (long runs: see the README)"
  bash scripts/fuzz.sh 60 | tee "$LOGS/fuzz.log"
  targets=$(grep -c ', 0 crashes$' "$LOGS/fuzz.log" || true)
  runs=$(sed -n 's/^fuzz: [a-z_]*: \([0-9]*\) runs.*/\1/p' "$LOGS/fuzz.log" | awk '{s += $1} END {print s + 0}')
  record "fuzz targets, 60 s each" "$targets" 0 "$runs runs, 0 crashes"
fi

if want js || want packages; then
  debug_build
  step "@paywire/wasm: build (wasm-bindgen CLI, wasm-opt, TypeScript)"
  bash scripts/build-wasm.sh
  want rust && check "paywire-core on wasm32 (in @paywire/wasm)"
  step "@paywire/node: build (napi build --platform --release, TypeScript)"
  bash scripts/build-node.sh
  # napi writes the addon's declarations; they are checked in, like the vectors.
  if [ -n "$(git status --porcelain -- bindings-node/native/index.d.ts)" ]; then
    git --no-pager diff -- bindings-node/native/index.d.ts | head -40
    echo "bindings-node/native/index.d.ts differs from what napi generates: run 'bash scripts/build-node.sh' and commit" >&2
    exit 1
  fi
fi

if want js; then
  # Headless Chromium for the browser tests: Debian's package, installed when missing.
  if ! command -v chromium >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ]; then apt-get install -y -qq chromium >/dev/null || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }
    else sudo apt-get install -y -qq chromium >/dev/null; fi
  fi
  step "both engines: shared vectors, flow vectors, binding contract, host layer against paywire-server"
  suite "both JS engines (node --test bindings-js/test)" node_counts env PAYWIRE_SERVER_BIN="$PWD/target/debug/paywire-server" node --test bindings-js/test/*.test.mjs
  step "paid MCP tools: mcpPaywall and wrapMcpClient (both engines) over the official MCP SDK, against paywire-server"
  suite "MCP tools in JS (tests/mcp)" node_counts bash -c 'cd tests/mcp && npm ci --no-audit --no-fund --loglevel=error && PAYWIRE_SERVER_BIN="$PWD/../../target/debug/paywire-server" node --test'
  step "@paywire/wasm: node --test (parity, npm pack, workers, Chromium)"
  suite "@paywire/wasm (npm pack, workers, Chromium)" node_counts bash -c 'cd bindings-wasm && PAYWIRE_SERVER_BIN="$PWD/../target/debug/paywire-server" node --test test/*.test.mjs'
  step "dashboard: headless Chromium against the demo (screenshots in target/dashboard/)"
  suite "dashboard in Chromium" node_counts bash -c 'cd tests/dashboard && npm ci --no-audit --no-fund --loglevel=error && PAYWIRE_DEMO_BIN="$PWD/../../target/debug/paywire-demo" PAYWIRE_SERVER_BIN="$PWD/../../target/debug/paywire-server" node --test'
  step "@paywire/node: node --test (npm pack, require and import, types)"
  suite "@paywire/node (npm pack, require, import, types)" node_counts bash -c 'cd bindings-node && PAYWIRE_SERVER_BIN="$PWD/../target/debug/paywire-server" node --test test/'
fi

if want python || want packages; then
  step "paywire for Python: the wheel (maturin + uniffi)"
  bash scripts/build-python.sh
  if [ -n "$(git status --porcelain -- bindings-python/python/paywire/types.py)" ]; then
    echo "bindings-python/python/paywire/types.py differs from what scripts/typeddicts.py generates: run 'bash scripts/build-python.sh' and commit" >&2
    exit 1
  fi
fi

if want python; then
  debug_build
  pyenv=$(mktemp -d)
  python3 -m venv "$pyenv/venv"
  "$pyenv/venv/bin/pip" install --quiet --disable-pip-version-check target/wheels/paywire-*.whl \
    "httpx==0.28.1" "requests==2.32.5" "starlette==0.49.3" "fastapi==0.121.0" "uvicorn==0.38.0" \
    "eth-account==0.14.0" "x402[httpx,evm,fastapi,mcp]==2.25.0" "mcp==2.3.0" "pytest==8.4.2" "pytest-benchmark==5.2.3" "mypy==1.18.2"
  step "paywire for Python: vectors, binding contract, httpx/requests/ASGI and MCP against paywire-server, interop with Coinbase's x402, parity"
  suite "pytest bindings-python/tests" pytest_counts env PAYWIRE_SERVER_BIN="$PWD/target/debug/paywire-server" "$pyenv/venv/bin/python" -m pytest -q -p no:cacheprovider bindings-python/tests
  suite "pytest bindings-python/bench (once each)" pytest_counts "$pyenv/venv/bin/python" -m pytest -q -p no:cacheprovider bindings-python/bench --benchmark-disable
  # One run per directory: both hold an agent.py, which mypy would take for one module twice.
  for examples in examples/python examples/mcp; do
    "$pyenv/venv/bin/python" -m mypy --strict --no-incremental --cache-dir=/dev/null "$examples"
  done
  check "mypy --strict examples/python, examples/mcp"
  # The Python agent example pays the Rust provider example.
  provider_out=$(mktemp)
  PAYWIRE_LISTEN=127.0.0.1:0 ./target/debug/example-provider >"$provider_out" 2>&1 &
  provider=$!
  for _ in $(seq 1 100); do grep -q '^Pay it with: ' "$provider_out" && break; sleep 0.1; done
  credentials=$(sed -n 's/^Pay it with: \(.*\) cargo run -p example-agent$/\1/p' "$provider_out")
  env $credentials "$pyenv/venv/bin/python" examples/python/agent.py
  kill -INT $provider; wait $provider || true; provider=""
  rm -f "$provider_out"
  check "examples/python/agent.py pays example-provider"
  # Paid MCP tools across runtimes: each client pays each runtime's example server (needs the
  # JS part's build of @paywire/node).
  if want js; then
    step "paid MCP tools end to end: JS and Python servers; Paywire's JS and Python agents and Coinbase's Python client (scripts/mcp-e2e.sh)"
    suite "MCP end to end (scripts/mcp-e2e.sh)" mcp_counts env PAYWIRE_SERVER_BIN="$PWD/target/debug/paywire-server" PYTHON="$pyenv/venv/bin/python" bash scripts/mcp-e2e.sh
  fi
  rm -rf "$pyenv"
fi

if want swift; then
  step "Swift: the sources uniffi generates from the same library are up to date (compiled on a Mac only)"
  bash scripts/build-swift.sh
  if [ -n "$(git status --porcelain -- bindings-swift)" ]; then
    git status --porcelain -- bindings-swift
    echo "bindings-swift/ differs from what uniffi generates: run 'bash scripts/build-swift.sh' and commit" >&2
    exit 1
  fi
  check "Swift sources: no drift"
fi

if want interop; then
  debug_build
  [ -f bindings-wasm/dist/node.js ] || bash scripts/build-wasm.sh
  [ -f bindings-node/dist/index.js ] || bash scripts/build-node.sh
  step "interop: Coinbase's official x402 clients and middleware with Paywire, both ways (tests/interop)"
  suite "interop with Coinbase's x402 SDKs" node_counts bash -c 'cd tests/interop && npm ci --no-audit --no-fund --loglevel=error && PAYWIRE_SERVER_BIN="$PWD/../../target/debug/paywire-server" node --test'
fi

if want chain; then
  chain_tools
  if ! want rust; then
    step "the server's chain tests on anvil (SQLite and PostgreSQL)"
    suite "cargo test --test chain (anvil)" cargo_counts env PAYWIRE_REQUIRE_CHAIN=1 cargo test --workspace --locked --test chain
  fi
  debug_build
  [ -f bindings-wasm/dist/node.js ] || bash scripts/build-wasm.sh
  step "on a real chain: @x402/express with paywire-server settling on anvil; @x402/fetch and Paywire's wrapFetch pay"
  bash scripts/chain-e2e.sh | tee "$LOGS/chain-e2e.log"
  settled=$(sed -n 's/^on-chain: \([0-9]*\) of \([0-9]*\) payments settled.*/\1 \2/p' "$LOGS/chain-e2e.log")
  read -r done_ total <<<"${settled:-0 1}"
  record "on-chain payments (Coinbase's SDK, anvil)" "$done_" $(( total - done_ ))
fi

if want packages; then
  step "packages: crates, npm tarballs as a registry serves them, the Python sdist"
  bash scripts/packages.sh | tee "$LOGS/packages.log"
  record "packages" "$(grep -c '^packages: ok' "$LOGS/packages.log" || true)" 0 "crates, npm, sdist"
fi

step "the clone is clean"
if [ -n "$(git status --porcelain)" ]; then
  git status --porcelain
  echo "the run left files in the clone (above): ignore them in .gitignore, or stop writing them" >&2
  exit 1
fi
check "clone clean after the run"
