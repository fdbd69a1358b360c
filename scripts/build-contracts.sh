#!/usr/bin/env bash
# Compiles the test contracts in contracts/ (the token, wallet and factory) into
# contracts/out/*.bin, and the ERC-6492 validator the server runs deployless
# (server/contracts/, inside the crate it is compiled into) beside its source, with solc-js from
# npm (tests/chain). The outputs are checked in: the Rust chain tests deploy them without Node.
# Usage: bash scripts/build-contracts.sh
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x tests/chain/node_modules/.bin/solcjs ] || (cd tests/chain && npm ci --no-audit --no-fund --loglevel=error)
solcjs="$PWD/tests/chain/node_modules/.bin/solcjs"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
contracts="PaywireTestUSD PaywireTestWallet PaywireTestWalletFactory"
(cd contracts && "$solcjs" --bin --optimize -o "$scratch" $(for c in $contracts; do echo "$c.sol"; done) >/dev/null)
(cd server/contracts && "$solcjs" --bin --optimize -o "$scratch" Erc6492Validator.sol >/dev/null)
mkdir -p contracts/out
for c in $contracts; do
  cp "$scratch/${c}_sol_${c}.bin" "contracts/out/$c.bin"
  echo "contracts/out/$c.bin: $(wc -c < "contracts/out/$c.bin") hex characters"
done
cp "$scratch/Erc6492Validator_sol_Erc6492Validator.bin" server/contracts/Erc6492Validator.bin
echo "server/contracts/Erc6492Validator.bin: $(wc -c < server/contracts/Erc6492Validator.bin) hex characters"
