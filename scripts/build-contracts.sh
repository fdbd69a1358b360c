#!/usr/bin/env bash
# Compiles the test contracts in contracts/ with solc-js from npm (tests/chain) into
# contracts/out/*.bin, which are checked in: the Rust chain tests deploy them without Node.
# Usage: bash scripts/build-contracts.sh
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x tests/chain/node_modules/.bin/solcjs ] || (cd tests/chain && npm ci --no-audit --no-fund --loglevel=error)
solcjs="$PWD/tests/chain/node_modules/.bin/solcjs"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
(cd contracts && "$solcjs" --bin --optimize -o "$scratch" PaywireTestUSD.sol PaywireTestWallet.sol >/dev/null)
mkdir -p contracts/out
cp "$scratch/PaywireTestUSD_sol_PaywireTestUSD.bin" contracts/out/PaywireTestUSD.bin
cp "$scratch/PaywireTestWallet_sol_PaywireTestWallet.bin" contracts/out/PaywireTestWallet.bin
echo "contracts/out: $(wc -c < contracts/out/PaywireTestUSD.bin) + $(wc -c < contracts/out/PaywireTestWallet.bin) hex characters"
