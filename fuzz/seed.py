#!/usr/bin/env python3
"""Writes the seed corpus of each fuzz target from the shared vectors (tests/vectors/*.json).

    python3 fuzz/seed.py     # rewrites fuzz/corpus/<target>/seed-*

The corpus is committed; `cargo fuzz run` adds what it finds to the same directories.
"""
import base64
import hashlib
import json
import pathlib

ROOT = pathlib.Path(__file__).resolve().parent.parent
VECTORS = ROOT / "tests" / "vectors"
CORPUS = ROOT / "fuzz" / "corpus"


def load(name):
    return json.loads((VECTORS / f"{name}.json").read_text())["cases"]


def walk(value, found):
    """Every JSON object in `value`, depth first."""
    if isinstance(value, dict):
        found.append(value)
        for v in value.values():
            walk(v, found)
    elif isinstance(value, list):
        for v in value:
            walk(v, found)
    return found


def seeds():
    out = {t: [] for t in ("header_codec", "payment_json", "token_verify", "policy_json", "pricebook_json", "mcp_flow")}
    for name in ("protocol", "ledger", "evm_exact"):
        for case in load(name):
            for obj in walk(case.get("input", {}), []):
                if "x402Version" in obj:
                    text = json.dumps(obj)
                    out["payment_json"].append(text)
                    out["header_codec"].append(base64.b64encode(text.encode()).decode())
                if "paymentPayload" in obj and "requirements" in obj:
                    out["payment_json"].append(json.dumps({"x402Version": obj["paymentPayload"].get("x402Version", 2),
                        "paymentPayload": obj["paymentPayload"], "paymentRequirements": obj["requirements"]}))
            for key in ("header", "text"):
                value = case.get("input", {}).get(key)
                if isinstance(value, str):
                    out["header_codec"].append(value)
    for case in load("token"):
        for obj in walk(case, []):
            for value in obj.values():
                if isinstance(value, str) and value.startswith("pw1."):
                    out["token_verify"].append(value)
    for case in load("policy"):
        inp = case.get("input", {})
        if "policy" in inp:
            out["policy_json"].append(json.dumps([inp["policy"], inp.get("intent", {}), inp.get("usage", {}), inp.get("now", 0)]))
            out["policy_json"].append(json.dumps(inp["policy"]))
    for case in load("pricing"):
        inp = case.get("input", {})
        if "pricebook" in inp:
            out["pricebook_json"].append(json.dumps([inp["pricebook"], inp.get("request", {})]))
    for case in load("flow_mcp"):
        events = case.get("input", {}).get("events")
        if events:
            out["mcp_flow"].append(json.dumps(events))
    return out


def main():
    for target, items in seeds().items():
        directory = CORPUS / target
        directory.mkdir(parents=True, exist_ok=True)
        for old in directory.glob("seed-*"):
            old.unlink()
        for item in dict.fromkeys(items):
            digest = hashlib.sha1(item.encode()).hexdigest()[:16]
            (directory / f"seed-{digest}").write_text(item)
        print(f"{target}: {len(set(items))} seeds")


if __name__ == "__main__":
    main()
