//! Behaviour of the public API as a user of the crate sees it: shapes on the wire, accessors,
//! edge cases of each concept that the unit tests do not reach.

use std::str::FromStr;

use paywire_core::idempotency::{
    canonical_json, decide, fingerprint, Begin, Fingerprint, IdempotencyConfig, IdempotencyKey,
    IdempotencyRecord, RecordState, StoredOutcome,
};
use paywire_core::money::{Amount, Asset, AssetRegistry};
use paywire_core::network;
use paywire_core::policy::{Decision, PaymentIntent, Policy, Selection, Usage, WindowMode};
use paywire_core::pricing::{pricebook_from_json, PathPattern, Pricebook, QuoteRequest};
use paywire_core::protocol::{
    extensions, header, matching, AnyRequirements, ExactPayload, PaymentPayload, PaymentRequired,
    PaymentRequirements, ResourceInfo, SettleResponse, SupportedResponse, VerifyResponse,
};
use paywire_core::token::{Caveat, Claims, KeyRing, Scope, TokenRequest};
use paywire_core::{DenyReason, Error, Reason};
use rust_decimal::Decimal;
use serde_json::{json, Value};

const USDC: &str = "0x036CbD53842c5426634e7929541eC2318f3dCF7e";
const PAY_TO: &str = "0x209693Bc6afc0C5328bA36FaF03C514EF312287C";

fn requirement(amount: &str) -> PaymentRequirements {
    serde_json::from_value(json!({"scheme": "exact", "network": "eip155:84532", "amount": amount,
        "asset": USDC, "payTo": PAY_TO, "maxTimeoutSeconds": 60, "extra": {"name": "USDC", "version": "2"}}))
    .unwrap()
}

fn d(text: &str) -> Decimal {
    Decimal::from_str(text).unwrap()
}

// ---- facilitator responses ----

#[test]
fn verify_response_valid_has_only_is_valid_and_payer() {
    let value = serde_json::to_value(VerifyResponse::valid("0xabc")).unwrap();
    assert_eq!(value, json!({"isValid": true, "payer": "0xabc"}));
}

#[test]
fn verify_response_invalid_carries_reason_and_message() {
    let response = VerifyResponse::invalid(
        Reason::InvalidExactEvmSignature,
        "bad",
        Some("0xabc".into()),
    );
    let value = serde_json::to_value(&response).unwrap();
    assert_eq!(value["isValid"], false);
    assert_eq!(value["invalidReason"], "invalid_exact_evm_signature");
    assert_eq!(value["invalidMessage"], "bad");
}

#[test]
fn verify_response_reads_reason_codes_of_other_sdks() {
    let response: VerifyResponse =
        serde_json::from_value(json!({"isValid": false, "invalidReason": "invalid_format"}))
            .unwrap();
    assert_eq!(
        response.invalid_reason,
        Some(Reason::Other("invalid_format".into()))
    );
}

#[test]
fn failed_settle_response_keeps_an_empty_transaction() {
    let response = SettleResponse {
        success: false,
        error_reason: Some(Reason::InsufficientFunds),
        error_message: None,
        payer: Some("0xabc".into()),
        transaction: String::new(),
        network: "eip155:84532".into(),
        amount: None,
        extensions: None,
    };
    let value = serde_json::to_value(&response).unwrap();
    assert_eq!(
        value["transaction"], "",
        "the TS client zod-checks that transaction is a string"
    );
    assert_eq!(value["errorReason"], "insufficient_funds");
}

#[test]
fn settle_response_without_transaction_defaults_to_empty() {
    let response: SettleResponse =
        serde_json::from_value(json!({"success": false, "network": "base"})).unwrap();
    assert_eq!(response.transaction, "");
}

#[test]
fn settlement_pending_is_a_known_reason() {
    assert_eq!(
        Reason::parse("settlement_pending"),
        Reason::SettlementPending
    );
}

#[test]
fn supported_response_round_trips_signers_and_extra() {
    let value = json!({"kinds": [{"x402Version": 2, "scheme": "exact", "network": "paywire:main", "extra": {"devnet": true}}],
        "extensions": ["payment-identifier"], "signers": {"eip155:*": ["0xabc"]}});
    let parsed: SupportedResponse = serde_json::from_value(value.clone()).unwrap();
    assert_eq!(serde_json::to_value(&parsed).unwrap(), value);
}

// ---- payloads and requirements ----

#[test]
fn payment_payload_accessors_read_either_version() {
    let v2 = PaymentPayload::from_json_value(
        json!({"x402Version": 2, "accepted": requirement("5"), "payload": {"k": 1}}),
    )
    .unwrap();
    assert_eq!(
        (v2.version(), v2.scheme(), v2.network()),
        (2, "exact", "eip155:84532")
    );
    assert_eq!(v2.payload()["k"], 1);
    let v1 = PaymentPayload::from_json_value(
        json!({"x402Version": 1, "scheme": "exact", "network": "base", "payload": {}}),
    )
    .unwrap();
    assert_eq!(
        (v1.version(), v1.scheme(), v1.network()),
        (1, "exact", "base")
    );
}

#[test]
fn any_requirements_reads_v1_max_amount_as_amount() {
    let v1: paywire_core::protocol::PaymentRequirementsV1 = serde_json::from_value(json!({"scheme": "exact", "network": "base",
        "maxAmountRequired": "77", "resource": "https://x", "payTo": "p", "maxTimeoutSeconds": 9, "asset": "a"})).unwrap();
    let any = AnyRequirements::V1(v1);
    assert_eq!(any.amount(), Amount::new(77));
    assert_eq!(
        (any.pay_to(), any.asset(), any.max_timeout_seconds()),
        ("p", "a", 9)
    );
    assert!(any.extra().is_none());
}

#[test]
fn v2_payload_without_resource_or_extensions_omits_them() {
    let payload = PaymentPayload::from_json_value(
        json!({"x402Version": 2, "accepted": requirement("5"), "payload": {}}),
    )
    .unwrap();
    let value = serde_json::to_value(&payload).unwrap();
    assert!(value.get("resource").is_none());
    assert!(value.get("extensions").is_none());
}

#[test]
fn v1_payload_cannot_be_read_as_v2() {
    let v1 = json!({"x402Version": 1, "scheme": "exact", "network": "base", "payload": {}});
    assert!(serde_json::from_value::<paywire_core::protocol::PaymentPayloadV2>(v1).is_err());
}

#[test]
fn exact_payload_round_trips_through_an_object() {
    let object = json!({"signature": "0x01", "authorization": {"from": "a", "to": "b", "value": "3",
        "validAfter": "0", "validBefore": "9", "nonce": "0x00"}});
    let exact = ExactPayload::from_object(object.as_object().unwrap()).unwrap();
    assert_eq!(Value::Object(exact.to_object()), object);
}

#[test]
fn exact_payload_timestamps_reject_signs_and_spaces() {
    for bad in ["+1", " 1", "", "1.0", "-1", "18446744073709551616"] {
        let object = json!({"signature": "0x01", "authorization": {"from": "a", "to": "b", "value": "3",
            "validAfter": bad, "validBefore": "9", "nonce": "0x00"}});
        assert_eq!(
            ExactPayload::from_object(object.as_object().unwrap())
                .unwrap_err()
                .code(),
            "invalid_payload",
            "{bad:?}"
        );
    }
}

#[test]
fn exact_payload_timestamps_accept_json_integers() {
    let object = json!({"signature": "0x01", "authorization": {"from": "a", "to": "b", "value": "3",
        "validAfter": 0, "validBefore": 9, "nonce": "0x00"}});
    let exact = ExactPayload::from_object(object.as_object().unwrap()).unwrap();
    assert_eq!(exact.authorization.valid_before, 9);
}

#[test]
fn wire_amounts_are_strings_never_json_numbers() {
    let object = json!({"signature": "0x01", "authorization": {"from": "a", "to": "b", "value": 3,
        "validAfter": 0, "validBefore": 9, "nonce": "0x00"}});
    assert_eq!(
        ExactPayload::from_object(object.as_object().unwrap())
            .unwrap_err()
            .code(),
        "invalid_payload"
    );
    let mut offer = serde_json::to_value(requirement("5")).unwrap();
    offer["amount"] = json!(5);
    assert!(serde_json::from_value::<PaymentRequirements>(offer).is_err());
}

// ---- header codec ----

#[test]
fn header_at_exactly_the_limit_is_accepted() {
    let header =
        header::encode(&json!({"x402Version": 2, "accepted": requirement("5"), "payload": {}}));
    assert!(header::decode_payment_payload(&header, header.len()).is_ok());
    assert_eq!(
        header::decode_payment_payload(&header, header.len() - 1)
            .unwrap_err()
            .code(),
        "header_too_large"
    );
}

#[test]
fn header_whitespace_around_the_value_is_ignored() {
    let header =
        header::encode(&json!({"x402Version": 2, "accepted": requirement("5"), "payload": {}}));
    assert!(header::decode_payment_payload(&format!("  {header}\t"), 4096).is_ok());
}

#[test]
fn v1_402_in_a_header_decodes() {
    let body = json!({"x402Version": 1, "error": "", "accepts": []});
    let decoded = header::decode_payment_required(&header::encode(&body), 4096).unwrap();
    assert_eq!(decoded.version(), 1);
}

#[test]
fn v1_402_body_bytes_decode_without_base64() {
    let body = br#"{"x402Version":1,"error":"X-PAYMENT header is required","accepts":[]}"#;
    assert!(matches!(
        header::payment_required_from_json(body).unwrap(),
        PaymentRequired::V1(_)
    ));
}

#[test]
fn settle_response_header_with_missing_network_is_invalid() {
    let header = header::encode(&json!({"success": true}));
    assert_eq!(
        header::decode_settle_response(&header, 4096)
            .unwrap_err()
            .code(),
        "invalid_payload"
    );
}

#[test]
fn header_names_are_the_sdk_spellings() {
    assert_eq!(
        [
            header::PAYMENT_REQUIRED,
            header::PAYMENT_SIGNATURE,
            header::PAYMENT_RESPONSE,
            header::X_PAYMENT,
            header::X_PAYMENT_RESPONSE
        ],
        [
            "PAYMENT-REQUIRED",
            "PAYMENT-SIGNATURE",
            "PAYMENT-RESPONSE",
            "X-PAYMENT",
            "X-PAYMENT-RESPONSE"
        ]
    );
}

// ---- matching ----

#[test]
fn find_match_v2_returns_the_matching_offer() {
    let offers = vec![requirement("1"), requirement("2")];
    let payment = paywire_core::protocol::PaymentPayloadV2 {
        x402_version: Default::default(),
        resource: None,
        accepted: requirement("2"),
        payload: Default::default(),
        extensions: None,
    };
    assert_eq!(
        matching::find_match_v2(&offers, &payment).unwrap().amount,
        Amount::new(2)
    );
    let none: Vec<PaymentRequirements> = vec![requirement("3")];
    assert_eq!(
        matching::find_match_v2(&none, &payment).unwrap_err().code(),
        "payment_requirements_mismatch"
    );
}

#[test]
fn find_match_never_crosses_versions() {
    let v1 = PaymentPayload::from_json_value(
        json!({"x402Version": 1, "scheme": "exact", "network": "eip155:84532", "payload": {}}),
    )
    .unwrap();
    let offers = vec![AnyRequirements::V2(requirement("1"))];
    assert_eq!(
        matching::find_match(&offers, &v1).unwrap_err().code(),
        "payment_requirements_mismatch"
    );
}

#[test]
fn v1_matching_uses_scheme_and_network_only() {
    let offer: paywire_core::protocol::PaymentRequirementsV1 = serde_json::from_value(json!({"scheme": "exact", "network": "base",
        "maxAmountRequired": "1", "resource": "https://x", "payTo": "p", "maxTimeoutSeconds": 9, "asset": "a"})).unwrap();
    let payment: paywire_core::protocol::PaymentPayloadV1 = serde_json::from_value(
        json!({"x402Version": 1, "scheme": "exact", "network": "base", "payload": {}}),
    )
    .unwrap();
    assert!(matching::find_match_v1(std::slice::from_ref(&offer), &payment).is_ok());
    let other: paywire_core::protocol::PaymentPayloadV1 = serde_json::from_value(
        json!({"x402Version": 1, "scheme": "upto", "network": "base", "payload": {}}),
    )
    .unwrap();
    assert!(matching::find_match_v1(&[offer], &other).is_err());
}

// ---- networks ----

#[test]
fn to_caip2_borrows_caip2_and_converts_v1_names() {
    assert!(matches!(
        network::to_caip2("eip155:1"),
        Some(std::borrow::Cow::Borrowed("eip155:1"))
    ));
    assert_eq!(network::to_caip2("polygon").as_deref(), Some("eip155:137"));
    assert_eq!(network::to_caip2("nope"), None);
}

#[test]
fn chain_ids_serialize_as_strings_and_validate_on_read() {
    let id: network::ChainId = serde_json::from_str("\"eip155:8453\"").unwrap();
    assert_eq!(serde_json::to_string(&id).unwrap(), "\"eip155:8453\"");
    assert!(serde_json::from_str::<network::ChainId>("\"eip155\"").is_err());
}

// ---- extensions ----

#[test]
fn payment_identifier_can_be_added_without_an_offer() {
    let extensions = extensions::with_payment_identifier(None, "pay_abcdefghijklmnop").unwrap();
    assert_eq!(
        extensions::payment_identifier(Some(&extensions)).unwrap(),
        Some("pay_abcdefghijklmnop")
    );
    assert!(!extensions::payment_identifier_required(Some(&extensions)));
}

#[test]
fn payment_identifier_replaces_a_malformed_entry() {
    let offered = json!({"payment-identifier": "not an object"});
    let extensions =
        extensions::with_payment_identifier(offered.as_object(), "pay_abcdefghijklmnop").unwrap();
    assert_eq!(
        extensions::payment_identifier(Some(&extensions)).unwrap(),
        Some("pay_abcdefghijklmnop")
    );
}

// ---- money ----

#[test]
fn amount_arithmetic_is_checked() {
    assert_eq!(
        Amount::new(2).checked_add(Amount::new(3)).unwrap(),
        Amount::new(5)
    );
    assert_eq!(
        Amount::MAX.checked_add(Amount::new(1)).unwrap_err().code(),
        "amount_overflow"
    );
    assert_eq!(Amount::new(2).checked_sub(Amount::new(3)), None);
    assert_eq!(Amount::new(2).checked_mul(4).unwrap(), Amount::new(8));
    assert_eq!(
        Amount::MAX.checked_mul(2).unwrap_err().code(),
        "amount_overflow"
    );
}

#[test]
fn amount_display_and_from_str_agree() {
    let amount = Amount::from_str("123456789012345678901234567890").unwrap();
    assert_eq!(amount.to_string(), "123456789012345678901234567890");
    assert!(Amount::ZERO.is_zero());
}

#[test]
fn registry_insert_replaces_the_same_asset() {
    let mut registry = AssetRegistry::new();
    registry
        .insert(Asset::new("eip155:1", "0xAA", "A", 6).unwrap())
        .unwrap();
    registry
        .insert(Asset::new("eip155:1", "0xaa", "A2", 18).unwrap())
        .unwrap();
    assert_eq!(registry.iter().count(), 1);
    assert_eq!(registry.get("eip155:1", "0xAa").unwrap().decimals, 18);
}

#[test]
fn registry_refuses_invalid_assets() {
    let mut registry = AssetRegistry::new();
    let mut asset = Asset::new("eip155:1", "0xAA", "A", 6).unwrap();
    asset.decimals = 40;
    assert_eq!(registry.insert(asset).unwrap_err().code(), "asset_invalid");
    assert_eq!(
        Asset::new("eip155:1", "", "A", 6).unwrap_err().code(),
        "asset_invalid"
    );
}

#[test]
fn default_registry_knows_both_usdc_deployments_and_the_ledger_dollar() {
    let registry = AssetRegistry::with_defaults();
    assert_eq!(
        registry
            .get("base", "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913")
            .unwrap()
            .extra["name"],
        "USD Coin"
    );
    assert_eq!(
        registry.get("base-sepolia", USDC).unwrap().extra["name"],
        "USDC"
    );
    assert_eq!(
        registry.get("paywire:anything", "usd").unwrap().symbol,
        "USD"
    );
}

#[test]
fn assets_deserialize_strictly() {
    let bad =
        json!({"network": "eip155:1", "address": "0x", "symbol": "X", "decimals": 6, "decimal": 6});
    assert!(serde_json::from_value::<Asset>(bad).is_err());
}

// ---- pricing ----

#[test]
fn pricebook_from_json_validates() {
    let bad = json!({"rules": [{"method": "G ET", "path": "/x", "price": {}}]});
    assert_eq!(
        pricebook_from_json(&bad).unwrap_err().code(),
        "pricing_rule_invalid"
    );
    let typo = json!({"rules": [{"method": "GET", "path": "/x", "prize": {}}]});
    assert_eq!(
        pricebook_from_json(&typo).unwrap_err().code(),
        "pricing_rule_invalid"
    );
    let good = json!({"rules": [{"method": "GET", "path": "/x", "price": {"flat": "1"}}]});
    assert_eq!(pricebook_from_json(&good).unwrap().rules.len(), 1);
}

#[test]
fn path_patterns_serialize_as_written() {
    let pattern: PathPattern = serde_json::from_str("\"/items/:id\"").unwrap();
    assert_eq!(serde_json::to_string(&pattern).unwrap(), "\"/items/:id\"");
    assert_eq!(pattern.as_str(), "/items/:id");
}

#[test]
fn flat_and_usage_add_up() {
    let book: Pricebook = serde_json::from_value(
        json!({"rules": [{"method": "POST", "path": "/x", "price": {"flat": "100",
        "usage": {"mode": "volume", "tiers": [{"unitPrice": "3"}]}}}]}),
    )
    .unwrap();
    let mut request = QuoteRequest::new("POST", "/x");
    request.quantity = 10;
    let quote = book.quote(&request).unwrap();
    assert_eq!(
        (quote.breakdown.flat, quote.breakdown.usage, quote.amount),
        (Amount::new(100), Amount::new(30), Amount::new(130))
    );
}

#[test]
fn a_free_unit_quota_larger_than_the_request_charges_only_the_flat_fee() {
    let book: Pricebook = serde_json::from_value(json!({"rules": [{"method": "POST", "path": "/x", "price": {"flat": "100",
        "usage": {"mode": "graduated", "tiers": [{"unitPrice": "3"}]}, "freeQuota": {"units": 1000}}}]})).unwrap();
    let mut request = QuoteRequest::new("POST", "/x");
    request.quantity = 10;
    let quote = book.quote(&request).unwrap();
    assert_eq!(
        (quote.breakdown.free_units, quote.amount),
        (10, Amount::new(100))
    );
}

#[test]
fn payment_required_v2_carries_resource_and_extensions() {
    let book: Pricebook = serde_json::from_value(
        json!({"rules": [{"method": "GET", "path": "/x", "price": {"flat": "10000"}}]}),
    )
    .unwrap();
    let quote = book.quote(&QuoteRequest::new("GET", "/x")).unwrap();
    let option: paywire_core::pricing::PaymentOption = serde_json::from_value(json!({"asset":
        {"network": "paywire:main", "address": "USD", "symbol": "USD", "decimals": 6}, "payTo": "wallet_p"})).unwrap();
    let ext = json!({"payment-identifier": extensions::offer_payment_identifier(false)});
    let required = quote
        .payment_required_v2(
            &[option],
            ResourceInfo::new("https://x/x"),
            None,
            ext.as_object().cloned(),
        )
        .unwrap();
    let value = serde_json::to_value(&required).unwrap();
    assert_eq!(value["accepts"][0]["maxTimeoutSeconds"], 300);
    assert_eq!(value["accepts"][0]["scheme"], "exact");
    assert!(value["accepts"][0].get("extra").is_none());
    assert_eq!(
        value["extensions"]["payment-identifier"]["info"]["required"],
        false
    );
}

// ---- policy ----

fn accepts(amounts: &[&str]) -> PaymentRequired {
    PaymentRequired::from_json_value(
        json!({"x402Version": 2, "resource": {"url": "https://api.example.com/x"},
        "accepts": amounts.iter().map(|a| requirement(a)).collect::<Vec<_>>()}),
    )
    .unwrap()
}

#[test]
fn select_keeps_the_servers_order_on_ties() {
    let selection = Policy::default().select(
        &accepts(&["5", "5", "5"]),
        &Usage::default(),
        0,
        &AssetRegistry::with_defaults(),
    );
    assert!(matches!(selection, Selection::Selected { index: 0, .. }));
}

#[test]
fn select_reports_the_cheapest_refusal_as_primary() {
    let policy = Policy {
        max_per_request: Some(d("0.000001")),
        allowed_hosts: Some(vec!["x.io".into()]),
        ..Default::default()
    };
    let selection = policy.select(
        &accepts(&["50", "20"]),
        &Usage::default(),
        0,
        &AssetRegistry::with_defaults(),
    );
    assert_eq!(selection.primary_reason(), Some(DenyReason::HostNotAllowed));
    let policy = Policy {
        max_per_request: Some(d("0.00003")),
        ..Default::default()
    };
    let selection = policy.select(
        &accepts(&["50", "40"]),
        &Usage::default(),
        0,
        &AssetRegistry::with_defaults(),
    );
    assert_eq!(
        selection.primary_reason(),
        Some(DenyReason::MaxPerRequestExceeded)
    );
}

#[test]
fn select_converts_with_the_assets_decimals() {
    let selection = Policy::default().select(
        &accepts(&["1500000"]),
        &Usage::default(),
        0,
        &AssetRegistry::with_defaults(),
    );
    assert_eq!(
        selection,
        Selection::Selected {
            index: 0,
            amount: d("1.5"),
            needs_approval: false
        }
    );
}

#[test]
fn decisions_serialize_with_their_codes() {
    assert_eq!(
        serde_json::to_value(Decision::Allow).unwrap(),
        json!({"decision": "allow"})
    );
    assert_eq!(
        serde_json::to_value(Decision::NeedsApproval).unwrap(),
        json!({"decision": "needsApproval"})
    );
    assert_eq!(
        serde_json::to_value(Decision::Deny(DenyReason::VelocityExceeded)).unwrap(),
        json!({"decision": "deny", "reason": "policy_velocity_exceeded"})
    );
    let back: Decision = serde_json::from_value(
        json!({"decision": "deny", "reason": "policy_daily_limit_exceeded"}),
    )
    .unwrap();
    assert_eq!(back, Decision::Deny(DenyReason::DailyLimitExceeded));
}

#[test]
fn deny_reasons_have_unique_policy_codes() {
    let mut seen = std::collections::HashSet::new();
    for reason in DenyReason::ALL {
        assert!(reason.code().starts_with("policy_"));
        assert!(seen.insert(reason.code()));
        assert_eq!(Error::from(*reason).code(), reason.code());
    }
}

#[test]
fn recording_without_a_velocity_limit_keeps_no_times() {
    let policy = Policy::default();
    let mut usage = Usage::default();
    policy.record(&mut usage, d("1"), 100);
    assert!(usage.recent_payments.is_empty());
    assert_eq!(usage.spent_today, d("1"));
}

#[test]
fn usage_survives_a_json_round_trip() {
    let policy = Policy {
        windows: WindowMode::Rolling,
        velocity: Some(paywire_core::policy::VelocityLimit {
            max_payments: 3,
            window_seconds: 60,
        }),
        ..Default::default()
    };
    let mut usage = Usage::default();
    policy.record(&mut usage, d("0.25"), 1_000_000);
    let back: Usage = serde_json::from_value(serde_json::to_value(&usage).unwrap()).unwrap();
    assert_eq!(back, usage);
}

#[test]
fn policy_limits_compare_exact_decimals() {
    let policy = Policy {
        daily_limit: Some(d("0.3")),
        ..Default::default()
    };
    let mut usage = Usage::default();
    policy.record(&mut usage, d("0.1"), 10);
    policy.record(&mut usage, d("0.1"), 11);
    let intent = PaymentIntent {
        amount: d("0.1"),
        network: "paywire:main".into(),
        asset: "USD".into(),
        pay_to: "p".into(),
        resource: None,
    };
    assert_eq!(
        policy.evaluate(&intent, &usage, 12),
        Decision::Allow,
        "0.1 + 0.1 + 0.1 is exactly 0.3"
    );
}

#[test]
fn valid_extreme_offsets_are_accepted() {
    for offset in [-720, 840] {
        assert!(Policy {
            windows: WindowMode::Calendar {
                utc_offset_minutes: offset
            },
            ..Default::default()
        }
        .validate()
        .is_ok());
    }
}

// ---- idempotency ----

#[test]
fn decide_is_a_pure_function_of_the_record() {
    let config = IdempotencyConfig::default();
    let fp = fingerprint("POST", "/", b"");
    assert_eq!(decide(None, &fp, 0, &config).unwrap(), Begin::Proceed);
    let done = IdempotencyRecord {
        fingerprint: fp,
        created_at: 0,
        state: RecordState::Completed {
            outcome: StoredOutcome {
                status: 200,
                body: "x".into(),
            },
        },
    };
    assert!(matches!(
        decide(Some(&done), &fp, 10, &config).unwrap(),
        Begin::Replay(_)
    ));
    assert_eq!(
        decide(Some(&done), &fp, config.retention_seconds, &config).unwrap(),
        Begin::Proceed
    );
}

#[test]
fn fingerprints_serialize_as_hex() {
    let fp = fingerprint("GET", "/", b"");
    let text = serde_json::to_string(&fp).unwrap();
    assert_eq!(text.len(), 66);
    assert_eq!(serde_json::from_str::<Fingerprint>(&text).unwrap(), fp);
    assert!(serde_json::from_str::<Fingerprint>("\"zz\"").is_err());
}

#[test]
fn canonical_json_sorts_keys_at_every_depth() {
    let value = json!({"b": {"d": 1, "c": [{"f": 2, "e": 3}]}, "a": null});
    assert_eq!(
        String::from_utf8(canonical_json(&value)).unwrap(),
        r#"{"a":null,"b":{"c":[{"e":3,"f":2}],"d":1}}"#
    );
}

#[test]
fn idempotency_keys_validate_when_deserialized() {
    assert!(serde_json::from_str::<IdempotencyKey>("\"ok-key\"").is_ok());
    assert!(serde_json::from_str::<IdempotencyKey>("\"\"").is_err());
}

// ---- tokens ----

fn claims() -> Claims {
    Claims {
        id: "t1".into(),
        iss: "i".into(),
        sub: "s".into(),
        scope: Scope {
            resource: "https://x.io/".into(),
            methods: vec![],
            route: None,
        },
        iat: 10,
        exp: 20,
        max_uses: None,
    }
}

#[test]
fn tokens_without_limits_allow_any_method_and_use_count() {
    let ring = KeyRing::new("k", &[1; 32]).unwrap();
    let token = ring.issue(&claims()).unwrap();
    let verified = ring
        .verify(
            &token,
            TokenRequest::new("PATCH", "https://x.io/a"),
            15,
            u64::MAX,
        )
        .unwrap();
    assert_eq!(verified.claims.max_uses, None);
}

#[test]
fn caveats_serialize_as_single_key_objects() {
    assert_eq!(
        serde_json::to_value(Caveat::Exp(5)).unwrap(),
        json!({"exp": 5})
    );
    assert_eq!(
        serde_json::to_value(Caveat::MaxUses(2)).unwrap(),
        json!({"maxUses": 2})
    );
    assert!(serde_json::from_value::<Caveat>(json!({"expires": 5})).is_err());
}

#[test]
fn too_many_caveats_are_refused_at_the_size_limit() {
    let ring = KeyRing::new("k", &[1; 32]).unwrap();
    let mut token = ring.issue(&claims()).unwrap();
    let mut refused = None;
    for _ in 0..200 {
        match paywire_core::token::attenuate(&token, &Caveat::Resource("https://x.io/".into())) {
            Ok(next) => token = next,
            Err(e) => {
                refused = Some(e.code().to_string());
                break;
            }
        }
    }
    assert_eq!(refused.as_deref(), Some("token_malformed"));
    assert!(token.len() <= paywire_core::token::MAX_TOKEN_LEN);
    assert!(ring
        .verify(&token, TokenRequest::new("GET", "https://x.io/a"), 15, 0)
        .is_ok());
}

#[test]
fn retiring_an_unknown_kid_is_an_error() {
    let mut ring = KeyRing::new("k", &[1; 32]).unwrap();
    assert_eq!(ring.retire("nope").unwrap_err().code(), "token_unknown_kid");
    assert_eq!(ring.signing_kid(), "k");
}

#[test]
fn error_messages_never_contain_secrets() {
    let secret_hex = "73757065722d7365637265742d76616c7565";
    let error = paywire_core::protocol::ledger::WalletSecret::from_hex("0x1234").unwrap_err();
    assert!(!error.to_string().contains("1234"));
    let ring = KeyRing::new("k", secret_hex.as_bytes()).unwrap();
    assert!(!format!("{ring:?}").contains(secret_hex));
}

#[test]
fn payable_by_matches_the_payer_to_the_scheme_and_network() {
    use paywire_core::protocol::{payable_by, AnyRequirements, PayerKind};
    let option = |scheme: &str, network: &str| {
        AnyRequirements::from_json_value(serde_json::json!({"scheme": scheme, "network": network,
            "amount": "1", "asset": "0x036CbD53842c5426634e7929541eC2318f3dCF7e",
            "payTo": "0x209693Bc6afc0C5328bA36FaF03C514EF312287C", "maxTimeoutSeconds": 60}))
        .unwrap()
    };
    assert!(payable_by(&option("exact", "eip155:8453"), PayerKind::Evm));
    assert!(
        payable_by(&option("exact", "base"), PayerKind::Evm),
        "v1 names are EVM too"
    );
    assert!(!payable_by(&option("exact", "solana"), PayerKind::Evm));
    assert!(!payable_by(&option("upto", "eip155:8453"), PayerKind::Evm));
    assert!(!payable_by(
        &option("exact", "eip155:8453"),
        PayerKind::Ledger
    ));
    assert!(payable_by(
        &option("exact", "paywire:main"),
        PayerKind::Ledger
    ));
    assert!(!payable_by(
        &option("exact", "paywire:main"),
        PayerKind::Evm
    ));
}
