#!/usr/bin/env bash
# Paid MCP tools end to end: a paywire-server on loopback; the example MCP servers of each
# runtime (examples/mcp/server.mjs on @paywire/node, examples/mcp/server.py on paywire) over
# Streamable HTTP; and each client — Paywire's JS and Python agents (ledger), Coinbase's Python
# x402 MCP client (devnet EVM) — calling each server's paid tool. Every call must settle, and
# the provider's balances must hold exactly what was paid. Last line:
#   mcp: N of N paid tool calls settled
#
# Needs what the test command builds first: target/debug/paywire-server (PAYWIRE_SERVER_BIN),
# bindings-node/dist, and a Python with paywire[mcp], x402[mcp,evm] and eth-account (PYTHON).
set -euo pipefail
cd "$(dirname "$0")/.."
SERVER_BIN=${PAYWIRE_SERVER_BIN:-target/debug/paywire-server}
PYTHON=${PYTHON:-python3}
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

(cd examples/mcp && npm ci --no-audit --no-fund --loglevel=error >/dev/null)

free_port() { "$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
port=$(free_port)
admin="ak_$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
PAYWIRE_URL="http://127.0.0.1:$port"
"$SERVER_BIN" --database-url "sqlite://$work/paywire.db" --listen "127.0.0.1:$port" --admin-key "$admin" 2>"$work/server.log" &
pids+=($!)
for _ in $(seq 1 300); do curl -fsS "$PAYWIRE_URL/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
api() { curl -fsS -X "$1" "$PAYWIRE_URL$2" -H "authorization: Bearer $admin" -H 'content-type: application/json' ${3:+-d "$3"}; }
json() { "$PYTHON" -c "import json, sys; print(json.load(sys.stdin)$1)"; }

evm_key=0x$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
evm_payee=$("$PYTHON" -c "import paywire, os; print(paywire.evm_address('0x' + os.urandom(32).hex()))")
evm_payer=$("$PYTHON" -c "import paywire, sys; print(paywire.evm_address(sys.argv[1]))" "$evm_key")
provider=$(api POST /v1/providers "{\"name\": \"Archive\", \"evmAddress\": \"$evm_payee\"}")
provider_wallet=$(echo "$provider" | json '["walletId"]')
agent=$(api POST /v1/agents '{"name": "Research agent"}')
agent_wallet=$(echo "$agent" | json '["walletId"]')
agent_secret=$(echo "$agent" | json '["walletSecret"]')
api POST "/v1/wallets/$agent_wallet/fund" '{"amount": "1.00"}' >/dev/null
api POST /v1/evm/fund "{\"network\": \"eip155:84532\", \"address\": \"$evm_payer\", \"amount\": \"1.00\"}" >/dev/null

# The servers print "mcp server listening on <url>".
start_server() {
  local log=$work/$1.log
  shift
  PAYWIRE_URL=$PAYWIRE_URL PAYWIRE_PAY_TO=$provider_wallet PAYWIRE_PAY_TO_EVM=$evm_payee "$@" >"$log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 300); do grep -q '^mcp server listening on ' "$log" && break; sleep 0.1; done
  sed -n 's/^mcp server listening on //p' "$log" | head -1
}
servers=("js $(start_server js node examples/mcp/server.mjs)" "python $(start_server python "$PYTHON" examples/mcp/server.py)")

calls=0
settled=0
ledger_calls=0
evm_calls=0
for entry in "${servers[@]}"; do
  server=${entry%% *}
  url=${entry#* }
  for client in js python coinbase; do
    calls=$((calls + 1))
    case $client in
      js) out=$(MCP_URL=$url PAYWIRE_WALLET_ID=$agent_wallet PAYWIRE_WALLET_SECRET=$agent_secret node examples/mcp/agent.mjs 2>&1 || true) ;;
      python) out=$(MCP_URL=$url PAYWIRE_WALLET_ID=$agent_wallet PAYWIRE_WALLET_SECRET=$agent_secret "$PYTHON" examples/mcp/agent.py 2>&1 || true) ;;
      coinbase) out=$(MCP_URL=$url EVM_KEY=$evm_key "$PYTHON" tests/mcp/coinbase_agent.py 2>&1 || true) ;;
    esac
    if grep -q '^settled as \|, settled as ' <<<"$out"; then
      settled=$((settled + 1))
      if [ "$client" = coinbase ]; then evm_calls=$((evm_calls + 1)); else ledger_calls=$((ledger_calls + 1)); fi
      echo "mcp: $client client paid the $server server's tool"
    else
      echo "mcp: $client client calling the $server server's tool did not settle:" >&2
      echo "$out" >&2
    fi
  done
done

# The ledger holds exactly what was paid: a cent per settled call, in each asset.
wallet=$(api GET "/v1/wallets/$provider_wallet")
ledger_balance=$(echo "$wallet" | "$PYTHON" -c 'import json, sys; print(sum(int(b["atomic"]) for b in json.load(sys.stdin)["balances"] if b["asset"] == "USD"))')
evm_balance=$(echo "$wallet" | "$PYTHON" -c 'import json, sys; print(sum(int(b["atomic"]) for b in json.load(sys.stdin)["balances"] if b["asset"].startswith("eip155:84532/")))')
if [ "$ledger_balance" != "$((ledger_calls * 10000))" ] || [ "$evm_balance" != "$((evm_calls * 10000))" ]; then
  echo "mcp: the provider holds $ledger_balance (ledger) and $evm_balance (EVM) atomic units; $ledger_calls and $evm_calls cents were settled" >&2
  exit 1
fi
echo "mcp: $settled of $calls paid tool calls settled"
[ "$settled" = "$calls" ]
