#!/usr/bin/env bash
# Runs every cargo-fuzz target of paywire-core for N seconds each (default 60), starting from
# the committed corpus (fuzz/corpus/<target>, seeded from the shared vectors by fuzz/seed.py).
# New inputs go to a scratch directory, so the committed corpus only changes on purpose
# (`cargo fuzz cmin` after a long run). A crash fails the script and leaves its input in
# fuzz/artifacts/<target>/: turn it into a vector, then fix.
# Targets run one per core at once (PAYWIRE_FUZZ_JOBS to choose).
# Usage: bash scripts/fuzz.sh [seconds-per-target] [target...]
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_TARGET=${1:-60}
shift || true
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=(header_codec payment_json token_verify policy_json pricebook_json mcp_flow)

# cargo-fuzz builds with nightly-only sanitizer flags; RUSTC_BOOTSTRAP lets the machine's one
# (stable) toolchain accept them — its x86_64 sanitizer runtimes ship with the standard library.
export RUSTC_BOOTSTRAP=1
command -v cargo-fuzz >/dev/null 2>&1 || cargo install cargo-fuzz --version 0.13.2 --locked
(cd fuzz && cargo fuzz build)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
# One target per core, at once: each fuzzes single-threaded for its full time.
PARALLEL=${PAYWIRE_FUZZ_JOBS:-$(nproc 2>/dev/null || echo 2)}
fuzz_one() {
  local target=$1 log="$scratch/$1.log"
  mkdir -p "$scratch/$target"
  if ! (cd fuzz && cargo fuzz run "$target" "$scratch/$target" "corpus/$target" -- \
        -max_total_time="$SECONDS_PER_TARGET" -print_final_stats=1 >"$log" 2>&1); then
    tail -40 "$log"
    echo "fuzz: $target crashed (input in fuzz/artifacts/$target/)" >&2
    return 1
  fi
  local runs
  runs=$(sed -n 's/^Done \([0-9]*\) runs in \([0-9]*\) second.*/\1 runs in \2 s/p' "$log" | tail -1)
  echo "fuzz: $target: $runs, 0 crashes"
}
failed=0
running=()
for target in "${TARGETS[@]}"; do
  fuzz_one "$target" &
  running+=($!)
  if [ ${#running[@]} -ge "$PARALLEL" ]; then
    wait "${running[0]}" || failed=1
    running=("${running[@]:1}")
  fi
done
for job in "${running[@]}"; do wait "$job" || failed=1; done
exit $failed
