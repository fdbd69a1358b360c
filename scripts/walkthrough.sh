#!/usr/bin/env bash
# The README's curl walk-through, run against a server: create a provider and an agent, fund
# the agent, register a priced endpoint, quote a request, sign, verify and settle the payment.
# Usage: bash scripts/walkthrough.sh <admin-key> [base-url] [paywire-server binary]
set -euo pipefail
ADMIN=$1
URL=${2:-http://127.0.0.1:4020}
SERVER=${3:-paywire-server}
json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
post() { curl -sS --fail-with-body -X "${3:-POST}" "$URL$1" -H "Authorization: Bearer $AUTH" -H 'content-type: application/json' -d "$2"; }

AUTH=$ADMIN
PROVIDER=$(post /v1/providers '{"name": "Weather Co"}')
PROVIDER_ID=$(echo "$PROVIDER" | json '["id"]')
PROVIDER_KEY=$(echo "$PROVIDER" | json '["apiKey"]')
AGENT=$(post /v1/agents '{"name": "Research agent", "policy": {"maxPerRequest": "0.10", "dailyLimit": "5.00"}}')
AGENT_WALLET=$(echo "$AGENT" | json '["walletId"]')
AGENT_SECRET=$(echo "$AGENT" | json '["walletSecret"]')
post "/v1/wallets/$AGENT_WALLET/fund" '{"amount": "10.00"}' > /dev/null

AUTH=$PROVIDER_KEY
post "/v1/providers/$PROVIDER_ID/endpoints" '{"method": "GET", "path": "/v1/weather/:city", "price": {"flat": "10000"}, "bundle": {"maxUses": 5, "seconds": 3600}}' > /dev/null
QUOTE=$(post "/v1/providers/$PROVIDER_ID/quote" '{"method": "GET", "url": "https://api.example.com/v1/weather/paris"}')
REQUIRED=$(echo "$QUOTE" | python3 -c "import json,sys; print(json.dumps(json.load(sys.stdin)['paymentRequired']))")

# The secret goes in the environment, not on the command line (where `ps` shows it).
PAYMENT=$(PAYWIRE_WALLET_SECRET=$AGENT_SECRET "$SERVER" sign-payment --wallet-id "$AGENT_WALLET" --payment-required "$REQUIRED")
VERIFIED=$(curl -sS "$URL/verify" -H 'content-type: application/json' -d "$PAYMENT")
SETTLED=$(curl -sS "$URL/settle" -H 'content-type: application/json' -d "$PAYMENT")
echo "verify: $VERIFIED"
echo "settle: $SETTLED"
test "$(echo "$VERIFIED" | json '["isValid"]')" = True
test "$(echo "$SETTLED" | json '["success"]')" = True
echo "walkthrough: 1 passed, 0 failed"
