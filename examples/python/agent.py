"""An agent paying for an API with httpx and `paywire`, inside a spending policy.

Run it against any x402 API, e.g. the Rust provider example (which prints the credentials):

    PAYWIRE_EXAMPLE_URL=http://127.0.0.1:4021/v1/joke PAYWIRE_WALLET_ID=wal_… PAYWIRE_WALLET_SECRET=… \\
        python examples/python/agent.py

or pay on an EVM network with `PAYWIRE_EVM_KEY=0x…` instead of the wallet.
"""

from __future__ import annotations

import os
import sys
from typing import Any, Dict

import httpx
from eth_account import Account

import paywire
from paywire.httpx import PaywireTransport, payment_of


def approve(request: Dict[str, Any]) -> bool:
    """Asked about payments above the approval threshold; here a rule, in an app a person."""
    return bool(float(request["amount"]) <= 0.05)


def main() -> int:
    url = os.environ["PAYWIRE_EXAMPLE_URL"]
    signer: paywire.Signer
    if "PAYWIRE_EVM_KEY" in os.environ:
        signer = paywire.EthAccountSigner(Account.from_key(os.environ["PAYWIRE_EVM_KEY"]))
    else:
        signer = paywire.LedgerSigner(os.environ["PAYWIRE_WALLET_ID"], os.environ["PAYWIRE_WALLET_SECRET"])
    transport = PaywireTransport(
        policy={"maxPerRequest": "0.10", "dailyLimit": "0.50", "approvalThreshold": "0.04"},
        signer=signer,
        approver=approve,
    )
    with httpx.Client(transport=transport) as client:
        try:
            response = client.get(url)
        except paywire.PolicyDeniedError as refusal:
            print(f"refused by the policy: {refusal.code}")
            return 1
    payment = payment_of(response)
    print(f"GET {url}: {response.status_code} {response.text}")
    settlement = payment.get("settlement") if payment is not None else None
    if payment is None or settlement is None or not settlement["success"]:
        print("example-agent.py: the call was not paid and settled")
        return 1
    print(f"example-agent.py: paid ${payment['amount']}, settled as {settlement.get('transaction', '')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
