//! The x402 wire format: header codec, 402 and payment shapes, networks, matching, and the
//! facilitator's request and response bodies.

use paywire_core::network;
use paywire_core::protocol::{
    extensions, header, matching, payable_by, AnyRequirements, FacilitatorRequest, JsonObject,
    PayerKind, PaymentPayload, PaymentRequired, PaymentRequirements, SettleResponse,
    VerifyResponse,
};
use paywire_core::Error;

use crate::{index_u32, json, optional_number, parse, parse_optional, text, Result};

fn limit(limit: Option<f64>) -> Result<usize> {
    let default = header::DEFAULT_HEADER_LIMIT as u64;
    Ok(optional_number(limit, "limit", u64::from(u32::MAX), default)? as usize)
}

/// A 402 from its JSON, either version.
pub fn payment_required_of(value: &str) -> Result<PaymentRequired> {
    PaymentRequired::from_json_value(json(value, "paymentRequired")?)
}

/// A payment from its JSON, either version.
pub fn payment_payload_of(value: &str) -> Result<PaymentPayload> {
    PaymentPayload::from_json_value(json(value, "paymentPayload")?)
}

/// Requirements from their JSON, either version.
pub fn requirements_of(value: &str) -> Result<AnyRequirements> {
    AnyRequirements::from_json_value(json(value, "paymentRequirements")?)
}

/// Any JSON value (text) as an x402 header value (base64 of its JSON).
pub fn encode_header(value: &str) -> Result<String> {
    Ok(header::encode(&json(value, "header value")?))
}

/// A `PAYMENT-REQUIRED` header's 402 (JSON), at most `limit` bytes.
pub fn decode_payment_required(header_value: &str, limit_bytes: Option<f64>) -> Result<String> {
    text(&header::decode_payment_required(
        header_value,
        limit(limit_bytes)?,
    )?)
}

/// A `PAYMENT-SIGNATURE`/`X-PAYMENT` header's payment (JSON).
pub fn decode_payment_payload(header_value: &str, limit_bytes: Option<f64>) -> Result<String> {
    text(&header::decode_payment_payload(
        header_value,
        limit(limit_bytes)?,
    )?)
}

/// A `PAYMENT-RESPONSE` header's settlement (JSON).
pub fn decode_payment_response(header_value: &str, limit_bytes: Option<f64>) -> Result<String> {
    text(&header::decode_settle_response(
        header_value,
        limit(limit_bytes)?,
    )?)
}

/// A 402 (JSON) checked and normalized.
pub fn payment_required_from_json(value: &str) -> Result<String> {
    text(&payment_required_of(value)?)
}

/// A payment (JSON) checked and normalized.
pub fn payment_payload_from_json(value: &str) -> Result<String> {
    text(&payment_payload_of(value)?)
}

/// A network name (CAIP-2 or v1) resolved: `{caip2, namespace, reference, evmChainId, v1Name}`.
pub fn resolve_network(name: &str) -> Result<String> {
    let id = network::resolve(name)?;
    text(&serde_json::json!({
        "caip2": id.as_str(), "namespace": id.namespace(), "reference": id.reference(),
        "evmChainId": id.evm_chain_id(), "v1Name": id.v1_name(),
    }))
}

/// Whether two network names are the same network.
pub fn same_network(a: &str, b: &str) -> bool {
    network::same_network(a, b)
}

/// Whether a payment's `accepted` requirements match offered ones (JSON both).
pub fn requirements_match(accepted: &str, offered: &str) -> Result<bool> {
    let accepted: PaymentRequirements = parse(accepted, "accepted")?;
    let offered: PaymentRequirements = parse(offered, "offered")?;
    Ok(matching::requirements_match(&accepted, &offered))
}

/// Which of `offers` (JSON array) a payment (JSON) pays.
pub fn find_match(offers: &str, payment: &str) -> Result<u32> {
    let offers: Vec<AnyRequirements> = parse(offers, "offers")?;
    let payment = payment_payload_of(payment)?;
    let found = matching::find_match(&offers, &payment)?;
    let index = offers
        .iter()
        .position(|offer| std::ptr::eq(offer, found))
        .unwrap_or_default();
    Ok(index_u32(index))
}

/// The body of `/verify` and `/settle` for a payment and its requirements (JSON each).
pub fn facilitator_request(payment: &str, requirements: &str) -> Result<String> {
    let request = FacilitatorRequest {
        payment_payload: payment_payload_of(payment)?,
        payment_requirements: requirements_of(requirements)?,
    };
    if request.payment_payload.version() != request.payment_requirements.version() {
        return Err(Error::InvalidPayload(
            "the payment and its requirements have different x402 versions".into(),
        ));
    }
    text(&request)
}

fn parsed<T: serde::de::DeserializeOwned + serde::Serialize>(
    body: &str,
    what: &str,
) -> Result<String> {
    let value: T = serde_json::from_value(json(body, what)?)
        .map_err(|e| Error::InvalidPayload(format!("{what}: {e}")))?;
    text(&value)
}

/// A facilitator's `/verify` answer (JSON), checked.
pub fn parse_verify_response(body: &str) -> Result<String> {
    parsed::<VerifyResponse>(body, "verify response")
}

/// A facilitator's `/settle` answer (JSON), checked.
pub fn parse_settle_response(body: &str) -> Result<String> {
    parsed::<SettleResponse>(body, "settle response")
}

/// The indexes of a 402's options a payer of `kind` (`"evm"`, `"ledger"`) can sign.
pub fn payable_indexes(payment_required: &str, kind: &str) -> Result<Vec<u32>> {
    let required = payment_required_of(payment_required)?;
    let kind: PayerKind = serde_json::from_value(serde_json::Value::String(kind.to_string()))
        .map_err(|e| Error::InvalidArgument(format!("payer kind: {e}")))?;
    let mut indexes = Vec::new();
    for index in 0..required.len() {
        if payable_by(&required.requirements(index)?, kind) {
            indexes.push(index_u32(index));
        }
    }
    Ok(indexes)
}

/// The payment identifier in extensions (JSON), if any.
pub fn payment_identifier(extensions_value: Option<&str>) -> Result<Option<String>> {
    let object: Option<JsonObject> = parse_optional(extensions_value, "extensions")?;
    Ok(extensions::payment_identifier(object.as_ref())?.map(str::to_string))
}

/// Extensions (JSON) with a payment identifier added.
pub fn with_payment_identifier(extensions_value: Option<&str>, id: &str) -> Result<String> {
    let object: Option<JsonObject> = parse_optional(extensions_value, "extensions")?;
    text(&extensions::with_payment_identifier(object.as_ref(), id)?)
}
