#!/usr/bin/env python3
"""EVM `exact` vectors from an independent signer (eth-account).

    python tests/vectors/evm_exact.py            # rewrite tests/vectors/evm_exact.json
    python tests/vectors/evm_exact.py --check    # fail on drift, and recover the Rust signer's
                                                 # signatures with eth-account

Every signature in evm_exact.json is made here by eth-account (EIP-712 typed data, RFC 6979),
never by Paywire; the Rust tests (and later every binding) verify each case and expect the
outcome written here. `--check` proves the other direction: it runs the Rust signer
(`cargo run -p paywire-vectors -- evm-signatures`), recovers every signature with eth-account
and compares the signer, and — both sides being deterministic — the signature bytes too.

Needs: pip install eth-account==0.14.0
"""

import argparse
import json
import pathlib
import subprocess
import sys

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import keccak, to_checksum_address

HERE = pathlib.Path(__file__).resolve().parent
OUT = HERE / "evm_exact.json"
ROOT = HERE.parent.parent

# secp256k1's group order: s' = N - s is the malleable twin of a signature.
N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
NOW = 1_795_262_400  # 2026-11-21T12:00:00Z
PAY_TO = to_checksum_address("0x209693bc6afc0c5328ba36faf03c514ef312287c")
OTHER = to_checksum_address("0x000000000000000000000000000000000000dead")
RESOURCE = "https://api.example.com/premium-data"

TYPES = {
    "TransferWithAuthorization": [
        {"name": "from", "type": "address"},
        {"name": "to", "type": "address"},
        {"name": "value", "type": "uint256"},
        {"name": "validAfter", "type": "uint256"},
        {"name": "validBefore", "type": "uint256"},
        {"name": "nonce", "type": "bytes32"},
    ]
}

# (CAIP-2, v1 name or None, chain id, token, EIP-712 name, version)
CHAINS = [
    ("eip155:84532", "base-sepolia", 84532, "0x036CbD53842c5426634e7929541eC2318f3dCF7e", "USDC", "2"),
    ("eip155:8453", "base", 8453, "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913", "USD Coin", "2"),
    ("eip155:137", "polygon", 137, "0x3c499c542cEF5E3811e1192ce70d8cC03d5c3359", "USD Coin", "2"),
    ("eip155:31337", None, 31337, "0x5FbDB2315678afecb367f032d93F642f64180aa3", "Mock USD", "1"),
]


def key(seed):
    """A deterministic test key (never a real wallet)."""
    return "0x" + keccak(text=f"paywire evm vector key {seed}").hex()


def nonce(seed):
    return "0x" + keccak(text=f"paywire evm vector nonce {seed}").hex()


def domain_of(chain):
    _, _, chain_id, token, name, version = chain
    return {"name": name, "version": version, "chainId": chain_id, "verifyingContract": to_checksum_address(token)}


def sign(private_key, domain, authorization):
    message = {
        "from": authorization["from"],
        "to": authorization["to"],
        "value": int(authorization["value"]),
        "validAfter": int(authorization["validAfter"]),
        "validBefore": int(authorization["validBefore"]),
        "nonce": bytes.fromhex(authorization["nonce"][2:]),
    }
    signed = Account.sign_typed_data(private_key, domain, TYPES, message)
    return "0x" + bytes(signed.signature).hex()


def requirements_of(chain, amount, version, extra=True, timeout=300):
    caip2, v1_name, _, token, name, ver = chain
    req = {"scheme": "exact"}
    if version == 2:
        req.update({"network": caip2, "amount": str(amount), "asset": token, "payTo": PAY_TO, "maxTimeoutSeconds": timeout})
    else:
        req.update({"network": v1_name, "maxAmountRequired": str(amount), "resource": RESOURCE, "description": "",
                    "mimeType": "application/json", "payTo": PAY_TO, "maxTimeoutSeconds": timeout, "asset": token})
    if extra:
        req["extra"] = {"name": name, "version": ver}
    return req


def authorization_for(private_key, requirements, version, seed, **overrides):
    """What the official clients sign: validAfter 0 (v2) or now - 600 (v1)."""
    amount = requirements["amount"] if version == 2 else requirements["maxAmountRequired"]
    authorization = {
        "from": Account.from_key(private_key).address,
        "to": to_checksum_address(requirements["payTo"]),
        "value": str(amount),
        "validAfter": "0" if version == 2 else str(NOW - 600),
        "validBefore": str(NOW + requirements["maxTimeoutSeconds"]),
        "nonce": nonce(seed),
    }
    authorization.update({k: str(v) if k in ("value", "validAfter", "validBefore") else v for k, v in overrides.items()})
    return authorization


def payment_of(requirements, version, signature, authorization, network=None):
    payload = {"signature": signature, "authorization": authorization}
    if version == 2:
        accepted = dict(requirements)
        if network:
            accepted["network"] = network
        return {"x402Version": 2, "resource": {"url": RESOURCE}, "accepted": accepted, "payload": payload}
    return {"x402Version": 1, "scheme": requirements["scheme"], "network": network or requirements["network"], "payload": payload}


def verify_case(title, payment, requirements, now, payer=None, value=None, error=None):
    case = {"title": title, "op": "evm.verify", "input": {"paymentPayload": payment, "requirements": requirements, "now": now}}
    if error:
        case["error"] = error
    else:
        case["expected"] = {"payer": payer, "value": str(value)}
    return case


def high_s_twin(signature):
    raw = bytes.fromhex(signature[2:])
    r, s, v = raw[:32], int.from_bytes(raw[32:64], "big"), raw[64]
    return "0x" + (r + (N - s).to_bytes(32, "big") + bytes([55 - v])).hex()


def build_cases():
    cases = []
    # Hashes: domain separator, struct hash and digest, as eth-account encodes them.
    for i, chain in enumerate(CHAINS):
        domain = domain_of(chain)
        authorization = authorization_for(key(i), requirements_of(chain, 10_000 * (i + 1), 2), 2, f"hash {i}")
        message = {k: (int(v) if k in ("value", "validAfter", "validBefore") else v) for k, v in authorization.items()}
        message["nonce"] = bytes.fromhex(authorization["nonce"][2:])
        signable = encode_typed_data(domain, TYPES, message)
        digest = keccak(b"\x19\x01" + signable.header + signable.body)
        cases.append({"title": f"EIP-712 hashes on chain {chain[2]}", "op": "evm.hashes",
                      "input": {"domain": domain, "message": authorization},
                      "expected": {"domainSeparator": "0x" + signable.header.hex(), "structHash": "0x" + signable.body.hex(),
                                   "digest": "0x" + digest.hex()}})
    # Addresses.
    for text in [PAY_TO.lower(), PAY_TO.upper().replace("0X", "0x"), PAY_TO, Account.from_key(key(0)).address.lower()]:
        cases.append({"title": f"checksum {text}", "op": "evm.address", "input": {"text": text},
                      "expected": {"checksum": to_checksum_address(text)}})
    bad_checksum = PAY_TO[:-1] + (PAY_TO[-1].lower() if PAY_TO[-1].isupper() else PAY_TO[-1].upper())
    cases.append({"title": "wrong EIP-55 checksum", "op": "evm.address", "input": {"text": bad_checksum},
                  "error": "evm_address_checksum_invalid"})
    cases.append({"title": "too short for an address", "op": "evm.address", "input": {"text": PAY_TO[:-2]},
                  "error": "evm_address_invalid"})

    # Valid payments across chains, keys, amounts and nonces, v2 and v1.
    amounts = [1, 10_000, 1_000_000, 123_456_789, 10**24]
    for c, chain in enumerate(CHAINS):
        for k in range(2):
            for a, amount in enumerate(amounts[(c + k) % 2::2]):
                for version in (2, 1):
                    if version == 1 and chain[1] is None:
                        continue
                    pk = key(f"{c}{k}")
                    req = requirements_of(chain, amount, version)
                    auth = authorization_for(pk, req, version, f"{c}{k}{a}{version}")
                    sig = sign(pk, domain_of(chain), auth)
                    cases.append(verify_case(f"valid v{version} on {chain[0]}, key {c}{k}, {amount} units",
                                             payment_of(req, version, sig, auth), req, NOW + 10,
                                             payer=auth["from"], value=amount))

    # Tampered cases, on base-sepolia v2 unless said otherwise.
    chain = CHAINS[0]
    pk = key("tamper")
    req = requirements_of(chain, 10_000, 2)
    auth = authorization_for(pk, req, 2, "tamper")
    sig = sign(pk, domain_of(chain), auth)
    payer = auth["from"]

    def tampered(title, error, payment=None, requirements=None, now=NOW + 10):
        cases.append(verify_case(title, payment or payment_of(req, 2, sig, auth), requirements or req, now, error=error))

    cases.append(verify_case("the untampered payment verifies", payment_of(req, 2, sig, auth), req, NOW + 10, payer=payer, value=10_000))
    tampered("value raised after signing", "invalid_exact_evm_signature",
             payment_of(req, 2, sig, {**auth, "value": "10001"}), {**req, "amount": "10001"})
    tampered("recipient changed after signing", "invalid_exact_evm_signature",
             payment_of({**req, "payTo": OTHER}, 2, sig, {**auth, "to": OTHER}), {**req, "payTo": OTHER})
    tampered("nonce changed after signing", "invalid_exact_evm_signature",
             payment_of(req, 2, sig, {**auth, "nonce": nonce("other")}))
    tampered("validBefore extended after signing", "invalid_exact_evm_signature",
             payment_of(req, 2, sig, {**auth, "validBefore": str(NOW + 9999)}))
    tampered("from claims another address", "invalid_exact_evm_signature",
             payment_of(req, 2, sig, {**auth, "from": OTHER}))
    for byte, label in [(0, "r"), (40, "s"), (64, "v")]:
        raw = bytearray(bytes.fromhex(sig[2:]))
        raw[byte] ^= 0x01
        tampered(f"signature byte {byte} ({label}) flipped", "invalid_exact_evm_signature",
                 payment_of(req, 2, "0x" + raw.hex(), auth))
    tampered("high-s twin of a valid signature", "invalid_exact_evm_signature",
             payment_of(req, 2, high_s_twin(sig), auth))
    raw = bytes.fromhex(sig[2:])
    cases.append(verify_case("v as 0/1 instead of 27/28", payment_of(req, 2, "0x" + (raw[:64] + bytes([raw[64] - 27])).hex(), auth),
                             req, NOW + 10, payer=payer, value=10_000))
    tampered("64-byte signature", "invalid_exact_evm_signature", payment_of(req, 2, "0x" + raw[:64].hex(), auth))
    tampered("smart-wallet length signature", "invalid_exact_evm_payload_undeployed_smart_wallet",
             payment_of(req, 2, sig + "00" * 32, auth))
    tampered("signature not hex", "invalid_exact_evm_signature", payment_of(req, 2, "0x" + "zz" * 65, auth))

    other_chain = CHAINS[1]
    req_other = requirements_of(other_chain, 10_000, 2)
    tampered("signed for base-sepolia, presented on base", "invalid_exact_evm_signature",
             payment_of(req_other, 2, sig, {**auth}), req_other)
    tampered("signed under another token name", "invalid_exact_evm_signature",
             requirements={**req, "extra": {"name": "USD Coin", "version": "2"}},
             payment=payment_of({**req, "extra": {"name": "USD Coin", "version": "2"}}, 2, sig, auth))
    tampered("payment names another network", "invalid_exact_evm_network_mismatch",
             payment_of(req, 2, sig, auth, network="eip155:8453"))
    tampered("requirements without EIP-712 domain", "invalid_exact_evm_missing_eip712_domain",
             payment_of(requirements_of(chain, 10_000, 2, extra=False), 2, sig, auth), requirements_of(chain, 10_000, 2, extra=False))
    tampered("scheme is not exact", "invalid_exact_evm_scheme",
             payment_of({**req, "scheme": "upto"}, 2, sig, auth), {**req, "scheme": "upto"})

    for title, overrides, error, now in [
        ("properly signed for another recipient", {"to": OTHER}, "invalid_exact_evm_recipient_mismatch", NOW + 10),
        ("expires within the 6 s grace", {"validBefore": NOW + 15}, "invalid_exact_evm_payload_authorization_valid_before", NOW + 10),
        ("expired long ago", {"validBefore": NOW - 100}, "invalid_exact_evm_payload_authorization_valid_before", NOW + 10),
        ("not valid yet", {"validAfter": NOW + 60}, "invalid_exact_evm_payload_authorization_valid_after", NOW + 10),
        ("properly signed for less", {"value": 9_999}, "invalid_exact_evm_payload_authorization_value_mismatch", NOW + 10),
        ("properly signed for more", {"value": 10_001}, "invalid_exact_evm_payload_authorization_value_mismatch", NOW + 10),
    ]:
        a = authorization_for(pk, req, 2, "window " + title, **overrides)
        tampered(title, error, payment_of(req, 2, sign(pk, domain_of(chain), a), a), now=now)
    edge = authorization_for(pk, req, 2, "edge", validBefore=NOW + 16, validAfter=NOW + 10)
    cases.append(verify_case("exactly at the grace and validAfter edges", payment_of(req, 2, sign(pk, domain_of(chain), edge), edge),
                             req, NOW + 10, payer=payer, value=10_000))

    # v1: the legacy names map to chain ids; values must equal under the v2 rules.
    req1 = requirements_of(chain, 10_000, 1)
    auth1 = authorization_for(pk, req1, 1, "v1")
    sig1 = sign(pk, domain_of(chain), auth1)
    cases.append(verify_case("v1 payment on base-sepolia", payment_of(req1, 1, sig1, auth1), req1, NOW, payer=payer, value=10_000))
    over = authorization_for(pk, req1, 1, "v1 over", value=20_000)
    cases.append(verify_case("v1 overpayment is refused as in the v2 SDKs",
                             payment_of(req1, 1, sign(pk, domain_of(chain), over), over), req1, NOW,
                             error="invalid_exact_evm_payload_authorization_value_mismatch"))
    cases.append(verify_case("v1 payment against v2 requirements", payment_of(req1, 1, sig1, auth1), req, NOW,
                             error="invalid_x402_version"))

    # Zero is not a payment: a correctly signed zero-value authorization is refused.
    req0 = requirements_of(chain, 0, 2)
    auth0 = authorization_for(pk, req0, 2, "zero")
    cases.append(verify_case("a signed zero value is not a payment", payment_of(req0, 2, sign(pk, domain_of(chain), auth0), auth0),
                             req0, NOW + 10, error="invalid_exact_evm_payload_authorization_value"))

    # Signing: the Rust signer must produce eth-account's bytes (RFC 6979 is deterministic).
    for c, chain in enumerate(CHAINS):
        for version in (2, 1):
            if version == 1 and chain[1] is None:
                continue
            pk_sign = key(f"sign {c}")
            req_sign = requirements_of(chain, 5_000 * (c + 1), version, timeout=60 + c)
            n = nonce(f"sign {c} {version}")
            auth_sign = authorization_for(pk_sign, req_sign, version, f"sign {c} {version}")
            cases.append({"title": f"sign v{version} on {chain[0]}", "op": "evm.sign",
                          "input": {"privateKey": pk_sign, "requirements": req_sign, "nonce": n[2:], "now": NOW},
                          "expected": {"signature": sign(pk_sign, domain_of(chain), auth_sign), "authorization": auth_sign}})
    cases.append({"title": "sign without an EIP-712 domain", "op": "evm.sign",
                  "input": {"privateKey": key("x"), "requirements": requirements_of(CHAINS[0], 1, 2, extra=False), "nonce": "00" * 32, "now": NOW},
                  "error": "invalid_exact_evm_missing_eip712_domain"})
    cases.append({"title": "a zero amount is not signed", "op": "evm.sign",
                  "input": {"privateKey": key("x"), "requirements": requirements_of(CHAINS[0], 0, 2), "nonce": "00" * 32, "now": NOW},
                  "error": "invalid_exact_evm_payload_authorization_value"})
    cases.append({"title": "sign with a zero private key", "op": "evm.sign",
                  "input": {"privateKey": "0x" + "00" * 32, "requirements": requirements_of(CHAINS[0], 1, 2), "nonce": "00" * 32, "now": NOW},
                  "error": "evm_private_key_invalid"})
    return cases


def render():
    document = {
        "concept": "evm_exact",
        "description": "The exact scheme on EVM (EIP-3009 over EIP-712): hashes, addresses, verification and signing. "
                       "Generated by tests/vectors/evm_exact.py with eth-account as the independent signer.",
        "cases": build_cases(),
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def check_rust_signatures():
    """Recovers every Rust-signed authorization with eth-account; returns (passed, failed)."""
    out = subprocess.run(["cargo", "run", "--quiet", "--locked", "-p", "paywire-vectors", "--", "evm-signatures"],
                         cwd=ROOT, check=True, capture_output=True, text=True).stdout
    passed = failed = 0
    for case in json.loads(out):
        message = dict(case["message"])
        typed = {**message, "value": int(message["value"]), "validAfter": int(message["validAfter"]),
                 "validBefore": int(message["validBefore"]), "nonce": bytes.fromhex(message["nonce"][2:])}
        recovered = Account.recover_message(encode_typed_data(case["domain"], TYPES, typed), signature=case["signature"])
        expected = Account.from_key(case["privateKey"]).address
        own = sign(case["privateKey"], case["domain"], message)
        if recovered == expected == case["address"] and own == case["signature"]:
            passed += 1
        else:
            failed += 1
            print(f"FAIL {case['domain']['chainId']} value {message['value']}: recovered {recovered}, "
                  f"expected {expected}, rust says {case['address']}, eth-account signs {own}, rust signed {case['signature']}")
    return passed, failed


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="fail on drift and check the Rust signer")
    args = parser.parse_args()
    text = render()
    if not args.check:
        OUT.write_text(text)
        print(f"wrote {OUT.relative_to(ROOT)}: {len(json.loads(text)['cases'])} cases")
        return 0
    failed = 0
    if OUT.read_text() != text:
        print(f"{OUT.relative_to(ROOT)} differs from what eth-account produces: run python {pathlib.Path(__file__).relative_to(ROOT)}")
        failed += 1
    rust_passed, rust_failed = check_rust_signatures()
    print(f"eth-account recovered {rust_passed} Rust-signed authorizations")
    print(f"{rust_passed + (1 if failed == 0 else 0)} passed, {rust_failed + failed} failed")
    return 1 if failed or rust_failed else 0


if __name__ == "__main__":
    sys.exit(main())
