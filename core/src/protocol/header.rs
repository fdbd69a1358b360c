//! The x402 header codec: standard base64 (`+/`, `=` padding) of UTF-8 JSON, size-limited.
//!
//! Decoding checks the size before doing any work, so a hostile multi-megabyte header costs
//! nothing but a length comparison.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::protocol::facilitator::SettleResponse;
use crate::protocol::types::{
    PaymentPayload, PaymentRequired, PaymentRequiredV1, PaymentRequiredV2,
};

pub use crate::protocol::names::{
    PAYMENT_REQUIRED, PAYMENT_RESPONSE, PAYMENT_SIGNATURE, X_PAYMENT, X_PAYMENT_RESPONSE,
};

/// The default largest header accepted, in bytes of base64 text. Typical payments are under
/// 2 KiB; the margin is for extensions such as bazaar schemas.
pub const DEFAULT_HEADER_LIMIT: usize = 32 * 1024;

/// Encodes any x402 value as a header: base64 of its JSON.
pub fn encode<T: Serialize + ?Sized>(value: &T) -> String {
    // Serializing our own types cannot fail: every map key is a string.
    let json = serde_json::to_vec(value).unwrap_or_default();
    STANDARD.encode(json)
}

/// Decodes a header to its JSON bytes, checking the size limit and the base64 alphabet.
/// Surrounding ASCII whitespace, which some HTTP stacks leave in place, is ignored.
pub fn decode_bytes(text: &str, limit: usize) -> Result<Vec<u8>> {
    if text.len() > limit {
        return Err(Error::HeaderTooLarge {
            len: text.len(),
            limit,
        });
    }
    let text = text.trim_matches(|c: char| c.is_ascii_whitespace());
    if text.is_empty() {
        return Err(Error::HeaderMalformed("the header is empty".into()));
    }
    let bytes = STANDARD
        .decode(text)
        .map_err(|e| Error::HeaderMalformed(format!("not standard base64: {e}")))?;
    if std::str::from_utf8(&bytes).is_err() {
        return Err(Error::HeaderMalformed("decoded header is not UTF-8".into()));
    }
    Ok(bytes)
}

/// Decodes a header into any x402 type.
pub fn decode<T: DeserializeOwned>(text: &str, limit: usize) -> Result<T> {
    let bytes = decode_bytes(text, limit)?;
    serde_json::from_slice(&bytes).map_err(|e| Error::InvalidPayload(e.to_string()))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct VersionProbe {
    x402_version: Option<serde_json::Value>,
}

/// Reads `x402Version` without building a JSON tree, so the typed parse that follows is the
/// only allocation-heavy pass.
fn probe_version(bytes: &[u8]) -> Result<u64> {
    let probe: VersionProbe =
        serde_json::from_slice(bytes).map_err(|e| Error::InvalidPayload(e.to_string()))?;
    match probe.x402_version {
        Some(serde_json::Value::Number(n)) => n
            .as_u64()
            .ok_or_else(|| Error::InvalidPayload("x402Version is not an integer".into())),
        Some(_) => Err(Error::InvalidPayload("x402Version is not a number".into())),
        None => Err(Error::InvalidPayload("x402Version is missing".into())),
    }
}

fn typed<T: DeserializeOwned>(bytes: &[u8]) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|e| Error::InvalidPayload(e.to_string()))
}

/// Decodes `PAYMENT-SIGNATURE` (v2) or `X-PAYMENT` (v1).
pub fn decode_payment_payload(text: &str, limit: usize) -> Result<PaymentPayload> {
    let bytes = decode_bytes(text, limit)?;
    match probe_version(&bytes)? {
        1 => typed(&bytes).map(PaymentPayload::V1),
        2 => typed(&bytes).map(PaymentPayload::V2),
        other => Err(Error::InvalidX402Version(other)),
    }
}

/// Decodes `PAYMENT-REQUIRED` (v2; a v1 402 carried in a header is accepted too).
pub fn decode_payment_required(text: &str, limit: usize) -> Result<PaymentRequired> {
    let bytes = decode_bytes(text, limit)?;
    payment_required_from_json(&bytes)
}

/// Reads a 402 from JSON bytes: a v1 body, or a v2 `PAYMENT-REQUIRED` after base64.
pub fn payment_required_from_json(bytes: &[u8]) -> Result<PaymentRequired> {
    match probe_version(bytes)? {
        1 => typed::<PaymentRequiredV1>(bytes).map(PaymentRequired::V1),
        2 => typed::<PaymentRequiredV2>(bytes).map(PaymentRequired::V2),
        other => Err(Error::InvalidX402Version(other)),
    }
}

/// Decodes `PAYMENT-RESPONSE` (v2) or `X-PAYMENT-RESPONSE` (v1).
pub fn decode_settle_response(text: &str, limit: usize) -> Result<SettleResponse> {
    decode(text, limit)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::code;
    use serde_json::json;

    /// The v1 `X-PAYMENT` example of the x402 specification, as JSON text.
    const SPEC_V1_PAYMENT: &str = r#"{"x402Version":1,"scheme":"exact","network":"base-sepolia","payload":{"signature":"0x2d6a7588d6acca505cbf0d9a4a227e0c52c6c34008c8e8986a1283259764173608a2ce6496642e377d6da8dbbf5836e9bd15092f9ecab05ded3d6293af148b571c","authorization":{"from":"0x857b06519E91e3A54538791bDbb0E22373e36b66","to":"0x209693Bc6afc0C5328bA36FaF03C514EF312287C","value":"10000","validAfter":"1740672089","validBefore":"1740672154","nonce":"0xf3746613c2d920b5fdabc0856f2aeb2d4f88ee6037b8cc5d04a71a4462f13480"}}}"#;

    #[test]
    fn decodes_the_specifications_v1_example() {
        let header = STANDARD.encode(SPEC_V1_PAYMENT);
        let payment = decode_payment_payload(&header, DEFAULT_HEADER_LIMIT).unwrap();
        assert_eq!(
            encode(&payment),
            header,
            "re-encoding reproduces the header byte for byte"
        );
        assert_eq!(payment.version(), 1);
        assert_eq!(payment.network(), "base-sepolia");
        assert_eq!(payment.payload()["authorization"]["value"], "10000");
    }

    #[test]
    fn encode_then_decode_is_identity() {
        let settle = SettleResponse {
            success: true,
            error_reason: None,
            error_message: None,
            payer: Some("0x857b06519E91e3A54538791bDbb0E22373e36b66".into()),
            transaction: "0x12".into(),
            network: "eip155:84532".into(),
            amount: None,
            extensions: None,
        };
        let header = encode(&settle);
        assert!(header
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+/=".contains(&b)));
        assert_eq!(
            decode_settle_response(&header, DEFAULT_HEADER_LIMIT).unwrap(),
            settle
        );
    }

    #[test]
    fn limits_and_alphabet_are_enforced() {
        let big = "A".repeat(DEFAULT_HEADER_LIMIT + 1);
        assert_eq!(
            decode_payment_payload(&big, DEFAULT_HEADER_LIMIT)
                .unwrap_err()
                .code(),
            code::error::HeaderTooLarge
        );
        let url_safe = encode(&json!({"x402Version": 2, "k": "??>>"})).replace('/', "_");
        assert_eq!(
            decode_bytes(&url_safe, 1024).unwrap_err().code(),
            code::error::HeaderMalformed
        );
        assert_eq!(
            decode_bytes("", 1024).unwrap_err().code(),
            code::error::HeaderMalformed
        );
        assert_eq!(
            decode_bytes("/w==", 1024).unwrap_err().code(),
            code::error::HeaderMalformed
        );
        let not_json = STANDARD.encode("hello");
        assert_eq!(
            decode_payment_payload(&not_json, 1024).unwrap_err().code(),
            code::reason::InvalidPayload
        );
        let v3 = encode(&json!({"x402Version": 3}));
        assert_eq!(
            decode_payment_payload(&v3, 1024).unwrap_err().code(),
            code::reason::InvalidX402Version
        );
    }
}
