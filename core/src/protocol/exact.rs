//! The payload of the `exact` scheme — EIP-3009's authorization fields and a signature —
//! shared by the EVM scheme and the Paywire ledger scheme.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::Reason;
use crate::error::{Error, Result};
use crate::money::Amount;
use crate::protocol::types::{u64_string, AnyRequirements, JsonObject, PaymentPayload};

/// The payload of the `exact` scheme, on EVM and on Paywire ledgers alike.
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExactPayload {
    /// `0x`-hex signature (EVM: 65-byte r‖s‖v; ledger: 32-byte HMAC).
    pub signature: String,
    /// The signed transfer authorization.
    pub authorization: ExactAuthorization,
}

/// EIP-3009's `TransferWithAuthorization` fields, as x402 carries them.
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExactAuthorization {
    /// The payer (EVM address or ledger wallet id).
    pub from: String,
    /// The recipient (`payTo`).
    pub to: String,
    /// Atomic units. A decimal string; a JSON number is refused.
    #[serde(deserialize_with = "crate::money::atomic_text")]
    pub value: Amount,
    /// Unix seconds; the authorization is not valid before this.
    #[serde(with = "u64_string")]
    #[cfg_attr(feature = "schemars", schemars(with = "String"))]
    pub valid_after: u64,
    /// Unix seconds; the authorization is not valid from this on.
    #[serde(with = "u64_string")]
    #[cfg_attr(feature = "schemars", schemars(with = "String"))]
    pub valid_before: u64,
    /// `0x` + 64 hex digits: a one-time nonce chosen by the payer.
    pub nonce: String,
}

/// Seconds an authorization must still be valid for when it is verified: the official EVM
/// facilitators' grace, kept for the ledger scheme too.
pub const VALID_BEFORE_GRACE_SECONDS: u64 = 6;

/// The first checks of every `exact` scheme, in the official facilitators' order: payment and
/// requirements of the same x402 version, and both naming the `exact` scheme.
pub fn check_exact_scheme(payment: &PaymentPayload, requirements: &AnyRequirements) -> Result<()> {
    if payment.version() != requirements.version() {
        return Err(Error::payment_invalid(
            Reason::InvalidX402Version,
            "payment and requirements have different x402 versions",
        ));
    }
    if payment.scheme() != "exact" || requirements.scheme() != "exact" {
        return Err(Error::payment_invalid(
            Reason::InvalidExactEvmScheme,
            "this scheme is `exact`",
        ));
    }
    Ok(())
}

/// Refuses a zero amount, which is not a payment: a zero-value authorization costs the payer
/// nothing and would buy whatever the requirements sell. Every `exact` scheme calls this
/// before it signs and when it verifies.
pub fn check_not_zero(amount: Amount) -> Result<()> {
    if amount.is_zero() {
        return Err(Error::payment_invalid(
            Reason::InvalidExactEvmPayloadAuthorizationValue,
            "a payment of zero is not a payment",
        ));
    }
    Ok(())
}

/// The checks of EIP-3009's terms that every `exact` scheme shares, in the official
/// facilitators' order: `validBefore ≥ now + 6`, `validAfter ≤ now`, and a value equal to the
/// required amount (exact, also for v1, as the v2 SDKs check it) — and then not zero.
pub fn check_terms(
    valid_after: u64,
    valid_before: u64,
    value: Amount,
    required: Amount,
    now: u64,
) -> Result<()> {
    if valid_before < now.saturating_add(VALID_BEFORE_GRACE_SECONDS) {
        return Err(Error::payment_invalid(
            Reason::InvalidExactEvmPayloadAuthorizationValidBefore,
            format!("validBefore {valid_before} is less than {VALID_BEFORE_GRACE_SECONDS} s after now ({now})"),
        ));
    }
    if valid_after > now {
        return Err(Error::payment_invalid(
            Reason::InvalidExactEvmPayloadAuthorizationValidAfter,
            format!("validAfter {valid_after} is after now ({now})"),
        ));
    }
    if value != required {
        return Err(Error::payment_invalid(
            Reason::InvalidExactEvmPayloadAuthorizationValueMismatch,
            format!("authorization.value {value} is not the required amount {required}"),
        ));
    }
    check_not_zero(value)
}

/// Parses a `0x` + 64-hex-digit nonce, or [`Error::InvalidPayload`].
pub fn parse_nonce(text: &str) -> Result<[u8; 32]> {
    let invalid = || Error::InvalidPayload("nonce must be 0x followed by 64 hex digits".into());
    let digits = text.strip_prefix("0x").ok_or_else(invalid)?;
    let mut nonce = [0u8; 32];
    hex::decode_to_slice(digits, &mut nonce).map_err(|_| invalid())?;
    Ok(nonce)
}

/// Formats a nonce as `0x` + 64 lowercase hex digits.
pub fn format_nonce(nonce: &[u8; 32]) -> String {
    format!("0x{}", hex::encode(nonce))
}

impl ExactPayload {
    /// Reads an `exact` payload out of a payment's scheme payload, or
    /// [`Error::InvalidPayload`].
    pub fn from_object(payload: &JsonObject) -> Result<Self> {
        let mut object = payload.clone();
        // Unknown keys are tolerated (clients may add some), but the two we need must be exact.
        object.retain(|key, _| key == "signature" || key == "authorization");
        serde_json::from_value(Value::Object(object))
            .map_err(|e| Error::InvalidPayload(format!("exact payload: {e}")))
    }

    /// This payload as the JSON object a [`PaymentPayload`] carries.
    pub fn to_object(&self) -> JsonObject {
        match serde_json::to_value(self) {
            Ok(Value::Object(object)) => object,
            // A struct of strings always serializes to an object.
            _ => JsonObject::new(),
        }
    }
}

/// Who signs a payment.
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum PayerKind {
    /// An EVM key: EIP-3009 authorizations on `eip155:*` networks (or their v1 names).
    Evm,
    /// A Paywire ledger wallet on `paywire:*` networks.
    Ledger,
}

/// Whether a payer of `kind` can sign for `requirements`: the `exact` scheme on an EVM network
/// for a key, on a ledger network for a wallet.
pub fn payable_by(requirements: &AnyRequirements, kind: PayerKind) -> bool {
    requirements.scheme() == "exact"
        && match kind {
            PayerKind::Evm => crate::network::evm_chain_id(requirements.network()).is_ok(),
            PayerKind::Ledger => crate::network::is_ledger_network(requirements.network()),
        }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::code;
    use serde_json::json;

    #[test]
    fn exact_authorization_reads_string_timestamps() {
        let payload = json!({"signature":"0x00","authorization":{"from":"a","to":"b","value":"5",
            "validAfter":"0","validBefore":"1740672154","nonce":"0x01"}, "extraKey": true});
        let exact = ExactPayload::from_object(payload.as_object().unwrap()).unwrap();
        assert_eq!(exact.authorization.valid_before, 1_740_672_154);
        let out = Value::Object(exact.to_object());
        assert_eq!(out["authorization"]["validBefore"], "1740672154");
        let bad = json!({"signature":"0x00","authorization":{"from":"a","to":"b","value":"5",
            "validAfter":"-1","validBefore":"1","nonce":"0x01"}});
        assert_eq!(
            ExactPayload::from_object(bad.as_object().unwrap())
                .unwrap_err()
                .code(),
            code::reason::InvalidPayload
        );
    }
}
