#!/usr/bin/env bash
# Compiles the contracts in contracts/ (the test token, wallet and factory; the ERC-6492
# validator the server runs deployless) with solc-js from npm (tests/chain) into
# contracts/out/*.bin, which are checked in: the Rust chain tests deploy them without Node.
# Usage: bash scripts/build-contracts.sh
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x tests/chain/node_modules/.bin/solcjs ] || (cd tests/chain && npm ci --no-audit --no-fund --loglevel=error)
solcjs="$PWD/tests/chain/node_modules/.bin/solcjs"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
contracts="PaywireTestUSD PaywireTestWallet PaywireTestWalletFactory Erc6492Validator"
(cd contracts && "$solcjs" --bin --optimize -o "$scratch" $(for c in $contracts; do echo "$c.sol"; done) >/dev/null)
mkdir -p contracts/out
for c in $contracts; do
  cp "$scratch/${c}_sol_${c}.bin" "contracts/out/$c.bin"
  echo "contracts/out/$c.bin: $(wc -c < "contracts/out/$c.bin") hex characters"
done
