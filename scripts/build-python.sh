#!/usr/bin/env bash
# Builds the Python package `paywire` (bindings-python/) into target/wheels/:
#   1. python/paywire/types.py from schemas/wire.schema.json (paywire-core's types);
#   2. maturin (uniffi bindings): the paywire-python cdylib, uniffi's generated module
#      `paywire._ffi`, and the package's own Python, in one py3-none wheel per platform.
# Installs maturin into .venv when it lacks it.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -c "import maturin" 2>/dev/null || .venv/bin/pip install --quiet --disable-pip-version-check "maturin==1.16.0"
.venv/bin/python bindings-python/scripts/typeddicts.py
rm -f target/wheels/paywire-*.whl
(cd bindings-python && ../.venv/bin/maturin build --release --quiet 2>&1 | grep -v "^\s*$" | tail -2)
ls target/wheels/paywire-*.whl
