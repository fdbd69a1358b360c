#!/usr/bin/env bash
# Runs the README's walk-through ("The settlement server in five requests") as it is written —
# the block between its walkthrough markers, extracted here — against a running server, and
# checks that the payment verified and settled.
# Usage: bash scripts/walkthrough.sh <admin-key> [base-url] [paywire-server binary]
set -euo pipefail
cd "$(dirname "$0")/.."
export ADMIN=$1
export URL=${2:-http://127.0.0.1:4020}
export PAYWIRE=${3:-"cargo run -q -p paywire-server --"}
block=$(sed -n '/<!-- walkthrough:begin -->/,/<!-- walkthrough:end -->/p' README.md | sed '1,2d;$d' | sed '$d')
[ -n "$block" ] || { echo "the README has no walkthrough block" >&2; exit 1; }
out=$(bash -euo pipefail -c "$block")
echo "$out"
verified=$(echo "$out" | tail -n 2 | head -n 1)
settled=$(echo "$out" | tail -n 1)
test "$(echo "$verified" | jq -r .isValid)" = true || { echo "verify did not pass: $verified" >&2; exit 1; }
test "$(echo "$settled" | jq -r .success)" = true || { echo "settle did not succeed: $settled" >&2; exit 1; }
echo "walkthrough: 1 passed, 0 failed"
