#!/usr/bin/env bash
# API fuzzing: schemathesis generates requests from server/openapi.json and sends them to a
# live paywire-server (as the operator, so the authenticated routes are reached), on SQLite and
# on PostgreSQL. Fails on any 5xx, on an answer that does not match its documented shape,
# content type or status. A bounded example count keeps it to seconds.
# Usage: bash scripts/schemathesis.sh [paywire-server binary] [max examples per operation]
set -euo pipefail
cd "$(dirname "$0")/.."
SERVER=${1:-./target/debug/paywire-server}
EXAMPLES=${2:-30}
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install --quiet --disable-pip-version-check "schemathesis==4.32.5"
PG=${PAYWIRE_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}
scratch=$(mktemp -d)
server=""
cleanup() {
  [ -n "$server" ] && kill "$server" 2>/dev/null || true
  psql "$PG" -q -c "DROP DATABASE IF EXISTS paywire_schemathesis WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$scratch"
}
trap cleanup EXIT
for db in sqlite postgres; do
  if [ "$db" = sqlite ]; then
    url="sqlite://$scratch/schemathesis.db"
  else
    psql "$PG" -q -c "DROP DATABASE IF EXISTS paywire_schemathesis WITH (FORCE)" -c "CREATE DATABASE paywire_schemathesis" >/dev/null
    url="${PG%/*}/paywire_schemathesis"
  fi
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  PAYWIRE_LOG=warn PAYWIRE_ADMIN_KEY=sk_admin_schemathesis PAYWIRE_MASTER_KEY_FILE="$scratch/$db.key" \
    "$SERVER" --database-url "$url" --listen "127.0.0.1:$port" >"$scratch/$db.log" 2>&1 &
  server=$!
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
  if ! .venv/bin/schemathesis run "http://127.0.0.1:$port/openapi.json" \
      -H "Authorization: Bearer sk_admin_schemathesis" \
      --checks not_a_server_error,response_schema_conformance,content_type_conformance,status_code_conformance \
      --max-examples "$EXAMPLES" --seed 402 --workers 1 --suppress-health-check all --no-color \
      >"$scratch/$db.report" 2>&1; then
    cat "$scratch/$db.report"
    echo "--- server log ---"; tail -50 "$scratch/$db.log"
    echo "schemathesis ($db): failures" >&2
    exit 1
  fi
  cases=$(sed -n 's/.*\([0-9][0-9]*\) generated, \([0-9][0-9]*\) passed.*/\1/p' "$scratch/$db.report" | tail -1)
  echo "schemathesis ($db): $(grep -E 'generated' "$scratch/$db.report" | tail -1 | sed 's/^ *//'), no 5xx, every answer as documented"
  kill "$server"; wait "$server" 2>/dev/null || true; server=""
done
