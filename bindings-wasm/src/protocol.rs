//! The x402 wire format: header codec, 402 and payment shapes, networks, matching, and the
//! facilitator's request and response bodies.

use paywire_core::network;
use paywire_core::protocol::{
    extensions, header, matching, payable_by, AnyRequirements, FacilitatorRequest, JsonObject,
    PayerKind, PaymentPayload, PaymentRequired, PaymentRequirements, SettleResponse,
    VerifyResponse,
};
use paywire_core::Error;
use wasm_bindgen::prelude::*;

use crate::convert::{from_js, json_from_js, optional_number, string_arg, to_js};
use crate::error::{JsResult, OrThrow};

fn limit(limit: &JsValue) -> JsResult<usize> {
    let default = header::DEFAULT_HEADER_LIMIT as u64;
    Ok(optional_number(limit, "limit", u64::from(u32::MAX), default)? as usize)
}

/// Checks and normalizes a 402 of either version given as parsed JSON (a `PAYMENT-REQUIRED`
/// header's content, or a v1 JSON body): unknown fields are kept.
pub(crate) fn payment_required_from(value: JsValue) -> JsResult<PaymentRequired> {
    PaymentRequired::from_json_value(json_from_js(value, "paymentRequired")?).or_throw()
}

/// A payment of either version given as parsed JSON.
pub(crate) fn payment_payload_from(value: JsValue) -> JsResult<PaymentPayload> {
    PaymentPayload::from_json_value(json_from_js(value, "paymentPayload")?).or_throw()
}

/// Requirements of either version given as parsed JSON.
pub(crate) fn requirements_from(value: JsValue) -> JsResult<AnyRequirements> {
    AnyRequirements::from_json_value(json_from_js(value, "paymentRequirements")?).or_throw()
}

/// Encodes any JSON value as an x402 header (base64 of its UTF-8 JSON).
///
/// ```js
/// headers.set("PAYMENT-SIGNATURE", encodeHeader(payment))
/// ```
#[wasm_bindgen(js_name = encodeHeader)]
pub fn encode_header(
    #[wasm_bindgen(unchecked_param_type = "unknown")] value: JsValue,
) -> JsResult<String> {
    Ok(header::encode(&json_from_js(value, "header value")?))
}

/// Decodes a `PAYMENT-REQUIRED` header (at most `limit` bytes, default 32 KiB); throws
/// `header_too_large`, `header_malformed`, `invalid_payload` or `invalid_x402_version`.
#[wasm_bindgen(unchecked_return_type = "PaymentRequired", js_name = decodePaymentRequired)]
pub fn decode_payment_required(
    #[wasm_bindgen(unchecked_param_type = "string")] header_value: JsValue,
    #[wasm_bindgen(unchecked_param_type = "number | undefined")] limit_bytes: JsValue,
) -> JsResult<JsValue> {
    let header_value = &string_arg(&header_value, "header_value")?;
    to_js(&header::decode_payment_required(header_value, limit(&limit_bytes)?).or_throw()?)
}

/// Decodes a `PAYMENT-SIGNATURE` (or v1 `X-PAYMENT`) header into a `PaymentPayload`.
#[wasm_bindgen(unchecked_return_type = "PaymentPayload", js_name = decodePaymentPayload)]
pub fn decode_payment_payload(
    #[wasm_bindgen(unchecked_param_type = "string")] header_value: JsValue,
    #[wasm_bindgen(unchecked_param_type = "number | undefined")] limit_bytes: JsValue,
) -> JsResult<JsValue> {
    let header_value = &string_arg(&header_value, "header_value")?;
    to_js(&header::decode_payment_payload(header_value, limit(&limit_bytes)?).or_throw()?)
}

/// Decodes a `PAYMENT-RESPONSE` (or v1 `X-PAYMENT-RESPONSE`) header into a `SettleResponse`.
#[wasm_bindgen(unchecked_return_type = "SettleResponse", js_name = decodePaymentResponse)]
pub fn decode_payment_response(
    #[wasm_bindgen(unchecked_param_type = "string")] header_value: JsValue,
    #[wasm_bindgen(unchecked_param_type = "number | undefined")] limit_bytes: JsValue,
) -> JsResult<JsValue> {
    let header_value = &string_arg(&header_value, "header_value")?;
    to_js(&header::decode_settle_response(header_value, limit(&limit_bytes)?).or_throw()?)
}

/// A 402 of either version from parsed JSON (a v1 response body, say), checked.
#[wasm_bindgen(unchecked_return_type = "PaymentRequired", js_name = paymentRequiredFromJson)]
pub fn payment_required_from_json(
    #[wasm_bindgen(unchecked_param_type = "unknown")] value: JsValue,
) -> JsResult<JsValue> {
    to_js(&payment_required_from(value)?)
}

/// A payment of either version from parsed JSON, checked.
#[wasm_bindgen(unchecked_return_type = "PaymentPayload", js_name = paymentPayloadFromJson)]
pub fn payment_payload_from_json(
    #[wasm_bindgen(unchecked_param_type = "unknown")] value: JsValue,
) -> JsResult<JsValue> {
    to_js(&payment_payload_from(value)?)
}

/// Resolves a network in either form (`base`, `eip155:8453`, `paywire:main`):
/// `{caip2, namespace, reference, evmChainId, v1Name}`.
#[wasm_bindgen(unchecked_return_type = "{ caip2: string; namespace: string; reference: string; evmChainId: number | null; v1Name: string | null }", js_name = resolveNetwork)]
pub fn resolve_network(
    #[wasm_bindgen(unchecked_param_type = "string")] name: JsValue,
) -> JsResult<JsValue> {
    let name = &string_arg(&name, "name")?;
    let id = network::resolve(name).or_throw()?;
    to_js(&serde_json::json!({
        "caip2": id.as_str(), "namespace": id.namespace(), "reference": id.reference(),
        "evmChainId": id.evm_chain_id(), "v1Name": id.v1_name(),
    }))
}

/// Whether two network names denote the same network (`base` and `eip155:8453` do).
#[wasm_bindgen(js_name = sameNetwork)]
pub fn same_network(
    #[wasm_bindgen(unchecked_param_type = "string")] a: JsValue,
    #[wasm_bindgen(unchecked_param_type = "string")] b: JsValue,
) -> JsResult<bool> {
    let a = &string_arg(&a, "a")?;
    let b = &string_arg(&b, "b")?;
    Ok(network::same_network(a, b))
}

/// Whether a v2 payment's `accepted` requirements match an offered one (same scheme,
/// network, amount, asset, recipient; the offer's `extra` a subset).
#[wasm_bindgen(js_name = requirementsMatch)]
pub fn requirements_match(
    #[wasm_bindgen(unchecked_param_type = "PaymentRequirements")] accepted: JsValue,
    #[wasm_bindgen(unchecked_param_type = "PaymentRequirements")] offered: JsValue,
) -> JsResult<bool> {
    let accepted: PaymentRequirements = from_js(accepted, "accepted")?;
    let offered: PaymentRequirements = from_js(offered, "offered")?;
    Ok(matching::requirements_match(&accepted, &offered))
}

/// The index of the first offer (`PaymentRequirements` of either version) a payment matches;
/// throws `payment_requirements_mismatch` when none does.
#[wasm_bindgen(js_name = findMatch)]
pub fn find_match(
    #[wasm_bindgen(unchecked_param_type = "Array<PaymentRequirements | PaymentRequirementsV1>")]
    offers: JsValue,
    #[wasm_bindgen(unchecked_param_type = "PaymentPayload")] payment: JsValue,
) -> JsResult<u32> {
    let offers: Vec<AnyRequirements> = from_js(offers, "offers")?;
    let payment = payment_payload_from(payment)?;
    let found = matching::find_match(&offers, &payment).or_throw()?;
    let index = offers
        .iter()
        .position(|offer| std::ptr::eq(offer, found))
        .unwrap_or_default();
    Ok(u32::try_from(index).unwrap_or(u32::MAX))
}

/// The body of a facilitator's `/verify` or `/settle`:
/// `{x402Version, paymentPayload, paymentRequirements}`; both parts must share a version.
#[wasm_bindgen(unchecked_return_type = "FacilitatorRequest", js_name = facilitatorRequest)]
pub fn facilitator_request(
    #[wasm_bindgen(unchecked_param_type = "PaymentPayload")] payment: JsValue,
    #[wasm_bindgen(unchecked_param_type = "PaymentRequirements | PaymentRequirementsV1")]
    requirements: JsValue,
) -> JsResult<JsValue> {
    let request = FacilitatorRequest {
        payment_payload: payment_payload_from(payment)?,
        payment_requirements: requirements_from(requirements)?,
    };
    if request.payment_payload.version() != request.payment_requirements.version() {
        return Err(crate::error::to_js_error(&Error::InvalidPayload(
            "the payment and its requirements have different x402 versions".into(),
        )));
    }
    to_js(&request)
}

/// A facilitator's `/verify` answer, checked: `{isValid, invalidReason?, payer?, ...}`.
#[wasm_bindgen(unchecked_return_type = "VerifyResponse", js_name = parseVerifyResponse)]
pub fn parse_verify_response(
    #[wasm_bindgen(unchecked_param_type = "unknown")] body: JsValue,
) -> JsResult<JsValue> {
    let response: VerifyResponse = parsed(body, "verify response")?;
    to_js(&response)
}

/// A facilitator's `/settle` answer, checked: `{success, transaction, network, payer?, ...}`.
#[wasm_bindgen(unchecked_return_type = "SettleResponse", js_name = parseSettleResponse)]
pub fn parse_settle_response(
    #[wasm_bindgen(unchecked_param_type = "unknown")] body: JsValue,
) -> JsResult<JsValue> {
    let response: SettleResponse = parsed(body, "settle response")?;
    to_js(&response)
}

fn parsed<T: serde::de::DeserializeOwned>(body: JsValue, what: &str) -> JsResult<T> {
    serde_json::from_value(json_from_js(body, what)?)
        .map_err(|e| Error::InvalidPayload(format!("{what}: {e}")))
        .or_throw()
}

/// The indexes of a 402's options a payer of `kind` (`"evm"` or `"ledger"`) can sign for.
#[wasm_bindgen(js_name = payableIndexes)]
pub fn payable_indexes(
    #[wasm_bindgen(unchecked_param_type = "PaymentRequired")] payment_required: JsValue,
    #[wasm_bindgen(unchecked_param_type = "\"evm\" | \"ledger\"")] kind: JsValue,
) -> JsResult<Vec<u32>> {
    let required = payment_required_from(payment_required)?;
    let kind: PayerKind = from_js(kind, "payer kind")?;
    let mut indexes = Vec::new();
    for index in 0..required.len() {
        if payable_by(&required.requirements(index).or_throw()?, kind) {
            indexes.push(u32::try_from(index).unwrap_or(u32::MAX));
        }
    }
    Ok(indexes)
}

/// The payment identifier in a payment's `extensions`, or `undefined`; throws
/// `payment_identifier_invalid` for one outside the extension's grammar.
#[wasm_bindgen(js_name = paymentIdentifier)]
pub fn payment_identifier(
    #[wasm_bindgen(unchecked_param_type = "JsonObject | undefined")] extensions_value: JsValue,
) -> JsResult<Option<String>> {
    let object: Option<JsonObject> = from_js(extensions_value, "extensions")?;
    Ok(extensions::payment_identifier(object.as_ref())
        .or_throw()?
        .map(str::to_string))
}

/// `extensions` with the payment identifier `id` set (as a client sends it).
#[wasm_bindgen(unchecked_return_type = "JsonObject", js_name = withPaymentIdentifier)]
pub fn with_payment_identifier(
    #[wasm_bindgen(unchecked_param_type = "JsonObject | undefined")] extensions_value: JsValue,
    #[wasm_bindgen(unchecked_param_type = "string")] id: JsValue,
) -> JsResult<JsValue> {
    let id = &string_arg(&id, "id")?;
    let object: Option<JsonObject> = from_js(extensions_value, "extensions")?;
    to_js(&extensions::with_payment_identifier(object.as_ref(), id).or_throw()?)
}
