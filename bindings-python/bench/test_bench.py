"""Benchmarks of the installed wheel, side by side in one run (pytest-benchmark):

    .venv/bin/python -m pytest bindings-python/bench --benchmark-columns=median,rounds

The EIP-3009 rows verify the same payload (the first valid v2 case of tests/vectors/
evm_exact.json) with paywire and with eth-account (`encode_typed_data` + `recover_message`,
the address compared), so their ratio is the speed-up. CI runs them once each with
`--benchmark-disable`, as tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_account.messages import encode_typed_data

import paywire as pw

VECTORS = Path(__file__).resolve().parents[2] / "tests" / "vectors"
CASE = next(c for c in json.loads((VECTORS / "evm_exact.json").read_text())["cases"]
            if c["op"] == "evm.verify" and "expected" in c and c["input"]["paymentPayload"]["x402Version"] == 2)
PAYMENT = CASE["input"]["paymentPayload"]
REQUIREMENTS = CASE["input"]["requirements"]
NOW = CASE["input"]["now"]
AUTH = PAYMENT["payload"]["authorization"]


def eth_account_verify() -> bool:
    typed = {
        "types": {
            "EIP712Domain": [{"name": "name", "type": "string"}, {"name": "version", "type": "string"},
                             {"name": "chainId", "type": "uint256"}, {"name": "verifyingContract", "type": "address"}],
            "TransferWithAuthorization": [{"name": "from", "type": "address"}, {"name": "to", "type": "address"},
                                          {"name": "value", "type": "uint256"}, {"name": "validAfter", "type": "uint256"},
                                          {"name": "validBefore", "type": "uint256"}, {"name": "nonce", "type": "bytes32"}],
        },
        "primaryType": "TransferWithAuthorization",
        "domain": {"name": REQUIREMENTS["extra"]["name"], "version": REQUIREMENTS["extra"]["version"],
                   "chainId": int(REQUIREMENTS["network"].split(":")[1]), "verifyingContract": REQUIREMENTS["asset"]},
        "message": {"from": AUTH["from"], "to": AUTH["to"], "value": int(AUTH["value"]), "validAfter": int(AUTH["validAfter"]),
                    "validBefore": int(AUTH["validBefore"]), "nonce": bytes.fromhex(AUTH["nonce"][2:])},
    }
    signer = Account.recover_message(encode_typed_data(full_message=typed), signature=PAYMENT["payload"]["signature"])
    return bool(signer == AUTH["from"])


def test_eip3009_verify_paywire(benchmark: Any) -> None:
    result = benchmark(pw.verify_evm_payment, PAYMENT, REQUIREMENTS, NOW)
    assert result["payer"] == AUTH["from"]


def test_eip3009_verify_eth_account(benchmark: Any) -> None:
    assert benchmark(eth_account_verify)


RING = pw.KeyRing("k1", bytes([3]) * 32)
TOKEN = RING.issue({"id": "tok_bench", "iss": "api", "sub": "agent", "scope": {"resource": "https://api.example.com/v1/", "methods": ["GET"]},
                    "iat": 1_000, "exp": 2_000_000_000, "maxUses": 100})


def test_verify_token(benchmark: Any) -> None:
    verified = benchmark(RING.verify, TOKEN, "GET", "https://api.example.com/v1/weather", 1_700_000_000, 0)
    assert verified["claims"]["sub"] == "agent"


def test_policy_evaluate(benchmark: Any) -> None:
    policy = pw.Policy({"maxPerRequest": "0.10", "dailyLimit": "5.00", "monthlyLimit": "50", "allowedNetworks": ["eip155:8453"],
                        "velocity": {"maxPayments": 60, "windowSeconds": 60}})
    usage = pw.Usage()
    intent = {"amount": "0.01", "network": "eip155:8453", "asset": "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913",
              "payTo": "0x209693Bc6afc0C5328bA36FaF03C514EF312287C", "resource": "https://api.example.com/v1/weather"}
    assert benchmark(policy.evaluate, intent, usage, 1_700_000_100) == {"decision": "allow"}
