"""The binding's contract beyond the vectors: errors by class with stable codes, no precision
lost, and no input of any type that escapes as anything but a coded error."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any, Callable

import pytest

import paywire as pw

KEY = bytes([7]) * 32
CLAIMS = {"id": "t1", "iss": "api", "sub": "agent", "scope": {"resource": "https://a.com/v1/", "methods": ["GET"]}, "iat": 100, "exp": 200, "maxUses": 3}


def code_of(work: Callable[[], Any]) -> str:
    try:
        work()
    except pw.PaywireError as error:
        return error.code
    return "no error"


def test_core_errors_are_raised_as_the_subclass_of_their_class() -> None:
    with pytest.raises(pw.InvalidArgumentError) as invalid:
        pw.parse_price("ten dollars", 6)
    assert invalid.value.code == "amount_invalid" and "ten dollars" in invalid.value.message
    assert isinstance(invalid.value, ValueError), "invalid input is also a ValueError"
    ring = pw.KeyRing("k1", KEY)
    token = ring.issue(CLAIMS)
    with pytest.raises(pw.TokenRejectedError) as expired:
        ring.verify(token, "GET", "https://a.com/v1/x", 250, 0)
    assert expired.value.code == "token_expired"
    with pytest.raises(pw.TokenMalformedError):
        ring.verify("not a token", "GET", "https://a.com/v1/x", 150, 0)
    with pytest.raises(pw.InvalidArgumentError) as version:
        pw.verify_evm_payment({"x402Version": 7}, {}, 1)  # type: ignore[arg-type, typeddict-item]
    assert version.value.code == "invalid_x402_version"
    # A payment that does not verify: its code is its x402 reason.
    vectors = json.loads((Path(__file__).resolve().parents[2] / "tests" / "vectors" / "evm_exact.json").read_text())
    tampered = next(c for c in vectors["cases"] if c["op"] == "evm.verify" and c.get("error", "").startswith("invalid_exact_evm"))
    with pytest.raises(pw.PaymentInvalidError) as invalid_payment:
        pw.verify_evm_payment(tampered["input"]["paymentPayload"], tampered["input"]["requirements"], tampered["input"]["now"])
    assert invalid_payment.value.code == tampered["error"]
    with pytest.raises(pw.ConflictError) as conflict:
        store = pw.MemoryStore(10)
        fp = pw.fingerprint("POST", "/x", "a")
        store.begin("key-1-abcdefgh", fp, 1)
        store.begin("key-1-abcdefgh", fp, 1)
    assert conflict.value.code == "idempotency_in_progress"


def test_counts_are_whole_numbers_below_two_to_the_53() -> None:
    ring = pw.KeyRing("k1", KEY)
    token = ring.issue(CLAIMS)
    for now in (150.5, -1, float("nan"), float("inf"), 2**53, "150", True, None):
        assert code_of(lambda: ring.verify(token, "GET", "https://a.com/v1/x", now, 0)) == "invalid_argument", now  # type: ignore[arg-type]
    assert ring.verify(token, "GET", "https://a.com/v1/x", 150, 0)["claims"]["sub"] == "agent"
    # Claims past 2^53 are not issued; a holder's caveat that takes a count there does not
    # come back as a number a JavaScript peer would round.
    assert code_of(lambda: ring.issue({**CLAIMS, "exp": 9007199254740994})) == "token_claims_invalid"
    big = pw.attenuate_token(ring.issue({**CLAIMS, "maxUses": None}), {"maxUses": 9007199254740994})
    assert code_of(lambda: pw.inspect_token(big)) == "invalid_argument"


def test_amounts_cross_as_strings_exactly() -> None:
    top = "340282366920938463463374607431768211455"
    assert pw.parse_atomic(top) == top
    assert pw.format_amount(top, 6) == "340282366920938463463374607431768.211455"
    assert code_of(lambda: pw.parse_atomic("340282366920938463463374607431768211456")) == "amount_overflow"


def test_wrong_types_raise_coded_errors() -> None:
    garbage = [None, 42, {}, [], True, 1.5, b"bytes", object(), lambda: 1]
    ring = pw.KeyRing("k1", KEY)
    calls: dict[str, Callable[[Any], Any]] = {
        "parse_price": lambda x: pw.parse_price(x, 6),
        "parse_atomic": pw.parse_atomic,
        "token_hash": pw.token_hash,
        "attenuate_token": lambda x: pw.attenuate_token(x, x),
        "verify": lambda x: ring.verify(x, x, x, x, x),
        "issue": ring.issue,
        "KeyRing": lambda x: pw.KeyRing(x, x),
        "fingerprint": lambda x: pw.fingerprint(x, x, x),
        "decode_payment_required": pw.decode_payment_required,
        "Policy": pw.Policy,
        "Pricebook": pw.Pricebook,
        "ClientFlow": lambda x: pw.ClientFlow(x, x, x),
        "Paywall": pw.Paywall,
        "evaluate": lambda x: pw.Policy({}).evaluate(x, pw.Usage(), 1),
        "sign_evm_payment": lambda x: pw.sign_evm_payment(x, x, x, x, x),
        "encode_header": pw.encode_header,
    }
    for name, call in calls.items():
        for value in garbage:
            try:
                call(value)
            except pw.PaywireError as error:
                assert isinstance(error.code, str) and error.code, (name, value)
            # Some values are valid JSON for some calls (encode_header({}) is a header).
    assert pw.parse_price("$0.01", 6) == "10000", "still working after the garbage"


def test_fuzzed_strings_never_escape_as_anything_but_coded_errors() -> None:
    rng = random.Random(402)
    alphabet = "{}[]\":,0123456789abcdef$.-xX \\\x00\u00e9\U0001f600"
    parsers = [lambda t: pw.parse_price(t, 6), pw.parse_atomic, pw.decode_payment_payload, pw.decode_payment_required, pw.inspect_token,
               pw.validate_idempotency_key, pw.resolve_network, pw.checksum_address]
    for _ in range(2000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 40)))
        for parse in parsers:
            try:
                parse(text)  # type: ignore[operator]
            except pw.PaywireError:
                pass


def test_policy_state_persists_through_usage_json() -> None:
    policy = pw.Policy({"dailyLimit": "1.00"})
    usage = pw.Usage()
    policy.record(usage, "0.60", 1_700_000_000)
    restored = pw.Usage.from_json(json.loads(json.dumps(usage.to_json())))
    intent = {"amount": "0.50", "network": "paywire:main", "asset": "USD", "payTo": "wal_1"}
    assert policy.evaluate(intent, restored, 1_700_000_100) == {"decision": "deny", "reason": "policy_daily_limit_exceeded"}  # type: ignore[arg-type]
    with pytest.raises(pw.PolicyDeniedError):
        pw._core.raise_refusal("policy_daily_limit_exceeded", "over the limit")
