#!/usr/bin/env bash
# End to end on a real local chain with Coinbase's official SDK: starts anvil, deploys the
# EIP-3009 test token, funds two payers, starts paywire-server settling on the chain, an Express
# app behind @x402/express with paywire-server as facilitator, and has @x402/fetch and Paywire's
# own wrapFetch each pay several times. Ends with `on-chain: N of N payments settled`.
# Usage: bash scripts/chain-e2e.sh     (PAYWIRE_E2E_PAYMENTS=<n> payments per client, default 3)
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d tests/chain/node_modules/@x402/express ] || (cd tests/chain && npm ci --no-audit --no-fund --loglevel=error)
# The workspace build the other parts use (building -p paywire-server alone would resolve
# features apart and compile again).
cargo build --quiet --locked --workspace --all-targets
[ -f bindings-wasm/dist/node.js ] || bash scripts/build-wasm.sh
node tests/chain/e2e.mjs
