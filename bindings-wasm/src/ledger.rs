//! The Paywire ledger scheme: `exact` on `paywire:<ledger-id>`, authorized with the wallet's
//! HMAC secret instead of a chain signature.

use std::collections::BTreeMap;

use paywire_core::protocol::ledger::{self, WalletSecret};
use paywire_core::protocol::{AnyRequirements, ExactPayload};
use wasm_bindgen::prelude::*;

use crate::convert::{bytes_arg, from_js, nonce32, small_number, string_arg, to_js, whole_number};
use crate::error::{JsResult, OrThrow};
use crate::protocol::{payment_payload_from, payment_required_from, requirements_from};

/// Signs a payment for `accepts[index]` of a 402 from ledger wallet `walletId` with its
/// `secret` (bytes), a fresh 32-byte `nonce` and `now`: the complete `PaymentPayload` to send
/// in `PAYMENT-SIGNATURE` (v2) or `X-PAYMENT` (v1).
///
/// ```js
/// signLedgerPayment(required, 0, "wal_…", secret, crypto.getRandomValues(new Uint8Array(32)), now)
/// ```
#[wasm_bindgen(unchecked_return_type = "PaymentPayload", js_name = signLedgerPayment)]
pub fn sign_ledger_payment(
    #[wasm_bindgen(unchecked_param_type = "PaymentRequired")] payment_required: JsValue,
    #[wasm_bindgen(unchecked_param_type = "number")] index: JsValue,
    #[wasm_bindgen(unchecked_param_type = "string")] wallet_id: JsValue,
    #[wasm_bindgen(unchecked_param_type = "Uint8Array")] secret: JsValue,
    #[wasm_bindgen(unchecked_param_type = "Uint8Array")] nonce: JsValue,
    #[wasm_bindgen(unchecked_param_type = "number")] now: JsValue,
) -> JsResult<JsValue> {
    let required = payment_required_from(payment_required)?;
    let index = small_number(&index, "index", u64::from(u32::MAX))? as usize;
    let requirements = required.requirements(index).or_throw()?;
    let exact = sign(&requirements, &wallet_id, &secret, &nonce, &now)?;
    to_js(&required.payment(index, exact.to_object()).or_throw()?)
}

/// Signs only the scheme's payload (`{signature, authorization}`) for one requirement.
#[wasm_bindgen(unchecked_return_type = "ExactPayload", js_name = signLedgerAuthorization)]
pub fn sign_ledger_authorization(
    #[wasm_bindgen(unchecked_param_type = "PaymentRequirements | PaymentRequirementsV1")]
    requirements: JsValue,
    #[wasm_bindgen(unchecked_param_type = "string")] wallet_id: JsValue,
    #[wasm_bindgen(unchecked_param_type = "Uint8Array")] secret: JsValue,
    #[wasm_bindgen(unchecked_param_type = "Uint8Array")] nonce: JsValue,
    #[wasm_bindgen(unchecked_param_type = "number")] now: JsValue,
) -> JsResult<JsValue> {
    let requirements = requirements_from(requirements)?;
    to_js(&sign(&requirements, &wallet_id, &secret, &nonce, &now)?)
}

/// The scheme payload for one requirement, from the JavaScript arguments of either export.
fn sign(
    requirements: &AnyRequirements,
    wallet_id: &JsValue,
    secret: &JsValue,
    nonce: &JsValue,
    now: &JsValue,
) -> JsResult<ExactPayload> {
    let wallet_id = string_arg(wallet_id, "walletId")?;
    let secret = WalletSecret::from_bytes(&bytes_arg(secret, "secret")?).or_throw()?;
    let nonce = nonce32(&bytes_arg(nonce, "nonce")?)?;
    ledger::sign_payment(
        requirements,
        &wallet_id,
        &secret,
        &nonce,
        whole_number(now, "now")?,
    )
    .or_throw()
}

/// Verifies a ledger payment against the requirements it was matched to, at `now`, with the
/// wallets' secrets given as `{walletId: hexSecret}`: `{payer, value}`, or a thrown error
/// whose `code` is the x402 reason.
#[wasm_bindgen(unchecked_return_type = "{ payer: string; value: string; authorization: ExactAuthorization }", js_name = verifyLedgerPayment)]
pub fn verify_ledger_payment(
    #[wasm_bindgen(unchecked_param_type = "PaymentPayload")] payment: JsValue,
    #[wasm_bindgen(unchecked_param_type = "PaymentRequirements | PaymentRequirementsV1")]
    requirements: JsValue,
    #[wasm_bindgen(unchecked_param_type = "number")] now: JsValue,
    #[wasm_bindgen(unchecked_param_type = "Record<string, string>")] secrets: JsValue,
) -> JsResult<JsValue> {
    let payment = payment_payload_from(payment)?;
    let requirements = requirements_from(requirements)?;
    let secrets: BTreeMap<String, String> = from_js(secrets, "secrets")?;
    let verified =
        ledger::verify_payment(&payment, &requirements, whole_number(&now, "now")?, |id| {
            secrets
                .get(id)
                .and_then(|hex| WalletSecret::from_hex(hex).ok())
        })
        .or_throw()?;
    to_js(&serde_json::json!({
        "payer": verified.payer,
        "value": verified.authorization.value,
        "authorization": verified.authorization,
    }))
}
