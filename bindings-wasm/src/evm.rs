//! The `exact` scheme on EVM networks: EIP-3009 `TransferWithAuthorization` signed with
//! EIP-712, as Coinbase's x402 SDKs produce and verify it.

use paywire_core::protocol::evm::{
    self, Address, Eip712Domain, PrivateKey, TransferWithAuthorization,
};
use paywire_core::protocol::{parse_nonce, AnyRequirements, ExactAuthorization, ExactPayload};
use serde::Deserialize;
use wasm_bindgen::prelude::*;

use crate::convert::{bytes_arg, from_js, nonce32, small_number, string_arg, to_js, whole_number};
use crate::error::{JsResult, OrThrow};
use crate::protocol::{payment_payload_from, payment_required_from, requirements_from};

/// Verifies an EVM `exact` payment against the requirements it was matched to, at `now`
/// (signature recovery, recipient, time window, value — the official facilitators' checks
/// and order): `{payer, value, authorization}`, or a thrown error whose `code` is the x402
/// reason (`invalid_exact_evm_signature`, ...). Balance and nonce state are the settler's.
///
/// ```js
/// verifyEvmPayment(payment, requirements, Math.floor(Date.now() / 1000)).payer
/// ```
#[wasm_bindgen(unchecked_return_type = "{ payer: string; value: string; signature: string }", js_name = verifyEvmPayment)]
pub fn verify_evm_payment(
    #[wasm_bindgen(unchecked_param_type = "PaymentPayload")] payment: JsValue,
    #[wasm_bindgen(unchecked_param_type = "PaymentRequirements | PaymentRequirementsV1")]
    requirements: JsValue,
    #[wasm_bindgen(unchecked_param_type = "number")] now: JsValue,
) -> JsResult<JsValue> {
    let payment = payment_payload_from(payment)?;
    let requirements = requirements_from(requirements)?;
    let verified =
        evm::verify_payment(&payment, &requirements, whole_number(&now, "now")?).or_throw()?;
    to_js(&serde_json::json!({
        "payer": verified.payer.to_checksum(),
        "value": verified.authorization.value,
        "signature": verified.signature.to_hex(),
    }))
}

/// Signs a payment for `accepts[index]` of a 402 with an EVM private key (`0x` + 64 hex),
/// a fresh 32-byte `nonce` and `now` (validAfter/validBefore chosen as the official clients
/// choose them): the complete `PaymentPayload`.
///
/// ```js
/// signEvmPayment(required, 0, privateKey, crypto.getRandomValues(new Uint8Array(32)), now)
/// ```
#[wasm_bindgen(unchecked_return_type = "PaymentPayload", js_name = signEvmPayment)]
pub fn sign_evm_payment(
    #[wasm_bindgen(unchecked_param_type = "PaymentRequired")] payment_required: JsValue,
    #[wasm_bindgen(unchecked_param_type = "number")] index: JsValue,
    #[wasm_bindgen(unchecked_param_type = "string")] private_key: JsValue,
    #[wasm_bindgen(unchecked_param_type = "Uint8Array")] nonce: JsValue,
    #[wasm_bindgen(unchecked_param_type = "number")] now: JsValue,
) -> JsResult<JsValue> {
    let required = payment_required_from(payment_required)?;
    let index = small_number(&index, "index", u64::from(u32::MAX))? as usize;
    let requirements = required.requirements(index).or_throw()?;
    let exact = sign(&requirements, &private_key, &nonce, &now)?;
    to_js(&required.payment(index, exact.to_object()).or_throw()?)
}

/// Signs only the scheme's payload (`{signature, authorization}`) for one requirement.
#[wasm_bindgen(unchecked_return_type = "ExactPayload", js_name = signEvmAuthorization)]
pub fn sign_evm_authorization(
    #[wasm_bindgen(unchecked_param_type = "PaymentRequirements | PaymentRequirementsV1")]
    requirements: JsValue,
    #[wasm_bindgen(unchecked_param_type = "string")] private_key: JsValue,
    #[wasm_bindgen(unchecked_param_type = "Uint8Array")] nonce: JsValue,
    #[wasm_bindgen(unchecked_param_type = "number")] now: JsValue,
) -> JsResult<JsValue> {
    let requirements = requirements_from(requirements)?;
    to_js(&sign(&requirements, &private_key, &nonce, &now)?)
}

/// The scheme payload for one requirement, from the JavaScript arguments of either export.
fn sign(
    requirements: &AnyRequirements,
    private_key: &JsValue,
    nonce: &JsValue,
    now: &JsValue,
) -> JsResult<ExactPayload> {
    let key = PrivateKey::from_hex(&string_arg(private_key, "privateKey")?).or_throw()?;
    let nonce = nonce32(&bytes_arg(nonce, "nonce")?)?;
    evm::sign_payment(requirements, &key, &nonce, whole_number(now, "now")?).or_throw()
}

/// The EIP-55 address of a private key.
#[wasm_bindgen(js_name = evmAddress)]
pub fn evm_address(
    #[wasm_bindgen(unchecked_param_type = "string")] private_key: JsValue,
) -> JsResult<String> {
    let private_key = &string_arg(&private_key, "private_key")?;
    Ok(PrivateKey::from_hex(private_key)
        .or_throw()?
        .address()
        .to_checksum())
}

/// An address in EIP-55 form; a mixed-case address with a wrong checksum throws
/// `evm_address_checksum_invalid`.
#[wasm_bindgen(js_name = checksumAddress)]
pub fn checksum_address(
    #[wasm_bindgen(unchecked_param_type = "string")] address: JsValue,
) -> JsResult<String> {
    let address = &string_arg(&address, "address")?;
    Ok(Address::parse(address).or_throw()?.to_checksum())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Domain {
    name: String,
    version: String,
    chain_id: u64,
    verifying_contract: Address,
}

/// The EIP-712 hashes of a transfer authorization (`domain`: `{name, version, chainId,
/// verifyingContract}`, `message`: the authorization as x402 carries it):
/// `{domainSeparator, structHash, digest}`, each `0x` + 64 hex.
#[wasm_bindgen(unchecked_return_type = "{ domainSeparator: string; structHash: string; digest: string }", js_name = eip712Hashes)]
pub fn eip712_hashes(
    #[wasm_bindgen(
        unchecked_param_type = "{ name: string; version: string; chainId: number; verifyingContract: string }"
    )]
    domain: JsValue,
    #[wasm_bindgen(unchecked_param_type = "ExactAuthorization")] message: JsValue,
) -> JsResult<JsValue> {
    let domain: Domain = from_js(domain, "domain")?;
    let domain = Eip712Domain::new(
        &domain.name,
        &domain.version,
        domain.chain_id,
        domain.verifying_contract,
    );
    let message: ExactAuthorization = from_js(message, "message")?;
    let transfer = TransferWithAuthorization {
        from: Address::parse(&message.from).or_throw()?,
        to: Address::parse(&message.to).or_throw()?,
        value: message.value,
        valid_after: message.valid_after,
        valid_before: message.valid_before,
        nonce: parse_nonce(&message.nonce).or_throw()?,
    };
    let hex = |bytes: &[u8; 32]| format!("0x{}", hex::encode(bytes));
    to_js(&serde_json::json!({
        "domainSeparator": hex(domain.separator()),
        "structHash": hex(&transfer.struct_hash()),
        "digest": hex(&domain.signing_digest(&transfer)),
    }))
}
