//! Regenerates `tests/vectors/*.json` deterministically.
//!
//! Run with: `cargo run -p paywire-vectors` (CI runs it and fails on any diff).
//!
//! Inputs are written here by hand; expected outputs are what `paywire-core` computes, after
//! which every file is checked in. A behaviour change therefore shows up as a diff to review,
//! and every binding must reproduce the same outputs. Unit tests in the core pin the
//! independently computed values (domain separators, hashes, prices worked by hand).

use std::path::Path;

use paywire_vectors::{run, vectors_dir, Case, VectorFile};
use serde_json::{json, Value};

mod flows;
mod mcp;

pub(crate) struct Builder {
    cases: Vec<Case>,
}

impl Builder {
    fn new() -> Self {
        Builder { cases: vec![] }
    }

    /// Adds a case whose expectation is whatever the core computes.
    fn case(&mut self, title: impl Into<String>, op: &str, input: Value) -> Value {
        let outcome = run(op, &input);
        let (expected, error) = match outcome {
            Ok(value) => (Some(value), None),
            Err(code) => (None, Some(code)),
        };
        let result = expected.clone().unwrap_or(Value::Null);
        self.cases.push(Case {
            title: title.into(),
            op: op.into(),
            input,
            expected,
            error,
        });
        result
    }

    /// Adds a case that must fail with `code`; panics while generating if it does not, so a
    /// generator bug cannot silently write a wrong expectation.
    fn fails(&mut self, title: impl Into<String>, op: &str, input: Value, code: &str) {
        let title = title.into();
        let got = run(op, &input);
        assert_eq!(
            got.as_ref().err().map(String::as_str),
            Some(code),
            "{title}: {got:?}"
        );
        self.case(title, op, input);
    }

    /// Adds a case that must succeed with `expected`; panics while generating otherwise.
    fn gives(&mut self, title: impl Into<String>, op: &str, input: Value, expected: Value) {
        let title = title.into();
        let got = run(op, &input);
        assert_eq!(got.as_ref().ok(), Some(&expected), "{title}: {got:?}");
        self.case(title, op, input);
    }

    fn write(self, dir: &Path, concept: &str, description: &str) {
        let file = VectorFile {
            concept: concept.into(),
            description: description.into(),
            cases: self.cases,
        };
        let mut text = serde_json::to_string_pretty(&file).expect("vectors serialize");
        text.push('\n');
        std::fs::write(dir.join(format!("{concept}.json")), text).expect("write vectors");
    }
}

const USDC_BASE_SEPOLIA: &str = "0x036CbD53842c5426634e7929541eC2318f3dCF7e";
const PAY_TO: &str = "0x209693Bc6afc0C5328bA36FaF03C514EF312287C";
const NOW: u64 = 1_795_262_400; // 2026-11-21T12:00:00Z

fn money(dir: &Path) {
    let mut b = Builder::new();
    for (decimals, text, atomic) in [
        (6, "$0.01", "10000"),
        (6, "0.01", "10000"),
        (6, "2", "2000000"),
        (6, "1.5", "1500000"),
        (6, "0.000001", "1"),
        (6, "0.0100000000", "10000"),
        (6, "$0", "0"),
        (6, "-0", "0"),
        (0, "42", "42"),
        (18, "1", "1000000000000000000"),
        (18, "0.000000000000000001", "1"),
        (2, "19.99", "1999"),
        (28, "0.0000000000000000000000000001", "1"),
        (
            6,
            "340282366920938463463374607431768.211455",
            "340282366920938463463374607431768211455",
        ),
    ] {
        b.gives(
            format!("parse price {text} at {decimals} decimals"),
            "money.parse_price",
            json!({"decimals": decimals, "text": text}),
            json!({"atomic": atomic}),
        );
    }
    for (text, code) in [
        ("0.0000001", "amount_too_precise"),
        ("-0.01", "amount_negative"),
        ("$-1", "amount_negative"),
        ("", "amount_invalid"),
        ("$", "amount_invalid"),
        (".5", "amount_invalid"),
        ("5.", "amount_invalid"),
        ("1e3", "amount_invalid"),
        ("1,000", "amount_invalid"),
        (" 1", "amount_invalid"),
        ("0x10", "amount_invalid"),
        ("+1", "amount_invalid"),
        ("NaN", "amount_invalid"),
        ("Infinity", "amount_invalid"),
        ("1.2.3", "amount_invalid"),
        (
            "340282366920938463463374607431768.211456",
            "amount_overflow",
        ),
    ] {
        b.fails(
            format!("refuse price {text:?}"),
            "money.parse_price",
            json!({"decimals": 6, "text": text}),
            code,
        );
    }
    for (text, result) in [
        ("0", Ok("0")),
        ("10000", Ok("10000")),
        (
            "340282366920938463463374607431768211455",
            Ok("340282366920938463463374607431768211455"),
        ),
        (
            "340282366920938463463374607431768211456",
            Err("amount_overflow"),
        ),
        ("-1", Err("amount_negative")),
        ("1.0", Err("amount_invalid")),
        ("1e4", Err("amount_invalid")),
        ("", Err("amount_invalid")),
    ] {
        match result {
            Ok(atomic) => b.gives(
                format!("atomic {text}"),
                "money.parse_atomic",
                json!({"text": text}),
                json!({"atomic": atomic}),
            ),
            Err(code) => b.fails(
                format!("refuse atomic {text:?}"),
                "money.parse_atomic",
                json!({"text": text}),
                code,
            ),
        }
    }
    for (decimals, atomic, decimal) in [
        (6, "10000", "0.01"),
        (6, "1", "0.000001"),
        (0, "7", "7"),
        (18, "1500000000000000000", "1.5"),
        (6, "0", "0"),
    ] {
        b.gives(
            format!("{atomic} at {decimals} decimals is {decimal}"),
            "money.to_decimal",
            json!({"decimals": decimals, "atomic": atomic}),
            json!({"decimal": decimal}),
        );
        b.gives(
            format!("{decimal} at {decimals} decimals is {atomic}"),
            "money.from_decimal",
            json!({"decimals": decimals, "decimal": decimal}),
            json!({"atomic": atomic}),
        );
    }
    b.fails(
        "u128::MAX does not fit a Decimal",
        "money.to_decimal",
        json!({"decimals": 6, "atomic": "340282366920938463463374607431768211455"}),
        "amount_overflow",
    );
    b.fails(
        "too precise decimal",
        "money.from_decimal",
        json!({"decimals": 6, "decimal": "0.0000001"}),
        "amount_too_precise",
    );
    b.fails(
        "negative decimal",
        "money.from_decimal",
        json!({"decimals": 6, "decimal": "-0.5"}),
        "amount_negative",
    );
    for (decimals, atomic, text) in [
        (6, "10000", "0.01"),
        (6, "2500000", "2.5"),
        (6, "0", "0"),
        (0, "120", "120"),
        (
            6,
            "340282366920938463463374607431768211455",
            "340282366920938463463374607431768.211455",
        ),
    ] {
        b.gives(
            format!("format {atomic} at {decimals}"),
            "money.format",
            json!({"decimals": decimals, "atomic": atomic}),
            json!({"text": text}),
        );
    }
    for (atomic, from, to, result) in [
        ("15", 6, 18, "15000000000000"),
        ("1000000000001", 18, 6, "2"),
        ("2000000000000", 18, 6, "2"),
        ("1", 6, 6, "1"),
        ("0", 18, 0, "0"),
    ] {
        b.gives(
            format!("rescale {atomic} from {from} to {to} decimals"),
            "money.rescale",
            json!({"atomic": atomic, "fromDecimals": from, "toDecimals": to}),
            json!({"atomic": result}),
        );
    }
    b.fails("rescale overflow", "money.rescale", json!({"atomic": "340282366920938463463374607431768211455", "fromDecimals": 0, "toDecimals": 1}), "amount_overflow");
    b.write(
        dir,
        "money",
        "Amounts: price parsing, atomic parsing, exact Decimal conversion, formatting, rescaling.",
    );
}

fn tiered_book(mode: &str) -> Value {
    json!({"decimals": 6, "feeBps": 250, "rules": [
        {"method": "POST", "path": "/v1/complete", "description": "Completion",
         "price": {"flat": "1000", "usage": {"mode": mode, "unitSize": 1000, "tiers": [
            {"upTo": 100, "unitPrice": "200"}, {"upTo": 1000, "unitPrice": "150"}, {"unitPrice": "100"}]},
          "freeQuota": {"units": 10}},
         "overrides": {"agent_partner": {"flat": "500"}}},
        {"method": "GET", "path": "/weather/:city", "price": {"flat": "10000", "freeQuota": {"requests": 3}}},
        {"method": "*", "path": "/files/*", "price": {"flat": "1"}}
    ]})
}

fn pricing(dir: &Path) {
    let mut b = Builder::new();
    for mode in ["graduated", "volume"] {
        for (quantity, period_units) in [
            (1, 0),
            (5_000, 0),
            (50_000, 0),
            (2_000, 95),
            (1_000_000, 0),
            (100_000, 950),
            (0, 0),
            (999, 2_000),
        ] {
            b.case(format!("{mode}: quantity {quantity} after {period_units} units"), "pricing.quote", json!({
                "pricebook": tiered_book(mode),
                "request": {"method": "POST", "path": "/v1/complete", "quantity": quantity, "periodUnits": period_units}}));
        }
        b.case(format!("{mode}: consumer override"), "pricing.quote", json!({"pricebook": tiered_book(mode),
            "request": {"method": "POST", "path": "/v1/complete", "quantity": 50_000, "consumer": "agent_partner"}}));
    }
    for period_requests in [0, 2, 3, 10] {
        b.case(format!("free request quota after {period_requests} requests"), "pricing.quote", json!({"pricebook": tiered_book("volume"),
            "request": {"method": "GET", "path": "/weather/paris?units=metric", "periodRequests": period_requests}}));
    }
    b.case(
        "wildcard method and path",
        "pricing.quote",
        json!({"pricebook": tiered_book("volume"),
        "request": {"method": "DELETE", "path": "/files/a/b.txt"}}),
    );
    b.fails(
        "no rule matches",
        "pricing.quote",
        json!({"pricebook": tiered_book("volume"),
        "request": {"method": "GET", "path": "/v1/complete"}}),
        "pricing_no_route",
    );
    b.fails("unordered tiers", "pricing.quote", json!({"pricebook": {"rules": [{"method": "GET", "path": "/x",
        "price": {"usage": {"mode": "volume", "tiers": [{"upTo": 10, "unitPrice": "1"}, {"upTo": 5, "unitPrice": "1"}, {"unitPrice": "1"}]}}}]},
        "request": {"method": "GET", "path": "/x"}}), "pricing_rule_invalid");
    b.fails(
        "an empty price would be free",
        "pricing.quote",
        json!({"pricebook": {"rules": [{"method": "GET", "path": "/x", "price": {}}]},
        "request": {"method": "GET", "path": "/x"}}),
        "pricing_rule_invalid",
    );
    b.case(
        "an explicit zero price is a free route",
        "pricing.quote",
        json!({"pricebook": {"rules": [{"method": "GET", "path": "/x", "price": {"flat": "0"}}]},
        "request": {"method": "GET", "path": "/x"}}),
    );
    b.fails(
        "bounded last tier",
        "pricing.quote",
        json!({"pricebook": {"rules": [{"method": "GET", "path": "/x",
        "price": {"usage": {"mode": "graduated", "tiers": [{"upTo": 10, "unitPrice": "1"}]}}}]},
        "request": {"method": "GET", "path": "/x"}}),
        "pricing_rule_invalid",
    );
    b.fails(
        "fee above 100%",
        "pricing.quote",
        json!({"pricebook": {"feeBps": 10001, "rules": []},
        "request": {"method": "GET", "path": "/x"}}),
        "pricing_fee_invalid",
    );
    b.fails("usage overflow", "pricing.quote", json!({"pricebook": {"rules": [{"method": "GET", "path": "/x",
        "price": {"usage": {"mode": "volume", "tiers": [{"unitPrice": "340282366920938463463374607431768211455"}]}}}]},
        "request": {"method": "GET", "path": "/x", "quantity": 2}}), "amount_overflow");
    for (gross, bps) in [
        ("10000", 250),
        ("3", 5000),
        ("1", 9999),
        ("0", 300),
        ("340282366920938463463374607431768211455", 10000),
        ("340282366920938463463374607431768211455", 1),
        ("999999", 0),
        ("12345", 3333),
    ] {
        b.case(
            format!("fee split {gross} at {bps} bps"),
            "pricing.split_fee",
            json!({"gross": gross, "feeBps": bps}),
        );
    }
    b.fails(
        "fee split above 100%",
        "pricing.split_fee",
        json!({"gross": "1", "feeBps": 10001}),
        "pricing_fee_invalid",
    );
    for (pattern, path, matches) in [
        ("/weather", "/weather", true),
        ("/weather", "/weather/", true),
        ("/weather", "/weather?x=1", true),
        ("/weather", "/weathers", false),
        ("/items/:id", "/items/42", true),
        ("/items/:id", "/items", false),
        ("/items/{id}/reviews", "/items/42/reviews", true),
        ("/items/{id}/reviews", "/items/42/reviews/1", false),
        ("/files/*", "/files", true),
        ("/files/*", "/files/a/b", true),
        ("/files/*", "/filesx", false),
        ("/", "/", true),
        ("/", "/a", false),
        ("/a//b", "/a/b", true),
        ("/A", "/a", false),
    ] {
        b.gives(
            format!("{pattern} vs {path}"),
            "pricing.path_matches",
            json!({"pattern": pattern, "path": path}),
            json!({"matches": matches}),
        );
    }
    b.fails(
        "pattern without leading slash",
        "pricing.path_matches",
        json!({"pattern": "weather", "path": "/weather"}),
        "pricing_rule_invalid",
    );
    b.fails(
        "star in the middle",
        "pricing.path_matches",
        json!({"pattern": "/a/*/b", "path": "/a/x/b"}),
        "pricing_rule_invalid",
    );
    let options = json!([
        {"asset": {"network": "eip155:84532", "address": USDC_BASE_SEPOLIA, "symbol": "USDC", "decimals": 6, "extra": {"name": "USDC", "version": "2"}},
         "payTo": PAY_TO, "maxTimeoutSeconds": 60},
        {"asset": {"network": "paywire:main", "address": "USD", "symbol": "USD", "decimals": 6}, "payTo": "wallet_provider"},
        {"asset": {"network": "eip155:1", "address": "0x6B175474E89094C44Da98b954EedeAC495271d0F", "symbol": "DAI", "decimals": 18}, "payTo": PAY_TO}
    ]);
    for version in [1, 2] {
        let title = match version {
            1 => "v1 402 for three options: only those with a v1 network name (a v1 client gives up on the first it cannot read)".to_string(),
            _ => format!("v{version} 402 for three options"),
        };
        b.case(title, "pricing.payment_required", json!({
            "pricebook": tiered_book("graduated"), "request": {"method": "GET", "path": "/weather/paris", "periodRequests": 5},
            "options": options, "resource": {"url": "https://api.example.com/weather/paris", "description": "Weather", "mimeType": "application/json"},
            "x402Version": version}));
    }
    b.fails("option on an invalid network", "pricing.payment_required", json!({
        "pricebook": tiered_book("graduated"), "request": {"method": "GET", "path": "/weather/paris", "periodRequests": 5},
        "options": [{"asset": {"network": "nocolon", "address": "X", "symbol": "X", "decimals": 6}, "payTo": "p"}],
        "resource": {"url": "https://x"}, "x402Version": 2}), "network_invalid");
    b.write(dir, "pricing", "Quotes (tiers, quotas, overrides, fee split), path patterns and 402 bodies built from quotes.");
}

fn intent(amount: &str) -> Value {
    json!({"amount": amount, "network": "eip155:84532", "asset": USDC_BASE_SEPOLIA, "payTo": PAY_TO,
           "resource": "https://api.example.com/weather"})
}

fn policy(dir: &Path) {
    let mut b = Builder::new();
    let full = json!({"maxPerRequest": "1.00", "dailyLimit": "5.00", "monthlyLimit": "50.00",
        "allowedNetworks": ["base-sepolia", "paywire:main"], "allowedAssets": [USDC_BASE_SEPOLIA, "USD"],
        "allowedPayees": [PAY_TO.to_lowercase(), "wallet_provider"], "allowedHosts": ["*.example.com"],
        "velocity": {"maxPayments": 3, "windowSeconds": 60}, "approvalThreshold": "0.50"});
    let empty = json!({"day": 0, "spentToday": "0", "month": 0, "spentThisMonth": "0", "recentPayments": []});
    for (title, amount) in [
        ("small payment allowed", "0.01"),
        ("at the max per request needs approval", "1.00"),
        ("above the max per request", "1.000001"),
        ("above approval threshold", "0.51"),
        ("at approval threshold", "0.50"),
        ("zero amount", "0"),
        ("negative amount", "-0.01"),
    ] {
        b.case(
            title,
            "policy.evaluate",
            json!({"policy": full, "intent": intent(amount), "usage": empty, "now": NOW}),
        );
    }
    let mut edits: Vec<(&str, Value)> = vec![];
    let mut i = intent("0.01");
    i["network"] = json!("eip155:8453");
    edits.push(("network not allowed", i));
    let mut i = intent("0.01");
    i["asset"] = json!("0xdeadbeef");
    edits.push(("asset not allowed", i));
    let mut i = intent("0.01");
    i["payTo"] = json!("0x0000000000000000000000000000000000000bad");
    edits.push(("payee not allowed", i));
    let mut i = intent("0.01");
    i["resource"] = json!("https://example.com/weather");
    edits.push(("apex host not allowed", i));
    let mut i = intent("0.01");
    i["resource"] = json!("https://api.example.com.evil.io/x");
    edits.push(("look-alike host not allowed", i));
    let mut i = intent("0.01");
    i["resource"] = json!("https://api.example.com@evil.io/x");
    edits.push(("userinfo trick not allowed", i));
    let mut i = intent("0.01");
    i.as_object_mut().unwrap().remove("resource");
    edits.push(("unknown host not allowed", i));
    let mut i = intent("0.01");
    i["network"] = json!("base-sepolia");
    edits.push(("v1 network name allowed", i));
    let mut i = intent("0.01");
    i["payTo"] = json!(PAY_TO.to_uppercase().replace("0X", "0x"));
    edits.push(("payee compared case-insensitively", i));
    for (title, intent) in edits {
        b.case(
            title,
            "policy.evaluate",
            json!({"policy": full, "intent": intent, "usage": empty, "now": NOW}),
        );
    }
    let day = NOW / 86_400;
    let month = (2026 - 1970) * 12 + 10;
    for (title, spent_today, spent_month, recent) in [
        ("daily limit reached", "4.99", "4.99", json!([])),
        ("daily limit exactly met", "4.99", "4.99", json!([])),
        ("monthly limit reached", "0", "49.995", json!([])),
        (
            "velocity limit reached",
            "0",
            "0",
            json!([NOW - 59, NOW - 30, NOW - 1]),
        ),
        (
            "velocity window slid",
            "0",
            "0",
            json!([NOW - 60, NOW - 30, NOW - 1]),
        ),
    ] {
        let amount = if title == "daily limit exactly met" {
            "0.01"
        } else {
            "0.02"
        };
        b.case(title, "policy.evaluate", json!({"policy": full, "intent": intent(amount),
            "usage": {"day": day, "spentToday": spent_today, "month": month, "spentThisMonth": spent_month, "recentPayments": recent}, "now": NOW}));
    }
    b.case("yesterday's spending does not count", "policy.evaluate", json!({"policy": full, "intent": intent("0.02"),
        "usage": {"day": day - 1, "spentToday": "5.00", "month": month, "spentThisMonth": "5.00", "recentPayments": []}, "now": NOW}));
    b.fails("negative limit is invalid", "policy.evaluate", json!({"policy": {"dailyLimit": "-1"}, "intent": intent("0.01"), "usage": empty, "now": NOW}), "policy_invalid");
    b.fails("zero velocity window is invalid", "policy.evaluate", json!({"policy": {"velocity": {"maxPayments": 1, "windowSeconds": 0}}, "intent": intent("0.01"), "usage": empty, "now": NOW}), "policy_invalid");
    b.fails("float limits are refused", "policy.evaluate", json!({"policy": {"dailyLimit": 5.0}, "intent": intent("0.01"), "usage": empty, "now": NOW}), "policy_invalid");
    // Sequences through record.
    for (title, windows, payments, now, amount) in [
        (
            "calendar: day full",
            json!({"type": "calendar"}),
            json!([{"amount": "3", "at": NOW - 3600}, {"amount": "1.99", "at": NOW - 60}]),
            NOW,
            "0.02",
        ),
        (
            "calendar: new day at UTC midnight",
            json!({"type": "calendar"}),
            json!([{"amount": "5", "at": NOW - 3600}]),
            NOW - NOW % 86_400 + 86_400,
            "0.02",
        ),
        (
            "calendar: offset -05:00 keeps the same local day",
            json!({"type": "calendar", "utcOffsetMinutes": -300}),
            json!([{"amount": "5", "at": NOW - NOW % 86_400 + 3600}]),
            NOW - NOW % 86_400 + 4 * 3600 + 59 * 60,
            "0.02",
        ),
        (
            "calendar: offset -05:00 next local day",
            json!({"type": "calendar", "utcOffsetMinutes": -300}),
            json!([{"amount": "5", "at": NOW - NOW % 86_400 + 3600}]),
            NOW - NOW % 86_400 + 5 * 3600,
            "0.02",
        ),
        (
            "rolling: 23 hours later still counts",
            json!({"type": "rolling"}),
            json!([{"amount": "5", "at": NOW}]),
            NOW + 23 * 3600,
            "0.02",
        ),
        (
            "rolling: 25 hours later is free",
            json!({"type": "rolling"}),
            json!([{"amount": "5", "at": NOW}]),
            NOW + 25 * 3600,
            "0.02",
        ),
        (
            "rolling: month window",
            json!({"type": "rolling"}),
            json!([{"amount": "4", "at": NOW}, {"amount": "4", "at": NOW + 86_400 * 2}]),
            NOW + 86_400 * 4,
            "0.5",
        ),
        (
            "velocity through record",
            json!({"type": "calendar"}),
            json!([{"amount": "0.01", "at": NOW - 10}, {"amount": "0.01", "at": NOW - 5}]),
            NOW,
            "0.01",
        ),
    ] {
        let policy = json!({"dailyLimit": "5.00", "monthlyLimit": "8.00", "velocity": {"maxPayments": 2, "windowSeconds": 30}, "windows": windows});
        b.case(
            title,
            "policy.record_then_evaluate",
            json!({"policy": policy, "payments": payments, "intent": intent(amount), "now": now}),
        );
    }
    // select
    let accepts = json!([
        {"scheme": "exact", "network": "eip155:84532", "amount": "20000", "asset": USDC_BASE_SEPOLIA, "payTo": PAY_TO, "maxTimeoutSeconds": 60, "extra": {"name": "USDC", "version": "2"}},
        {"scheme": "exact", "network": "paywire:main", "amount": "15000", "asset": "USD", "payTo": "wallet_provider", "maxTimeoutSeconds": 60},
        {"scheme": "exact", "network": "eip155:8453", "amount": "10000", "asset": "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913", "payTo": PAY_TO, "maxTimeoutSeconds": 60},
        {"scheme": "exact", "network": "eip155:1", "amount": "1", "asset": "0x00000000000000000000000000000000000000aa", "payTo": PAY_TO, "maxTimeoutSeconds": 60}
    ]);
    let required = json!({"x402Version": 2, "resource": {"url": "https://api.example.com/weather"}, "accepts": accepts});
    for (title, policy) in [
        (
            "cheapest allowed option (base excluded by network)",
            json!({"allowedNetworks": ["eip155:84532", "paywire:main"]}),
        ),
        ("cheapest known option when all networks allowed", json!({})),
        (
            "only usdc on base sepolia",
            json!({"allowedAssets": [USDC_BASE_SEPOLIA]}),
        ),
        (
            "approval flagged on the chosen option",
            json!({"approvalThreshold": "0.005"}),
        ),
        (
            "nothing allowed: max per request",
            json!({"maxPerRequest": "0.001"}),
        ),
        (
            "nothing allowed: host",
            json!({"allowedHosts": ["other.com"]}),
        ),
    ] {
        b.case(
            title,
            "policy.select",
            json!({"policy": policy, "paymentRequired": required, "usage": empty, "now": NOW}),
        );
    }
    b.case("empty accepts", "policy.select", json!({"policy": {}, "paymentRequired": {"x402Version": 2, "resource": {"url": "https://x"}, "accepts": []}, "usage": empty, "now": NOW}));
    b.case("v1 402 body", "policy.select", json!({"policy": {"allowedNetworks": ["base-sepolia"]}, "paymentRequired": {"x402Version": 1, "error": "", "accepts": [
        {"scheme": "exact", "network": "base-sepolia", "maxAmountRequired": "10000", "resource": "https://api.example.com/x", "description": "", "mimeType": "",
         "payTo": PAY_TO, "maxTimeoutSeconds": 60, "asset": USDC_BASE_SEPOLIA, "extra": {"name": "USDC", "version": "2"}}]}, "usage": empty, "now": NOW}));
    b.write(dir, "policy", "Spending policies: evaluate (every deny code), windows through record, and select over a 402's accepts.");
}

const KEY_1: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
const KEY_2: &str = "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f";

fn claims() -> Value {
    json!({"id": "tok_01JD000000000000000000000", "iss": "https://api.example.com", "sub": "wallet_agent",
           "scope": {"resource": "https://api.example.com/v1/", "methods": ["GET", "POST"]},
           "iat": NOW, "exp": NOW + 3600, "maxUses": 100})
}

fn token(dir: &Path) {
    let mut b = Builder::new();
    let ring = json!([{"kid": "k1", "secret": KEY_1}]);
    let issued = b.case(
        "issue a token",
        "token.issue",
        json!({"keys": ring, "claims": claims()}),
    );
    let token = issued["token"].as_str().unwrap().to_string();
    let mut unlimited = claims();
    unlimited.as_object_mut().unwrap().remove("maxUses");
    unlimited["scope"]["methods"] = json!([]);
    let unlimited = b.case(
        "issue an unlimited any-method token",
        "token.issue",
        json!({"keys": ring, "claims": unlimited}),
    )["token"]
        .as_str()
        .unwrap()
        .to_string();
    let rotated = b.case("issue under a rotated key", "token.issue", json!({"keys": [{"kid": "k2", "secret": KEY_2}, {"kid": "k1", "secret": KEY_1}], "claims": claims()}))["token"].as_str().unwrap().to_string();
    for (field, value) in [
        ("exp", json!(NOW)),
        ("id", json!("")),
        ("maxUses", json!(0)),
    ] {
        let mut c = claims();
        c[field] = value;
        b.fails(
            format!("refuse claims with bad {field}"),
            "token.issue",
            json!({"keys": ring, "claims": c}),
            "token_claims_invalid",
        );
    }
    b.fails(
        "refuse a short key",
        "token.issue",
        json!({"keys": [{"kid": "k1", "secret": "00ff"}], "claims": claims()}),
        "token_key_invalid",
    );
    let verify = |token: &str, method: &str, resource: &str, now: u64, uses: u64| {
        json!({
        "keys": ring, "token": token, "method": method, "resource": resource, "now": now, "uses": uses})
    };
    let r = "https://api.example.com/v1/weather";
    b.case(
        "verify",
        "token.verify",
        verify(&token, "GET", r, NOW + 10, 0),
    );
    b.case(
        "verify at issue time",
        "token.verify",
        verify(&token, "POST", r, NOW, 99),
    );
    b.case(
        "verify an any-method token",
        "token.verify",
        verify(&unlimited, "DELETE", r, NOW + 10, 1_000_000),
    );
    b.fails(
        "not yet valid",
        "token.verify",
        verify(&token, "GET", r, NOW - 1, 0),
        "token_not_yet_valid",
    );
    b.fails(
        "expired at exp",
        "token.verify",
        verify(&token, "GET", r, NOW + 3600, 0),
        "token_expired",
    );
    b.fails(
        "uses exhausted",
        "token.verify",
        verify(&token, "GET", r, NOW + 10, 100),
        "token_uses_exhausted",
    );
    b.fails(
        "method outside scope",
        "token.verify",
        verify(&token, "DELETE", r, NOW + 10, 0),
        "token_scope_mismatch",
    );
    b.fails(
        "resource outside scope",
        "token.verify",
        verify(
            &token,
            "GET",
            "https://api.example.com/v2/weather",
            NOW + 10,
            0,
        ),
        "token_scope_mismatch",
    );
    b.fails(
        "prefix is segment-aware",
        "token.verify",
        verify(&token, "GET", "https://api.example.com/v1", NOW + 10, 0),
        "token_scope_mismatch",
    );
    b.fails(
        "unknown kid",
        "token.verify",
        verify(&rotated, "GET", r, NOW + 10, 0),
        "token_unknown_kid",
    );
    b.case("rotated key verifies with both keys in the ring", "token.verify", json!({
        "keys": [{"kid": "k1", "secret": KEY_1}, {"kid": "k2", "secret": KEY_2}], "token": rotated, "method": "GET", "resource": r, "now": NOW + 10, "uses": 0}));
    b.fails("wrong key", "token.verify", json!({"keys": [{"kid": "k1", "secret": KEY_2}], "token": token, "method": "GET", "resource": r, "now": NOW + 10, "uses": 0}), "token_signature_invalid");
    let last = token.rfind('.').unwrap();
    let mut flipped_tag = token.clone().into_bytes();
    flipped_tag[last + 5] = if flipped_tag[last + 5] == b'A' {
        b'B'
    } else {
        b'A'
    };
    b.fails(
        "tampered tag",
        "token.verify",
        verify(
            &String::from_utf8(flipped_tag).unwrap(),
            "GET",
            r,
            NOW + 10,
            0,
        ),
        "token_signature_invalid",
    );
    for bad in [
        "",
        "pw1",
        "pw1..",
        "pw2.e30.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "pw1.!!.AAAA",
        "pw1.e30.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "not a token",
    ] {
        b.fails(
            format!("malformed {bad:?}"),
            "token.verify",
            verify(bad, "GET", r, NOW, 0),
            "token_malformed",
        );
    }
    // Attenuation chains.
    let mut current = token.clone();
    for (title, caveat) in [
        ("attenuate: shorter expiry", json!({"exp": NOW + 600})),
        (
            "attenuate: narrower resource",
            json!({"resource": "https://api.example.com/v1/weather"}),
        ),
        ("attenuate: GET only", json!({"methods": ["GET"]})),
        ("attenuate: fewer uses", json!({"maxUses": 5})),
    ] {
        current = b.case(
            title,
            "token.attenuate",
            json!({"token": current, "caveat": caveat}),
        )["token"]
            .as_str()
            .unwrap()
            .to_string();
    }
    let parts: Vec<&str> = current.split('.').collect();
    let stripped = [&parts[..parts.len() - 2], &parts[parts.len() - 1..]]
        .concat()
        .join(".");
    b.fails(
        "caveat stripped off",
        "token.verify",
        verify(&stripped, "GET", r, NOW + 10, 0),
        "token_signature_invalid",
    );
    b.case(
        "attenuated token verifies with narrowed claims",
        "token.verify",
        verify(
            &current,
            "GET",
            "https://api.example.com/v1/weather/paris",
            NOW + 10,
            4,
        ),
    );
    b.fails(
        "attenuated expiry enforced",
        "token.verify",
        verify(&current, "GET", r, NOW + 600, 0),
        "token_expired",
    );
    b.fails(
        "attenuated uses enforced",
        "token.verify",
        verify(&current, "GET", r, NOW + 10, 5),
        "token_uses_exhausted",
    );
    b.fails(
        "attenuated method enforced",
        "token.verify",
        verify(&current, "POST", r, NOW + 10, 0),
        "token_scope_mismatch",
    );
    b.fails(
        "attenuated resource enforced",
        "token.verify",
        verify(
            &current,
            "GET",
            "https://api.example.com/v1/news",
            NOW + 10,
            0,
        ),
        "token_scope_mismatch",
    );
    for (title, caveat) in [
        ("later expiry widens", json!({"exp": NOW + 7200})),
        ("more uses widen", json!({"maxUses": 101})),
        ("zero uses refused", json!({"maxUses": 0})),
        (
            "broader resource widens",
            json!({"resource": "https://api.example.com/"}),
        ),
        (
            "sibling resource widens",
            json!({"resource": "https://api.example.com/v10"}),
        ),
        ("new method widens", json!({"methods": ["DELETE"]})),
        ("empty method list refused", json!({"methods": []})),
    ] {
        b.fails(
            title,
            "token.attenuate",
            json!({"token": token, "caveat": caveat}),
            "token_caveat_widens",
        );
    }
    b.fails(
        "attenuate garbage",
        "token.attenuate",
        json!({"token": "pw1.x", "caveat": {"exp": 1}}),
        "token_malformed",
    );
    for t in [token.as_str(), "", "pw1.a.b"] {
        b.case(
            format!("hash of {:?}", if t.len() > 12 { &t[..12] } else { t }),
            "token.hash",
            json!({"token": t}),
        );
    }
    b.write(dir, "token", "Access tokens: issue, verify (every error code), attenuate (narrowing and refusals), hash.");
}

fn webhook(dir: &Path) {
    let mut b = Builder::new();
    let secret = "whsec_5f2b8c1d9e7a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a";
    let body = r#"{"id":"evt_0a1b2c3d4e5f","type":"payment.settled","created":1795262400,"data":{"paymentId":"pay_1","amount":"10000"}}"#;
    let signed = b.case(
        "sign a delivery",
        "webhook.sign",
        json!({"secret": secret, "timestamp": NOW, "body": body}),
    );
    let header = signed["header"].as_str().expect("a header").to_string();
    let tag = header.split_once(",v1=").expect("v1").1.to_string();
    b.gives(
        "verify at the signing time",
        "webhook.verify",
        json!({"header": header, "secret": secret, "body": body, "now": NOW}),
        json!({"timestamp": NOW}),
    );
    b.gives(
        "verify 300 s later (the default tolerance)",
        "webhook.verify",
        json!({"header": header, "secret": secret, "body": body, "now": NOW + 300}),
        json!({"timestamp": NOW}),
    );
    b.gives(
        "verify with a receiver clock 300 s behind",
        "webhook.verify",
        json!({"header": header, "secret": secret, "body": body, "now": NOW - 300}),
        json!({"timestamp": NOW}),
    );
    b.fails(
        "301 s later is outside the default tolerance",
        "webhook.verify",
        json!({"header": header, "secret": secret, "body": body, "now": NOW + 301}),
        "webhook_timestamp_outside_tolerance",
    );
    b.gives("a wider tolerance accepts it", "webhook.verify",
        json!({"header": header, "secret": secret, "body": body, "now": NOW + 3600, "toleranceSeconds": 3600}), json!({"timestamp": NOW}));
    b.fails(
        "another secret",
        "webhook.verify",
        json!({"header": header, "secret": "whsec_other", "body": body, "now": NOW}),
        "webhook_signature_invalid",
    );
    b.fails("one byte of the body changed", "webhook.verify",
        json!({"header": header, "secret": secret, "body": body.replace("10000", "10001"), "now": NOW}), "webhook_signature_invalid");
    b.fails(
        "body re-serialized with spaces",
        "webhook.verify",
        json!({"header": header, "secret": secret, "body": body.replace(",", ", "), "now": NOW}),
        "webhook_signature_invalid",
    );
    b.fails("timestamp moved by one second", "webhook.verify",
        json!({"header": header.replacen(&format!("t={NOW}"), &format!("t={}", NOW + 1), 1), "secret": secret, "body": body, "now": NOW}),
        "webhook_signature_invalid");
    b.gives("a rolled secret: two v1 entries, the second matches", "webhook.verify",
        json!({"header": format!("t={NOW},v1={},v1={tag}", "ab".repeat(32)), "secret": secret, "body": body, "now": NOW}),
        json!({"timestamp": NOW}));
    b.gives("spaces after commas and a v0 entry are accepted", "webhook.verify",
        json!({"header": format!("t={NOW}, v0=deadbeef, v1={tag}"), "secret": secret, "body": body, "now": NOW}),
        json!({"timestamp": NOW}));
    b.fails("upper-case hex is still hex, but not this MAC", "webhook.verify",
        json!({"header": format!("t={NOW},v1={}", "AB".repeat(32)), "secret": secret, "body": body, "now": NOW}),
        "webhook_signature_invalid");
    b.gives("an empty body signs and verifies", "webhook.verify",
        json!({"header": paywire_core::webhook::sign(secret.as_bytes(), NOW, b""), "secret": secret, "body": "", "now": NOW}),
        json!({"timestamp": NOW}));
    for (title, bad) in [
        ("an empty header", String::new()),
        ("no timestamp", format!("v1={tag}")),
        ("no v1 signature", format!("t={NOW}")),
        (
            "a timestamp that is not a number",
            format!("t=soon,v1={tag}"),
        ),
        ("a negative timestamp", format!("t=-{NOW},v1={tag}")),
        ("two timestamps", format!("t={NOW},t={NOW},v1={tag}")),
        ("a signature that is not hex", format!("t={NOW},v1=xyz")),
        (
            "a signature of 31 bytes",
            format!("t={NOW},v1={}", &tag[..62]),
        ),
        ("an entry without '='", format!("t={NOW},v1")),
        (
            "Stripe's header name in the value",
            format!("Paywire-Signature: t={NOW},v1={tag}"),
        ),
    ] {
        b.fails(
            title,
            "webhook.verify",
            json!({"header": bad, "secret": secret, "body": body, "now": NOW}),
            "webhook_signature_malformed",
        );
    }
    b.write(dir, "webhook", "Webhook signatures (Paywire-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, \"<t>.<raw body>\")>): sign, verify, tolerance, malformed headers.");
}

fn idempotency(dir: &Path) {
    let mut b = Builder::new();
    for key in [
        "a",
        "order-1",
        "with space ~",
        "550e8400-e29b-41d4-a716-446655440000",
    ] {
        b.gives(
            format!("valid key {key:?}"),
            "idempotency.validate_key",
            json!({"key": key}),
            json!({"key": key}),
        );
    }
    let long_ok = "k".repeat(255);
    b.gives(
        "255 characters",
        "idempotency.validate_key",
        json!({"key": long_ok}),
        json!({"key": long_ok}),
    );
    for key in [
        String::new(),
        "k".repeat(256),
        "tab\tkey".into(),
        "ünicode".into(),
        "new\nline".into(),
    ] {
        b.fails(
            format!("invalid key of {} bytes", key.len()),
            "idempotency.validate_key",
            json!({"key": key}),
            "idempotency_key_invalid",
        );
    }
    for (method, path, body) in [
        ("POST", "/v1/settle", r#"{"a":1,"b":2}"#),
        ("post", "/v1/settle", r#"{ "b": 2, "a": 1 }"#),
        ("POST", "/v1/settle", r#"{"a":1,"b":3}"#),
        ("POST", "/v1/settle", ""),
        ("POST", "/v1/settle", "not json"),
        (
            "PUT",
            "/v1/wallets/w1",
            r#"{"nested":{"z":[1,{"y":2,"x":1}],"a":null}}"#,
        ),
    ] {
        b.case(
            format!("fingerprint {method} {path} {body:?}"),
            "idempotency.fingerprint",
            json!({"method": method, "path": path, "body": body}),
        );
    }
    let seq = |steps: Value| json!({"retentionSeconds": 86_400, "leaseSeconds": 60, "capacity": 3, "steps": steps});
    for (title, steps) in [
        (
            "first request proceeds, retry replays",
            json!([
            {"action": "begin", "key": "k1", "body": "{\"amount\":1}", "now": NOW},
            {"action": "complete", "key": "k1", "body": "{\"amount\":1}", "now": NOW + 1, "status": 201},
            {"action": "begin", "key": "k1", "body": "{\"amount\":1}", "now": NOW + 2}]),
        ),
        (
            "concurrent duplicate is in progress",
            json!([
            {"action": "begin", "key": "k1", "body": "a", "now": NOW},
            {"action": "begin", "key": "k1", "body": "a", "now": NOW}]),
        ),
        (
            "same key, different request",
            json!([
            {"action": "begin", "key": "k1", "body": "a", "now": NOW},
            {"action": "begin", "key": "k1", "body": "b", "now": NOW},
            {"action": "complete", "key": "k1", "body": "a", "now": NOW},
            {"action": "begin", "key": "k1", "body": "b", "now": NOW}]),
        ),
        (
            "records expire after retention",
            json!([
            {"action": "begin", "key": "k1", "body": "a", "now": NOW},
            {"action": "complete", "key": "k1", "body": "a", "now": NOW},
            {"action": "begin", "key": "k1", "body": "b", "now": NOW + 86_399},
            {"action": "begin", "key": "k1", "body": "b", "now": NOW + 86_400}]),
        ),
        (
            "a request that died loses its key after the lease, to the same request only",
            json!([
            {"action": "begin", "key": "k1", "body": "a", "now": NOW},
            {"action": "begin", "key": "k1", "body": "a", "now": NOW + 59},
            {"action": "begin", "key": "k1", "body": "b", "now": NOW + 60},
            {"action": "begin", "key": "k1", "body": "a", "now": NOW + 60},
            {"action": "begin", "key": "k1", "body": "a", "now": NOW + 61},
            {"action": "complete", "key": "k1", "body": "a", "now": NOW + 62, "status": 200},
            {"action": "begin", "key": "k1", "body": "a", "now": NOW + 63}]),
        ),
        (
            "abandon lets a retry run",
            json!([
            {"action": "begin", "key": "k1", "body": "a", "now": NOW},
            {"action": "abandon", "key": "k1", "body": "a", "now": NOW},
            {"action": "begin", "key": "k1", "body": "a", "now": NOW}]),
        ),
        (
            "complete without begin",
            json!([
            {"action": "complete", "key": "k1", "body": "a", "now": NOW}]),
        ),
        (
            "full store refuses, then evicts a completed record",
            json!([
            {"action": "begin", "key": "k1", "body": "a", "now": NOW},
            {"action": "begin", "key": "k2", "body": "a", "now": NOW},
            {"action": "begin", "key": "k3", "body": "a", "now": NOW},
            {"action": "begin", "key": "k4", "body": "a", "now": NOW},
            {"action": "complete", "key": "k2", "body": "a", "now": NOW},
            {"action": "begin", "key": "k4", "body": "a", "now": NOW},
            {"action": "begin", "key": "k2", "body": "a", "now": NOW}]),
        ),
    ] {
        b.case(title, "idempotency.sequence", seq(steps));
    }
    b.write(dir, "idempotency", "Idempotency keys, request fingerprints and Stripe's contract as step sequences on the in-memory store.");
}

fn header_of(value: &Value) -> String {
    run("protocol.encode_header", &json!({"value": value})).unwrap()["header"]
        .as_str()
        .unwrap()
        .to_string()
}

fn protocol(dir: &Path) {
    let mut b = Builder::new();
    let spec_v1 = json!({"x402Version":1,"scheme":"exact","network":"base-sepolia",
        "payload":{"signature":"0x2d6a7588d6acca505cbf0d9a4a227e0c52c6c34008c8e8986a1283259764173608a2ce6496642e377d6da8dbbf5836e9bd15092f9ecab05ded3d6293af148b571c",
         "authorization":{"from":"0x857b06519E91e3A54538791bDbb0E22373e36b66","to":PAY_TO,"value":"10000","validAfter":"1740672089","validBefore":"1740672154",
          "nonce":"0xf3746613c2d920b5fdabc0856f2aeb2d4f88ee6037b8cc5d04a71a4462f13480"}}});
    let requirement = json!({"scheme":"exact","network":"eip155:84532","amount":"10000","asset":USDC_BASE_SEPOLIA,"payTo":PAY_TO,"maxTimeoutSeconds":60,"extra":{"name":"USDC","version":"2"}});
    let spec_v2 = json!({"x402Version":2,"resource":{"url":"https://api.example.com/premium-data","description":"Premium data","mimeType":"application/json"},
        "accepted": requirement, "payload": spec_v1["payload"], "extensions":{}});
    let required_v2 = json!({"x402Version":2,"error":"Payment required","resource":spec_v2["resource"],"accepts":[requirement],"extensions":{"bazaar":{"info":{"input":{"type":"http","method":"GET"}},"schema":{}}}});
    b.case(
        "encode the spec's v1 payment",
        "protocol.encode_header",
        json!({"value": spec_v1}),
    );
    b.case(
        "decode the spec's v1 payment",
        "protocol.decode_payment_payload",
        json!({"header": header_of(&spec_v1)}),
    );
    b.case(
        "decode the spec's v2 payment",
        "protocol.decode_payment_payload",
        json!({"header": header_of(&spec_v2)}),
    );
    b.case(
        "decode a v2 402",
        "protocol.decode_payment_required",
        json!({"header": header_of(&required_v2)}),
    );
    let mut future = spec_v2.clone();
    future["accepted"]["futureField"] = json!([1, {"x": true}]);
    future["resource"]["serviceName"] = json!("Premium");
    b.case(
        "unknown fields survive decoding",
        "protocol.decode_payment_payload",
        json!({"header": header_of(&future)}),
    );
    b.fails(
        "header over the limit",
        "protocol.decode_payment_payload",
        json!({"header": header_of(&spec_v2), "limit": 100}),
        "header_too_large",
    );
    let mut awkward = spec_v2.clone();
    awkward["extensions"] = json!({"note": "??>>??>>~~"});
    let standard = header_of(&awkward);
    assert!(
        standard.contains(['+', '/']),
        "the case needs characters that differ in base64url"
    );
    b.case(
        "standard base64 with + and /",
        "protocol.decode_payment_payload",
        json!({"header": standard}),
    );
    b.fails(
        "url-safe base64 is refused",
        "protocol.decode_payment_payload",
        json!({"header": standard.replace('+', "-").replace('/', "_")}),
        "header_malformed",
    );
    b.fails(
        "empty header",
        "protocol.decode_payment_payload",
        json!({"header": ""}),
        "header_malformed",
    );
    b.fails(
        "not base64",
        "protocol.decode_payment_payload",
        json!({"header": "%%%"}),
        "header_malformed",
    );
    b.fails(
        "base64 of non-JSON",
        "protocol.decode_payment_payload",
        json!({"header": "aGVsbG8="}),
        "invalid_payload",
    );
    b.fails(
        "base64 of invalid UTF-8",
        "protocol.decode_payment_payload",
        json!({"header": "/w=="}),
        "header_malformed",
    );
    b.fails(
        "version 3",
        "protocol.decode_payment_payload",
        json!({"header": header_of(&json!({"x402Version": 3}))}),
        "invalid_x402_version",
    );
    b.fails(
        "version as string",
        "protocol.decode_payment_payload",
        json!({"header": header_of(&json!({"x402Version": "2"}))}),
        "invalid_payload",
    );
    b.fails(
        "version missing",
        "protocol.decode_payment_payload",
        json!({"header": header_of(&json!({"scheme": "exact"}))}),
        "invalid_payload",
    );
    let mut bad_amount = spec_v2.clone();
    bad_amount["accepted"]["amount"] = json!("1.5");
    b.fails(
        "decimal amount",
        "protocol.decode_payment_payload",
        json!({"header": header_of(&bad_amount)}),
        "invalid_payload",
    );
    let mut number_amount = spec_v2.clone();
    number_amount["accepted"]["maxTimeoutSeconds"] = json!("60");
    b.fails(
        "timeout as string",
        "protocol.decode_payment_payload",
        json!({"header": header_of(&number_amount)}),
        "invalid_payload",
    );
    let mut missing = spec_v2.clone();
    missing.as_object_mut().unwrap().remove("accepted");
    b.fails(
        "v2 payment without accepted",
        "protocol.decode_payment_payload",
        json!({"header": header_of(&missing)}),
        "invalid_payload",
    );
    b.fails(
        "v1 402 without accepts",
        "protocol.decode_payment_required",
        json!({"header": header_of(&json!({"x402Version": 1}))}),
        "invalid_payload",
    );
    for name in [
        "base",
        "base-sepolia",
        "BASE-SEPOLIA",
        "polygon-amoy",
        "skale-base-sepolia",
        "monad",
        "solana",
        "solana-devnet",
        "eip155:8453",
        "eip155:31337",
        "paywire:main",
        "solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp",
        "eip155:0845",
    ] {
        b.case(
            format!("resolve {name}"),
            "protocol.resolve_network",
            json!({"network": name}),
        );
    }
    for (name, code) in [
        ("mainnet", "network_unknown"),
        ("toString", "network_unknown"),
        ("", "network_unknown"),
        ("eip155:", "network_invalid"),
        ("EIP155:1", "network_invalid"),
        ("ab:1", "network_invalid"),
        ("eip155:1:2", "network_invalid"),
        ("eip155:a/b", "network_invalid"),
    ] {
        b.fails(
            format!("refuse network {name:?}"),
            "protocol.resolve_network",
            json!({"network": name}),
            code,
        );
    }
    let m = |title: &str, edit: &dyn Fn(&mut Value), matches: bool, b: &mut Builder| {
        let mut accepted = requirement.clone();
        edit(&mut accepted);
        b.gives(
            title,
            "protocol.requirements_match",
            json!({"accepted": accepted, "offered": requirement}),
            json!({"matches": matches}),
        );
    };
    m("identical", &|_| {}, true, &mut b);
    m(
        "client adds an extra field",
        &|a| a["extra"]["assetTransferMethod"] = json!("eip3009"),
        true,
        &mut b,
    );
    m(
        "client changes an extra field",
        &|a| a["extra"]["version"] = json!("1"),
        false,
        &mut b,
    );
    m(
        "client drops extra",
        &|a| {
            a.as_object_mut().unwrap().remove("extra");
        },
        false,
        &mut b,
    );
    m(
        "amount differs",
        &|a| a["amount"] = json!("9999"),
        false,
        &mut b,
    );
    m(
        "payTo case differs",
        &|a| a["payTo"] = json!(PAY_TO.to_lowercase()),
        false,
        &mut b,
    );
    m(
        "network differs",
        &|a| a["network"] = json!("eip155:8453"),
        false,
        &mut b,
    );
    m(
        "timeout differs",
        &|a| a["maxTimeoutSeconds"] = json!(61),
        false,
        &mut b,
    );
    m(
        "unknown field added",
        &|a| a["other"] = json!(1),
        false,
        &mut b,
    );
    m(
        "key order does not matter",
        &|a| {
            let o = a.as_object_mut().unwrap();
            let entries: Vec<(String, Value)> = o
                .iter()
                .rev()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            o.clear();
            o.extend(entries);
        },
        true,
        &mut b,
    );
    b.case("facilitator body v2", "protocol.facilitator_request", json!({"body": {"x402Version": 2, "paymentPayload": spec_v2, "paymentRequirements": requirement}}));
    b.case("facilitator body v1", "protocol.facilitator_request", json!({"body": {"x402Version": 1, "paymentPayload": spec_v1, "paymentRequirements": {
        "scheme":"exact","network":"base-sepolia","maxAmountRequired":"10000","resource":"https://x","description":"","mimeType":"","payTo":PAY_TO,"maxTimeoutSeconds":60,"asset":USDC_BASE_SEPOLIA}}}));
    b.case(
        "facilitator body version from the payload",
        "protocol.facilitator_request",
        json!({"body": {"paymentPayload": spec_v2, "paymentRequirements": requirement}}),
    );
    b.fails("facilitator body with mixed versions", "protocol.facilitator_request", json!({"body": {"x402Version": 2, "paymentPayload": spec_v1, "paymentRequirements": requirement}}), "invalid_payload");
    b.fails(
        "facilitator body without requirements",
        "protocol.facilitator_request",
        json!({"body": {"x402Version": 2, "paymentPayload": spec_v2}}),
        "invalid_payload",
    );
    b.write(dir, "protocol", "x402 wire format: header codec, decoding v1/v2 payloads and 402s, networks, v2 matching, facilitator bodies.");
}

fn ledger(dir: &Path) {
    let mut b = Builder::new();
    let secret = "7061797769726520746573742077616c6c657420736563726574"; // "paywire test wallet secret"
    let requirements = json!({"scheme":"exact","network":"paywire:main","amount":"10000","asset":"USD","payTo":"wallet_provider","maxTimeoutSeconds":60});
    let v1_requirements = json!({"scheme":"exact","network":"paywire:main","maxAmountRequired":"10000","resource":"https://api.example.com/x",
        "description":"","mimeType":"","payTo":"wallet_provider","maxTimeoutSeconds":60,"asset":"USD"});
    let nonce = |i: u8| hex::encode([i; 32]);
    let mut signed = vec![];
    for (i, (amount, now)) in [
        ("10000", NOW),
        ("1", NOW + 1),
        ("340282366920938463463374607431768211455", NOW),
    ]
    .iter()
    .enumerate()
    {
        let mut r = requirements.clone();
        r["amount"] = json!(amount);
        let exact = b.case(format!("sign {amount} at {now}"), "ledger.sign", json!({"requirements": r, "walletId": "wallet_agent", "secret": secret, "nonce": nonce(i as u8), "now": now}));
        signed.push((r, exact));
    }
    let v1_signed = b.case("sign v1 requirements", "ledger.sign", json!({"requirements": v1_requirements, "walletId": "wallet_agent", "secret": secret, "nonce": nonce(9), "now": NOW}));
    b.fails("sign on an EVM network", "ledger.sign", json!({"requirements": {"scheme":"exact","network":"eip155:8453","amount":"1","asset":"0x","payTo":"p","maxTimeoutSeconds":60},
        "walletId": "w", "secret": secret, "nonce": nonce(1), "now": NOW}), "invalid_network");
    let mut zero = requirements.clone();
    zero["amount"] = json!("0");
    b.fails("a zero amount is not signed", "ledger.sign", json!({"requirements": zero, "walletId": "wallet_agent", "secret": secret, "nonce": nonce(3), "now": NOW}), "invalid_exact_evm_payload_authorization_value");
    b.fails("short secret", "ledger.sign", json!({"requirements": requirements, "walletId": "w", "secret": "0011", "nonce": nonce(1), "now": NOW}), "wallet_secret_invalid");
    let secrets = json!({"wallet_agent": secret});
    let payment = |r: &Value, exact: &Value| json!({"x402Version": 2, "resource": {"url": "https://api.example.com/x"}, "accepted": r, "payload": exact});
    for (r, exact) in &signed {
        b.case(format!("verify {}", r["amount"]), "ledger.verify", json!({"paymentPayload": payment(r, exact), "requirements": r, "secrets": secrets, "now": NOW + 1}));
    }
    // A zero authorization signed with the wallet's own secret (as a modified client would):
    // the signature verifies, the amount does not.
    let zero_authorization = paywire_core::protocol::ledger::build_authorization(
        &serde_json::from_value(zero.clone()).expect("requirements"),
        "wallet_agent",
        &[3; 32],
        NOW,
    );
    let zero_signature = paywire_core::protocol::ledger::sign_authorization(
        &paywire_core::protocol::ledger::WalletSecret::from_hex(secret).expect("secret"),
        "paywire:main",
        "USD",
        &zero_authorization,
    )
    .expect("signs");
    let zero_exact = json!({"signature": zero_signature, "authorization": zero_authorization});
    b.fails("a signed zero amount does not verify", "ledger.verify", json!({"paymentPayload": payment(&zero, &zero_exact), "requirements": zero, "secrets": secrets, "now": NOW + 1}), "invalid_exact_evm_payload_authorization_value");
    b.case("verify v1", "ledger.verify", json!({"paymentPayload": {"x402Version": 1, "scheme": "exact", "network": "paywire:main", "payload": v1_signed},
        "requirements": v1_requirements, "secrets": secrets, "now": NOW}));
    let (r, exact) = signed[0].clone();
    let verify = |exact: &Value, r: &Value, now: u64| json!({"paymentPayload": payment(r, exact), "requirements": r, "secrets": secrets, "now": now});
    let mut tampered = exact.clone();
    tampered["authorization"]["value"] = json!("20000");
    b.fails(
        "tampered value breaks the signature",
        "ledger.verify",
        verify(&tampered, &r, NOW),
        "invalid_exact_evm_signature",
    );
    let mut tampered = exact.clone();
    tampered["authorization"]["to"] = json!("wallet_thief");
    b.fails(
        "tampered recipient breaks the signature",
        "ledger.verify",
        verify(&tampered, &r, NOW),
        "invalid_exact_evm_signature",
    );
    let mut tampered = exact.clone();
    tampered["signature"] = json!(format!("0x{}", "00".repeat(32)));
    b.fails(
        "zero signature",
        "ledger.verify",
        verify(&tampered, &r, NOW),
        "invalid_exact_evm_signature",
    );
    let mut tampered = exact.clone();
    tampered["signature"] = json!("0x1234");
    b.fails(
        "short signature",
        "ledger.verify",
        verify(&tampered, &r, NOW),
        "invalid_exact_evm_signature",
    );
    b.fails("unknown wallet", "ledger.verify", json!({"paymentPayload": payment(&r, &exact), "requirements": r, "secrets": {}, "now": NOW}), "invalid_exact_evm_signature");
    b.fails(
        "expired: validBefore within 6 s",
        "ledger.verify",
        verify(&exact, &r, NOW + 55),
        "invalid_exact_evm_payload_authorization_valid_before",
    );
    b.case(
        "still valid 6 s before validBefore",
        "ledger.verify",
        verify(&exact, &r, NOW + 54),
    );
    let mut other_payee = r.clone();
    other_payee["payTo"] = json!("wallet_other");
    b.fails("authorization pays someone else", "ledger.verify", json!({"paymentPayload": payment(&other_payee, &exact), "requirements": other_payee, "secrets": secrets, "now": NOW}), "invalid_exact_evm_recipient_mismatch");
    let mut other_amount = r.clone();
    other_amount["amount"] = json!("20000");
    b.fails("authorization for another amount", "ledger.verify", json!({"paymentPayload": payment(&other_amount, &exact), "requirements": other_amount, "secrets": secrets, "now": NOW}), "invalid_exact_evm_payload_authorization_value_mismatch");
    let mut other_asset = r.clone();
    other_asset["asset"] = json!("EUR");
    b.fails("authorization for another asset", "ledger.verify", json!({"paymentPayload": payment(&other_asset, &exact), "requirements": other_asset, "secrets": secrets, "now": NOW}), "invalid_exact_evm_signature");
    let mut upto = r.clone();
    upto["scheme"] = json!("upto");
    b.fails("wrong scheme", "ledger.verify", json!({"paymentPayload": payment(&upto, &exact), "requirements": upto, "secrets": secrets, "now": NOW}), "invalid_exact_evm_scheme");
    let mut other_network = r.clone();
    other_network["network"] = json!("paywire:other");
    b.fails("payment for another ledger", "ledger.verify", json!({"paymentPayload": payment(&r, &exact), "requirements": other_network, "secrets": secrets, "now": NOW}), "invalid_exact_evm_network_mismatch");
    let mut bad_nonce = exact.clone();
    bad_nonce["authorization"]["nonce"] = json!("0x12");
    b.fails(
        "malformed nonce",
        "ledger.verify",
        verify(&bad_nonce, &r, NOW),
        "invalid_payload",
    );
    let mut no_sig = exact.clone();
    no_sig.as_object_mut().unwrap().remove("signature");
    b.fails(
        "payload without signature",
        "ledger.verify",
        verify(&no_sig, &r, NOW),
        "invalid_payload",
    );
    b.write(dir, "ledger", "The Paywire ledger scheme (exact on paywire:<ledger-id>): signing and verification in the EVM check order.");
}

/// Prints authorizations signed by the Rust signer, for `tests/vectors/evm_exact.py --check`
/// to recover with eth-account: every key × chain × amount below.
fn print_evm_signatures() {
    use paywire_core::protocol::evm::{
        Address, Eip712Domain, PrivateKey, TransferWithAuthorization,
    };
    use paywire_core::Amount;
    let mut cases = vec![];
    let chains = [
        (
            "USDC",
            "2",
            84_532u64,
            "0x036CbD53842c5426634e7929541eC2318f3dCF7e",
        ),
        (
            "USD Coin",
            "2",
            8453,
            "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913",
        ),
        (
            "Mock USD",
            "1",
            31_337,
            "0x5FbDB2315678afecb367f032d93F642f64180aa3",
        ),
    ];
    for (k, seed) in ["alpha", "beta", "gamma", "delta"].iter().enumerate() {
        let secret = paywire_core::protocol::evm::keccak256(
            format!("paywire rust signer {seed}").as_bytes(),
        );
        let key = PrivateKey::from_bytes(&secret).expect("a keccak output is a valid key");
        for (c, (name, version, chain_id, contract)) in chains.iter().enumerate() {
            let domain =
                Eip712Domain::new(name, version, *chain_id, Address::parse(contract).unwrap());
            for (a, value) in [1u128, 10_000, 123_456_789, u128::from(u64::MAX) * 1000]
                .iter()
                .enumerate()
            {
                let transfer = TransferWithAuthorization {
                    from: key.address(),
                    to: Address::parse("0x209693Bc6afc0C5328bA36FaF03C514EF312287C").unwrap(),
                    value: Amount::new(*value),
                    valid_after: (a as u64) * 7,
                    valid_before: 1_795_262_400 + (c as u64) * 60,
                    nonce: paywire_core::protocol::evm::keccak256(
                        format!("nonce {k} {c} {a}").as_bytes(),
                    ),
                };
                let signature = key.sign_digest(&domain.signing_digest(&transfer));
                cases.push(json!({
                    "privateKey": format!("0x{}", hex::encode(secret)),
                    "address": key.address(),
                    "domain": {"name": name, "version": version, "chainId": chain_id, "verifyingContract": contract},
                    "message": {"from": transfer.from, "to": transfer.to, "value": transfer.value,
                        "validAfter": transfer.valid_after.to_string(), "validBefore": transfer.valid_before.to_string(),
                        "nonce": format!("0x{}", hex::encode(transfer.nonce))},
                    "signature": signature.to_hex(),
                }));
            }
        }
    }
    println!("{}", serde_json::to_string(&cases).expect("serializable"));
}

/// Writes `schemas/wire.schema.json`: the JSON Schemas of the types every binding's host
/// reads and writes, from which `bindings-wasm/ts/types.ts` is generated.
fn wire_schema() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas");
    std::fs::create_dir_all(&dir).expect("create schemas/");
    let mut text = serde_json::to_string_pretty(&paywire_core::schema::wire_schema())
        .expect("a schema is JSON");
    text.push('\n');
    std::fs::write(dir.join("wire.schema.json"), text).expect("write schemas/wire.schema.json");
}

/// Rewrites the README's list of codes (between its `codes:begin` and `codes:end` markers)
/// from the core's one table, so the list can neither miss a code nor keep a dead one.
fn readme_codes() {
    use paywire_core::error::{Family, TABLE};
    const BEGIN: &str = "<!-- codes:begin (generated by `cargo run -p paywire-vectors`; edit core/src/error/codes.rs) -->\n";
    const END: &str = "<!-- codes:end -->";
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md");
    let readme = std::fs::read_to_string(&path).expect("read README.md");
    let (head, rest) = readme
        .split_once(BEGIN)
        .expect("README.md has the codes:begin marker");
    let (_, tail) = rest
        .split_once(END)
        .expect("README.md has the codes:end marker");
    let mut list = String::new();
    for (family, title) in [
        (Family::Error, "Errors"),
        (Family::Policy, "Policy denials (`PolicyDenied`)"),
        (
            Family::Reason,
            "x402 reasons (`PaymentInvalid`, `invalidReason`, `errorReason`)",
        ),
    ] {
        let rows: Vec<_> = TABLE.iter().filter(|row| row.family == family).collect();
        list.push_str(&format!(
            "\n{title}, {}:\n\n| code | class | meaning |\n| --- | --- | --- |\n",
            rows.len()
        ));
        for row in rows {
            let doc = row.doc.replace('|', "\\|");
            list.push_str(&format!(
                "| `{}` | {} | {doc} |\n",
                row.code,
                row.class.as_str()
            ));
        }
    }
    list.push('\n');
    let text = format!("{head}{BEGIN}{list}{END}{tail}");
    if text != readme {
        std::fs::write(&path, text).expect("write README.md");
    }
}

fn main() {
    if std::env::args().nth(1).as_deref() == Some("evm-signatures") {
        print_evm_signatures();
        return;
    }
    let dir = vectors_dir();
    std::fs::create_dir_all(&dir).expect("create tests/vectors");
    money(&dir);
    pricing(&dir);
    policy(&dir);
    token(&dir);
    webhook(&dir);
    idempotency(&dir);
    protocol(&dir);
    ledger(&dir);
    flows::client(&dir);
    flows::paywall(&dir);
    mcp::write(&dir);
    wire_schema();
    readme_codes();
    let files = paywire_vectors::load_all(&dir).expect("read back");
    let total: usize = files.iter().map(|(_, f)| f.cases.len()).sum();
    println!(
        "wrote 10 files; {} holds {} files, {total} cases (evm_exact.json comes from evm_exact.py)",
        dir.display(),
        files.len()
    );
}
