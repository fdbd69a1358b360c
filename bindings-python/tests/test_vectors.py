"""Every shared vector in tests/vectors/ through the installed wheel, with the outputs Rust
produces — each op written with the public API a user would call (see tools/vectors for the
Rust side and bindings-js/test/vectors.test.mjs for the JavaScript one)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable, Dict

import pytest

import paywire as pw

VECTORS = Path(__file__).resolve().parents[2] / "tests" / "vectors"
FILES = sorted(p.name for p in VECTORS.glob("*.json"))


def ring(keys: Any) -> pw.KeyRing:
    first, *rest = keys
    key_ring = pw.KeyRing(first["kid"], bytes.fromhex(first["secret"]))
    for key in rest:
        key_ring.add_verifying_key(key["kid"], bytes.fromhex(key["secret"]))
    return key_ring


def sequence(i: Any) -> Any:
    store = pw.MemoryStore(i["capacity"], i.get("retentionSeconds"), i.get("leaseSeconds"))
    results = []
    for step in i["steps"]:
        pw.validate_idempotency_key(step["key"])
        fp = pw.fingerprint("POST", "/v1/pay", step["body"])
        try:
            if step["action"] == "begin":
                results.append(store.begin(step["key"], fp, step["now"]))
            elif step["action"] == "complete":
                store.complete(step["key"], fp, step.get("status", 200), f"outcome of {step['body']}", step["now"])
                results.append({"completed": True})
            else:
                store.abandon(step["key"], fp)
                results.append({"abandoned": True})
        except pw.PaywireError as error:
            results.append({"error": error.code})
    return {"results": results}


def facilitator_request(i: Any) -> Any:
    request = pw.facilitator_request(i["body"].get("paymentPayload"), i["body"].get("paymentRequirements"))
    payment: Any = request["paymentPayload"]
    requirements: Any = request["paymentRequirements"]
    v1 = payment["x402Version"] == 1
    return {
        "x402Version": request["x402Version"],
        "scheme": payment["scheme"] if v1 else payment["accepted"]["scheme"],
        "network": payment["network"] if v1 else payment["accepted"]["network"],
        "amount": requirements.get("amount", requirements.get("maxAmountRequired")),
    }


def paywall_flow(i: Any) -> Any:
    paywall = pw.Paywall(i["config"])
    flow = pw.PaywallFlow()
    keys = ring(i["keys"]) if i.get("keys") else None
    return {"actions": [paywall.feed_with_keys(flow, e, keys) if keys else paywall.feed(flow, e) for e in i["events"]]}


def client_flow(i: Any) -> Any:
    flow = pw.ClientFlow(i["config"], i["method"], i["url"])
    return {"actions": [flow.feed(event) for event in i["events"]]}


def mcp_paywall_flow(i: Any) -> Any:
    paywall = pw.McpPaywall(i["config"])
    flow = pw.McpPaywallFlow()
    keys = ring(i["keys"]) if i.get("keys") else None
    return {"actions": [paywall.feed_with_keys(flow, e, keys) if keys else paywall.feed(flow, e) for e in i["events"]]}


def mcp_client_flow(i: Any) -> Any:
    flow = pw.McpClientFlow(i["config"], i["tool"])
    return {"actions": [flow.feed(event) for event in i["events"]]}


def mcp_tool_meta(i: Any) -> Any:
    paywall = pw.McpPaywall(i["config"])
    return {"meta": {tool: paywall.tool_meta(tool, i["now"]) for tool in i["tools"]}}


def record_then_evaluate(i: Any) -> Any:
    policy = pw.Policy(i["policy"])
    usage = pw.Usage()
    for payment in i["payments"]:
        policy.record(usage, payment["amount"], payment["at"])
    return policy.evaluate(i["intent"], usage, i["now"])


OPS: Dict[str, Callable[[Any], Any]] = {
    "flow.client": client_flow,
    "flow.paywall": paywall_flow,
    "flow.mcp_paywall": mcp_paywall_flow,
    "flow.mcp_client": mcp_client_flow,
    "flow.mcp_tool_meta": mcp_tool_meta,
    "money.parse_price": lambda i: {"atomic": pw.parse_price(i["text"], i["decimals"])},
    "money.parse_atomic": lambda i: {"atomic": pw.parse_atomic(i["text"])},
    "money.to_decimal": lambda i: {"decimal": pw.to_decimal(i["atomic"], i["decimals"])},
    "money.from_decimal": lambda i: {"atomic": pw.from_decimal(i["decimal"], i["decimals"])},
    "money.format": lambda i: {"text": pw.format_amount(i["atomic"], i["decimals"])},
    "money.rescale": lambda i: {"atomic": pw.rescale_amount(i["atomic"], i["fromDecimals"], i["toDecimals"])},
    "pricing.quote": lambda i: pw.Pricebook(i["pricebook"]).quote(i["request"]),
    "pricing.split_fee": lambda i: pw.split_fee(i["gross"], i["feeBps"]),
    "pricing.path_matches": lambda i: {"matches": pw.path_matches(i["pattern"], i["path"])},
    "pricing.payment_required": lambda i: pw.payment_required(
        pw.Pricebook(i["pricebook"]).quote(i["request"]), i["options"], i["resource"], i.get("x402Version"),
        None if i.get("x402Version") == 1 else "Payment required", None),
    "policy.evaluate": lambda i: pw.Policy(i["policy"]).evaluate(i["intent"], pw.Usage.from_json(i["usage"]), i["now"]),
    "policy.select": lambda i: pw.Policy(i["policy"]).select(i["paymentRequired"], pw.Usage.from_json(i["usage"]), i["now"]),
    "policy.record_then_evaluate": record_then_evaluate,
    "token.issue": lambda i: {"token": ring(i["keys"]).issue(i["claims"])},
    "token.verify": lambda i: ring(i["keys"]).verify(i["token"], i["method"], i["resource"], i["now"], i["uses"]),
    "token.attenuate": lambda i: {"token": pw.attenuate_token(i["token"], i["caveat"])},
    "token.hash": lambda i: {"hash": pw.token_hash(i["token"])},
    "webhook.sign": lambda i: {"header": pw.sign_webhook(i["secret"], i["timestamp"], i["body"])},
    "webhook.verify": lambda i: {"timestamp": pw.verify_webhook(i["header"], i["secret"], i["body"], i["now"], i.get("toleranceSeconds"))},
    "idempotency.validate_key": lambda i: {"key": pw.validate_idempotency_key(i["key"])},
    "idempotency.fingerprint": lambda i: {"fingerprint": pw.fingerprint(i["method"], i["path"], i.get("body"))},
    "idempotency.sequence": sequence,
    "protocol.decode_payment_payload": lambda i: pw.decode_payment_payload(i["header"], i.get("limit")),
    "protocol.decode_payment_required": lambda i: pw.decode_payment_required(i["header"], i.get("limit")),
    "protocol.encode_header": lambda i: {"header": pw.encode_header(i["value"])},
    "protocol.resolve_network": lambda i: pw.resolve_network(i["network"]),
    "protocol.requirements_match": lambda i: {"matches": pw.requirements_match(i["accepted"], i["offered"])},
    "protocol.facilitator_request": facilitator_request,
    "ledger.sign": lambda i: pw.sign_ledger_authorization(i["requirements"], i["walletId"], bytes.fromhex(i["secret"]), bytes.fromhex(i["nonce"]), i["now"]),
    "ledger.verify": lambda i: {k: v for k, v in pw.verify_ledger_payment(i["paymentPayload"], i["requirements"], i["now"], i["secrets"]).items() if k in ("payer", "value")},
    "evm.verify": lambda i: {k: v for k, v in pw.verify_evm_payment(i["paymentPayload"], i["requirements"], i["now"]).items() if k in ("payer", "value")},
    "evm.sign": lambda i: pw.sign_evm_authorization(i["requirements"], i["privateKey"], bytes.fromhex(i["nonce"]), i["now"]),
    "evm.hashes": lambda i: pw.eip712_hashes(i["domain"], i["message"]),
    "evm.address": lambda i: {"checksum": pw.checksum_address(i["text"])},
}


@pytest.mark.parametrize("name", FILES)
def test_vector_file(name: str) -> None:
    cases = json.loads((VECTORS / name).read_text())["cases"]
    for case in cases:
        run = OPS.get(case["op"])
        assert run is not None, f"{name}: no Python implementation of op {case['op']}"
        try:
            outcome: Dict[str, Any] = {"ok": run(case["input"])}
        except pw.PaywireError as error:
            outcome = {"error": error.code, "message": error.message}
        if "error" in case:
            assert outcome.get("error") == case["error"], f"{case['title']}: expected {case['error']}, got {outcome}"
        else:
            assert "ok" in outcome, f"{case['title']}: expected success, got {outcome}"
            assert outcome["ok"] == case["expected"], case["title"]


def test_every_file_and_case_runs() -> None:
    total = sum(len(json.loads((VECTORS / name).read_text())["cases"]) for name in FILES)
    assert len(FILES) >= 11 and total >= 495, (len(FILES), total)
