//! The facilitator HTTP API's bodies: `POST /verify` and `POST /settle` requests and answers,
//! and `GET /supported` — always HTTP 200 with `isValid` / `success` and a reason code.

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use crate::error::Reason;
use crate::money::Amount;
use crate::protocol::types::{AnyRequirements, JsonObject, PaymentPayload};

/// The body of `POST /verify` and `POST /settle`:
/// `{"x402Version", "paymentPayload", "paymentRequirements"}`.
#[derive(Debug, Clone, PartialEq)]
pub struct FacilitatorRequest {
    /// The payment.
    pub payment_payload: PaymentPayload,
    /// The one requirement the resource server matched it to; same version as the payload.
    pub payment_requirements: AnyRequirements,
}

impl FacilitatorRequest {
    /// The protocol version of both parts.
    pub fn version(&self) -> u8 {
        self.payment_payload.version()
    }
}

impl Serialize for FacilitatorRequest {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Wire<'a> {
            x402_version: u8,
            payment_payload: &'a PaymentPayload,
            payment_requirements: &'a AnyRequirements,
        }
        Wire {
            x402_version: self.version(),
            payment_payload: &self.payment_payload,
            payment_requirements: &self.payment_requirements,
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for FacilitatorRequest {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Wire {
            #[serde(default)]
            x402_version: Option<u64>,
            payment_payload: Value,
            payment_requirements: Value,
        }
        let wire = Wire::deserialize(deserializer)?;
        // The TypeScript client always sends the top-level version; fall back to the payload's.
        let version = wire
            .x402_version
            .or_else(|| {
                wire.payment_payload
                    .get("x402Version")
                    .and_then(Value::as_u64)
            })
            .ok_or_else(|| D::Error::missing_field("x402Version"))?;
        let part = |what: &str, e: serde_json::Error| D::Error::custom(format_args!("{what}: {e}"));
        match version {
            1 => Ok(FacilitatorRequest {
                payment_payload: PaymentPayload::V1(
                    serde_json::from_value(wire.payment_payload)
                        .map_err(|e| part("paymentPayload", e))?,
                ),
                payment_requirements: AnyRequirements::V1(
                    serde_json::from_value(wire.payment_requirements)
                        .map_err(|e| part("paymentRequirements", e))?,
                ),
            }),
            2 => Ok(FacilitatorRequest {
                payment_payload: PaymentPayload::V2(
                    serde_json::from_value(wire.payment_payload)
                        .map_err(|e| part("paymentPayload", e))?,
                ),
                payment_requirements: AnyRequirements::V2(
                    serde_json::from_value(wire.payment_requirements)
                        .map_err(|e| part("paymentRequirements", e))?,
                ),
            }),
            other => Err(D::Error::custom(format_args!(
                "unsupported x402Version {other}"
            ))),
        }
    }
}

/// The answer to `POST /verify` (always HTTP 200).
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VerifyResponse {
    /// Whether the payment verifies.
    pub is_valid: bool,
    /// Why not, as an x402 reason code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invalid_reason: Option<Reason>,
    /// A human explanation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invalid_message: Option<String>,
    /// Who pays.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payer: Option<String>,
    /// Extension responses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extensions: Option<JsonObject>,
}

impl VerifyResponse {
    /// A valid verification for `payer`.
    pub fn valid(payer: impl Into<String>) -> Self {
        VerifyResponse {
            is_valid: true,
            invalid_reason: None,
            invalid_message: None,
            payer: Some(payer.into()),
            extensions: None,
        }
    }

    /// An invalid verification with its reason and message.
    pub fn invalid(reason: Reason, message: impl Into<String>, payer: Option<String>) -> Self {
        VerifyResponse {
            is_valid: false,
            invalid_reason: Some(reason),
            invalid_message: Some(message.into()),
            payer,
            extensions: None,
        }
    }
}

/// The answer to `POST /settle` (always HTTP 200), also the decoded `PAYMENT-RESPONSE`.
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SettleResponse {
    /// Whether the payment settled.
    pub success: bool,
    /// Why not, as an x402 reason code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_reason: Option<Reason>,
    /// A human explanation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    /// Who paid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payer: Option<String>,
    /// The transaction hash or ledger payment id (`""` when none).
    #[serde(default)]
    pub transaction: String,
    /// The network it settled on.
    pub network: String,
    /// The amount actually charged, when it may differ from the requirement (`upto`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<Amount>,
    /// Extension responses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extensions: Option<JsonObject>,
}

impl SettleResponse {
    /// The answer as a v1 message carries it: the network by its v1 name when it has one
    /// (x402 1.x's settle-response schema names networks only that way).
    pub fn into_v1_form(mut self) -> SettleResponse {
        self.network = crate::network::v1_form(&self.network).to_string();
        self
    }
}

/// One scheme/network pair a facilitator supports.
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SupportedKind {
    /// The protocol version (1 or 2).
    pub x402_version: u8,
    /// The scheme.
    pub scheme: String,
    /// The network, CAIP-2 for v2 and a v1 name for v1.
    pub network: String,
    /// Scheme data clients need (e.g. a Solana fee payer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extra: Option<JsonObject>,
}

/// The answer to `GET /supported`.
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SupportedResponse {
    /// Every supported kind; list each concrete network (the TS SDK matches exactly).
    pub kinds: Vec<SupportedKind>,
    /// Extension names supported (missing in v1 answers).
    #[serde(default)]
    pub extensions: Vec<String>,
    /// Signer addresses per CAIP-2 family (`eip155:*`), missing in v1 answers.
    #[serde(default)]
    pub signers: std::collections::BTreeMap<String, Vec<String>>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn facilitator_request_dispatches_on_version() {
        let body = json!({"x402Version":1,
          "paymentPayload":{"x402Version":1,"scheme":"exact","network":"base-sepolia","payload":{"signature":"0x","authorization":{}}},
          "paymentRequirements":{"scheme":"exact","network":"base-sepolia","maxAmountRequired":"10000","resource":"https://x","payTo":"0xabc","maxTimeoutSeconds":60,"asset":"0xdef"}});
        let request: FacilitatorRequest = serde_json::from_value(body).unwrap();
        assert_eq!(request.version(), 1);
        assert_eq!(request.payment_requirements.amount(), Amount::new(10000));
        let again = serde_json::to_value(&request).unwrap();
        assert_eq!(again["x402Version"], 1);
        let bad =
            json!({"x402Version":2,"paymentPayload":{"x402Version":1},"paymentRequirements":{}});
        assert!(serde_json::from_value::<FacilitatorRequest>(bad).is_err());
    }

    #[test]
    fn supported_defaults_missing_v1_fields() {
        let supported: SupportedResponse = serde_json::from_value(
            json!({"kinds":[{"x402Version":1,"scheme":"exact","network":"base"}]}),
        )
        .unwrap();
        assert!(supported.extensions.is_empty());
        assert!(supported.signers.is_empty());
    }
}
