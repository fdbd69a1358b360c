//! Webhook signatures as the settlement server sends them (`Paywire-Signature`, Stripe's
//! scheme): what a receiver checks before it trusts a delivery.

use paywire_core::webhook;
use wasm_bindgen::prelude::*;

use crate::convert::{bytes_arg, optional_number, string_arg, whole_number};
use crate::error::{JsResult, OrThrow};

/// The raw body as bytes: a string is taken as its UTF-8, a `Uint8Array` as is.
fn body_bytes(body: &JsValue) -> JsResult<Vec<u8>> {
    match body.as_string() {
        Some(text) => Ok(text.into_bytes()),
        None => bytes_arg(body, "body"),
    }
}

/// The `Paywire-Signature` value for `body` sent at `timestamp` (unix seconds) under the
/// endpoint's `secret` (`whsec_…`).
#[wasm_bindgen(js_name = signWebhook)]
pub fn sign_webhook(
    #[wasm_bindgen(unchecked_param_type = "string")] secret: JsValue,
    #[wasm_bindgen(unchecked_param_type = "number")] timestamp: JsValue,
    #[wasm_bindgen(unchecked_param_type = "string | Uint8Array")] body: JsValue,
) -> JsResult<String> {
    Ok(webhook::sign(
        string_arg(&secret, "secret")?.as_bytes(),
        whole_number(&timestamp, "timestamp")?,
        &body_bytes(&body)?,
    ))
}

/// Checks a delivery: its `Paywire-Signature` header against the raw `body` received (before
/// parsing it), with the endpoint's `secret`, at `now`, within `toleranceSeconds` (300 when
/// omitted). Returns the signed timestamp; throws `webhook_signature_invalid`,
/// `webhook_timestamp_outside_tolerance` or `webhook_signature_malformed`.
///
/// ```js
/// verifyWebhook(req.headers["paywire-signature"], secret, rawBody, Math.floor(Date.now() / 1000))
/// ```
#[wasm_bindgen(js_name = verifyWebhook)]
pub fn verify_webhook(
    #[wasm_bindgen(unchecked_param_type = "string")] header: JsValue,
    #[wasm_bindgen(unchecked_param_type = "string")] secret: JsValue,
    #[wasm_bindgen(unchecked_param_type = "string | Uint8Array")] body: JsValue,
    #[wasm_bindgen(unchecked_param_type = "number")] now: JsValue,
    #[wasm_bindgen(unchecked_param_type = "number | undefined")] tolerance_seconds: JsValue,
) -> JsResult<f64> {
    let tolerance = optional_number(
        &tolerance_seconds,
        "toleranceSeconds",
        crate::convert::MAX_SAFE_INTEGER as u64,
        webhook::DEFAULT_TOLERANCE_SECONDS,
    )?;
    let timestamp = webhook::verify(
        &string_arg(&header, "header")?,
        string_arg(&secret, "secret")?.as_bytes(),
        &body_bytes(&body)?,
        whole_number(&now, "now")?,
        tolerance,
    )
    .or_throw()?;
    // Within the tolerance of a `now` below 2^53: exact as a number.
    Ok(timestamp as f64)
}
