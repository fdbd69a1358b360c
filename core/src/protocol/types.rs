//! x402 wire types, v1 and v2, with the exact field names Coinbase's SDKs use.
//!
//! Content Paywire does not interpret is preserved: `extra` and `extensions` are kept as JSON
//! maps, and fields added by newer SDKs to requirements and resources survive a decode/encode
//! round trip (a client must echo `accepted` unchanged for v2 matching to succeed).

use std::fmt;

use serde::de::{DeserializeOwned, Error as _};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::money::Amount;

/// A JSON object: the type of `extra`, `extensions` and scheme payloads.
pub type JsonObject = Map<String, Value>;

/// The `x402Version` field of a type that exists in exactly one protocol version: serializes
/// as the number `N` and refuses any other number when deserializing.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Version<const N: u8>;

impl<const N: u8> fmt::Debug for Version<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{N}")
    }
}

impl<const N: u8> Serialize for Version<N> {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.serialize_u8(N)
    }
}

impl<'de, const N: u8> Deserialize<'de> for Version<N> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let found = u64::deserialize(deserializer)?;
        if found == u64::from(N) {
            Ok(Version)
        } else {
            Err(D::Error::custom(format_args!(
                "x402Version {found}, expected {N}"
            )))
        }
    }
}

/// Serde helper: a `u64` carried as a decimal string (`"1740672154"`), as x402 carries
/// timestamps. Also accepts a JSON integer.
pub mod u64_string {
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes the number as a decimal string.
    pub fn serialize<S: Serializer>(value: &u64, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(value)
    }

    /// Reads a decimal string of digits only, or a JSON integer.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Either<'a> {
            Number(u64),
            Text(std::borrow::Cow<'a, str>),
        }
        match Either::deserialize(deserializer)? {
            Either::Number(n) => Ok(n),
            Either::Text(text) => {
                if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(serde::de::Error::custom(
                        "expected a decimal integer string",
                    ));
                }
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    }
}

/// The protected resource, described once per 402 in v2.
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceInfo {
    /// The resource URL.
    pub url: String,
    /// What the resource is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Its media type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mime_type: Option<String>,
    /// Fields added by newer SDKs (`serviceName`, `tags`, `iconUrl`, ...), kept verbatim.
    #[serde(flatten)]
    pub other: JsonObject,
}

impl ResourceInfo {
    /// A resource with only a URL.
    pub fn new(url: impl Into<String>) -> Self {
        ResourceInfo {
            url: url.into(),
            description: None,
            mime_type: None,
            other: JsonObject::new(),
        }
    }
}

/// One way to pay (v2): scheme, network, amount in atomic units, asset, recipient.
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentRequirements {
    /// The payment scheme, e.g. `exact`.
    pub scheme: String,
    /// The CAIP-2 network, e.g. `eip155:84532` or `paywire:main`.
    pub network: String,
    /// The amount in the asset's atomic units. A decimal string; a JSON number is refused.
    #[serde(deserialize_with = "crate::money::atomic_text")]
    pub amount: Amount,
    /// The asset: a token address or a ledger asset code.
    pub asset: String,
    /// Who is paid.
    pub pay_to: String,
    /// How long the payment may take to complete.
    pub max_timeout_seconds: u64,
    /// Scheme-specific data, e.g. the EIP-712 `name` and `version` of the token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extra: Option<JsonObject>,
    /// Fields this version does not know, kept so that `accepted` echoes unchanged.
    #[serde(flatten)]
    pub other: JsonObject,
}

/// One way to pay (v1), with the resource inline and `maxAmountRequired`.
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentRequirementsV1 {
    /// The payment scheme, e.g. `exact`.
    pub scheme: String,
    /// The v1 network name, e.g. `base-sepolia`.
    pub network: String,
    /// The amount in the asset's atomic units. A decimal string; a JSON number is refused.
    #[serde(deserialize_with = "crate::money::atomic_text")]
    pub max_amount_required: Amount,
    /// The resource URL.
    pub resource: String,
    /// What the resource is.
    #[serde(default)]
    pub description: String,
    /// Its media type.
    #[serde(default)]
    pub mime_type: String,
    /// The response schema; absent when there is none (the legacy v1 client refuses `null`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_schema: Option<Value>,
    /// Who is paid.
    pub pay_to: String,
    /// How long the payment may take to complete.
    pub max_timeout_seconds: u64,
    /// The asset's address.
    pub asset: String,
    /// Scheme-specific data, e.g. the EIP-712 `name` and `version`; absent when there is none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extra: Option<JsonObject>,
    /// Unknown fields, kept verbatim.
    #[serde(flatten)]
    pub other: JsonObject,
}

/// The body of a v2 402, carried base64-encoded in `PAYMENT-REQUIRED`.
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentRequiredV2 {
    /// Always 2.
    pub x402_version: Version<2>,
    /// Why payment is required (or why the last attempt failed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The protected resource.
    pub resource: ResourceInfo,
    /// The accepted ways to pay.
    pub accepts: Vec<PaymentRequirements>,
    /// Extensions offered by the server (`bazaar`, `payment-identifier`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extensions: Option<JsonObject>,
}

/// The JSON body of a v1 402.
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentRequiredV1 {
    /// Always 1.
    pub x402_version: Version<1>,
    /// Why payment is required.
    #[serde(default)]
    pub error: String,
    /// The accepted ways to pay.
    pub accepts: Vec<PaymentRequirementsV1>,
}

/// A 402 in either version.
// Parsed once per request and matched on by users; boxing the larger variant would only
// make every match noisier.
#[allow(clippy::large_enum_variant)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum PaymentRequired {
    /// Version 1 (JSON body).
    V1(PaymentRequiredV1),
    /// Version 2 (`PAYMENT-REQUIRED` header).
    V2(PaymentRequiredV2),
}

/// A signed payment (v2), carried base64-encoded in `PAYMENT-SIGNATURE`.
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentPayloadV2 {
    /// Always 2.
    pub x402_version: Version<2>,
    /// The resource being paid for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<ResourceInfo>,
    /// The chosen requirements, copied unchanged from `accepts`.
    pub accepted: PaymentRequirements,
    /// The scheme-specific payload (for `exact`: `signature` and `authorization`).
    pub payload: JsonObject,
    /// Extensions echoed (and possibly added to) by the client.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extensions: Option<JsonObject>,
}

/// A signed payment (v1), carried base64-encoded in `X-PAYMENT`.
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentPayloadV1 {
    /// Always 1.
    pub x402_version: Version<1>,
    /// The payment scheme.
    pub scheme: String,
    /// The v1 network name.
    pub network: String,
    /// The scheme-specific payload.
    pub payload: JsonObject,
}

/// A payment in either version.
// Parsed once per request and matched on by users; boxing the larger variant would only
// make every match noisier.
#[allow(clippy::large_enum_variant)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum PaymentPayload {
    /// Version 1 (`X-PAYMENT`).
    V1(PaymentPayloadV1),
    /// Version 2 (`PAYMENT-SIGNATURE`).
    V2(PaymentPayloadV2),
}

impl PaymentPayload {
    /// The protocol version, 1 or 2.
    pub fn version(&self) -> u8 {
        match self {
            PaymentPayload::V1(_) => 1,
            PaymentPayload::V2(_) => 2,
        }
    }

    /// The request header this payment travels in: `PAYMENT-SIGNATURE` (v2) or `X-PAYMENT` (v1).
    pub fn header_name(&self) -> &'static str {
        match self {
            PaymentPayload::V1(_) => crate::protocol::names::X_PAYMENT,
            PaymentPayload::V2(_) => crate::protocol::names::PAYMENT_SIGNATURE,
        }
    }

    /// The scheme-specific payload.
    pub fn payload(&self) -> &JsonObject {
        match self {
            PaymentPayload::V1(p) => &p.payload,
            PaymentPayload::V2(p) => &p.payload,
        }
    }

    /// The scheme the payment uses.
    pub fn scheme(&self) -> &str {
        match self {
            PaymentPayload::V1(p) => &p.scheme,
            PaymentPayload::V2(p) => &p.accepted.scheme,
        }
    }

    /// The network the payment is on, as the payload names it.
    pub fn network(&self) -> &str {
        match self {
            PaymentPayload::V1(p) => &p.network,
            PaymentPayload::V2(p) => &p.accepted.network,
        }
    }
}

/// Requirements in either version, as a facilitator receives them.
// Parsed once per request and matched on by users; boxing the larger variant would only
// make every match noisier.
#[allow(clippy::large_enum_variant)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum AnyRequirements {
    /// Version 1.
    V1(PaymentRequirementsV1),
    /// Version 2.
    V2(PaymentRequirements),
}

impl AnyRequirements {
    /// The protocol version, 1 or 2.
    pub fn version(&self) -> u8 {
        match self {
            AnyRequirements::V1(_) => 1,
            AnyRequirements::V2(_) => 2,
        }
    }

    /// The required scheme.
    pub fn scheme(&self) -> &str {
        match self {
            AnyRequirements::V1(r) => &r.scheme,
            AnyRequirements::V2(r) => &r.scheme,
        }
    }

    /// The required network.
    pub fn network(&self) -> &str {
        match self {
            AnyRequirements::V1(r) => &r.network,
            AnyRequirements::V2(r) => &r.network,
        }
    }

    /// The required amount (v1: `maxAmountRequired`).
    pub fn amount(&self) -> Amount {
        match self {
            AnyRequirements::V1(r) => r.max_amount_required,
            AnyRequirements::V2(r) => r.amount,
        }
    }

    /// The recipient.
    pub fn pay_to(&self) -> &str {
        match self {
            AnyRequirements::V1(r) => &r.pay_to,
            AnyRequirements::V2(r) => &r.pay_to,
        }
    }

    /// The asset.
    pub fn asset(&self) -> &str {
        match self {
            AnyRequirements::V1(r) => &r.asset,
            AnyRequirements::V2(r) => &r.asset,
        }
    }

    /// The `extra` object, if any.
    pub fn extra(&self) -> Option<&JsonObject> {
        match self {
            AnyRequirements::V1(r) => r.extra.as_ref(),
            AnyRequirements::V2(r) => r.extra.as_ref(),
        }
    }

    /// The timeout in seconds.
    pub fn max_timeout_seconds(&self) -> u64 {
        match self {
            AnyRequirements::V1(r) => r.max_timeout_seconds,
            AnyRequirements::V2(r) => r.max_timeout_seconds,
        }
    }
}

fn version_of(value: &Value) -> Result<u64> {
    match value.get("x402Version") {
        Some(Value::Number(n)) => n
            .as_u64()
            .ok_or_else(|| Error::InvalidPayload("x402Version is not an integer".into())),
        Some(_) => Err(Error::InvalidPayload("x402Version is not a number".into())),
        None => Err(Error::InvalidPayload("x402Version is missing".into())),
    }
}

fn from_value<T: DeserializeOwned>(value: Value) -> Result<T> {
    serde_json::from_value(value).map_err(|e| Error::InvalidPayload(e.to_string()))
}

impl AnyRequirements {
    /// Reads requirements of either version from parsed JSON: version 1 is told by its
    /// `maxAmountRequired` (version 2 calls the field `amount`).
    pub fn from_json_value(value: Value) -> Result<Self> {
        if value.get("maxAmountRequired").is_some() {
            from_value(value).map(AnyRequirements::V1)
        } else {
            from_value(value).map(AnyRequirements::V2)
        }
    }
}

impl<'de> Deserialize<'de> for AnyRequirements {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        AnyRequirements::from_json_value(value).map_err(D::Error::custom)
    }
}

impl<'de> Deserialize<'de> for PaymentRequired {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        PaymentRequired::from_json_value(value).map_err(D::Error::custom)
    }
}

impl PaymentRequired {
    /// Reads a 402 of either version from parsed JSON.
    pub fn from_json_value(value: Value) -> Result<Self> {
        match version_of(&value)? {
            1 => from_value(value).map(PaymentRequired::V1),
            2 => from_value(value).map(PaymentRequired::V2),
            other => Err(Error::InvalidX402Version(other)),
        }
    }

    /// The protocol version, 1 or 2.
    pub fn version(&self) -> u8 {
        match self {
            PaymentRequired::V1(_) => 1,
            PaymentRequired::V2(_) => 2,
        }
    }

    /// How many ways to pay it offers.
    pub fn len(&self) -> usize {
        match self {
            PaymentRequired::V1(r) => r.accepts.len(),
            PaymentRequired::V2(r) => r.accepts.len(),
        }
    }

    /// Whether it offers no way to pay at all.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The requirements of `accepts[index]`, or [`Error::PaymentRequirementsMismatch`] when
    /// there is no such option.
    pub fn requirements(&self, index: usize) -> Result<AnyRequirements> {
        let missing = || Error::PaymentRequirementsMismatch;
        match self {
            PaymentRequired::V1(r) => r
                .accepts
                .get(index)
                .cloned()
                .map(AnyRequirements::V1)
                .ok_or_else(missing),
            PaymentRequired::V2(r) => r
                .accepts
                .get(index)
                .cloned()
                .map(AnyRequirements::V2)
                .ok_or_else(missing),
        }
    }

    /// The payment for `accepts[index]` carrying a scheme's signed `payload`: v2 echoes the
    /// option as `accepted` unchanged, with the resource and the server's extensions; v1 names
    /// the scheme and network.
    pub fn payment(&self, index: usize, payload: JsonObject) -> Result<PaymentPayload> {
        match self {
            PaymentRequired::V1(r) => {
                let option = r
                    .accepts
                    .get(index)
                    .ok_or(Error::PaymentRequirementsMismatch)?;
                Ok(PaymentPayload::V1(PaymentPayloadV1 {
                    x402_version: Version,
                    scheme: option.scheme.clone(),
                    network: option.network.clone(),
                    payload,
                }))
            }
            PaymentRequired::V2(r) => {
                let option = r
                    .accepts
                    .get(index)
                    .ok_or(Error::PaymentRequirementsMismatch)?;
                Ok(PaymentPayload::V2(PaymentPayloadV2 {
                    x402_version: Version,
                    resource: Some(r.resource.clone()),
                    accepted: option.clone(),
                    payload,
                    extensions: r.extensions.clone(),
                }))
            }
        }
    }
}

impl<'de> Deserialize<'de> for PaymentPayload {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        PaymentPayload::from_json_value(value).map_err(D::Error::custom)
    }
}

impl PaymentPayload {
    /// Reads a payment of either version from parsed JSON.
    pub fn from_json_value(value: Value) -> Result<Self> {
        match version_of(&value)? {
            1 => from_value(value).map(PaymentPayload::V1),
            2 => from_value(value).map(PaymentPayload::V2),
            other => Err(Error::InvalidX402Version(other)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::code;
    use serde_json::json;

    fn v2_required() -> Value {
        json!({"x402Version":2,"error":"Payment required",
         "resource":{"url":"https://api.example.com/premium-data","description":"Premium data","mimeType":"application/json"},
         "accepts":[{"scheme":"exact","network":"eip155:84532","amount":"10000",
           "asset":"0x036CbD53842c5426634e7929541eC2318f3dCF7e","payTo":"0x209693Bc6afc0C5328bA36FaF03C514EF312287C",
           "maxTimeoutSeconds":60,"extra":{"name":"USDC","version":"2"}}],
         "extensions":{}})
    }

    #[test]
    fn v2_payment_required_round_trips_exactly() {
        let value = v2_required();
        let parsed: PaymentRequired = serde_json::from_value(value.clone()).unwrap();
        assert_eq!(parsed.version(), 2);
        assert_eq!(serde_json::to_value(&parsed).unwrap(), value);
    }

    #[test]
    fn unknown_fields_in_requirements_and_resource_survive() {
        let mut value = v2_required();
        value["accepts"][0]["futureField"] = json!({"a": [1, 2]});
        value["resource"]["serviceName"] = json!("Weather");
        value["accepts"][0]["extra"]["assetTransferMethod"] = json!("eip3009");
        let parsed: PaymentRequired = serde_json::from_value(value.clone()).unwrap();
        assert_eq!(serde_json::to_value(&parsed).unwrap(), value);
    }

    #[test]
    fn v1_payment_required_round_trips() {
        let value = json!({"x402Version":1,"error":"X-PAYMENT header is required",
         "accepts":[{"scheme":"exact","network":"base-sepolia","maxAmountRequired":"10000",
          "resource":"https://api.example.com/premium-data","description":"Premium data",
          "mimeType":"application/json","outputSchema":null,
          "payTo":"0x209693Bc6afc0C5328bA36FaF03C514EF312287C","maxTimeoutSeconds":60,
          "asset":"0x036CbD53842c5426634e7929541eC2318f3dCF7e","extra":{"name":"USDC","version":"2"}}]});
        let parsed: PaymentRequired = serde_json::from_value(value.clone()).unwrap();
        assert_eq!(parsed.version(), 1);
        // `null` reads as absent, and absent optional fields are omitted: the legacy v1
        // client (npm x402-fetch 1.2) refuses `"outputSchema": null`.
        let mut expected = value;
        expected["accepts"][0]
            .as_object_mut()
            .unwrap()
            .remove("outputSchema");
        assert_eq!(serde_json::to_value(&parsed).unwrap(), expected);
    }

    #[test]
    fn versions_are_checked() {
        let mut value = v2_required();
        value["x402Version"] = json!(3);
        assert_eq!(
            PaymentRequired::from_json_value(value).unwrap_err().code(),
            code::reason::InvalidX402Version
        );
        assert_eq!(
            PaymentRequired::from_json_value(json!({"accepts": []}))
                .unwrap_err()
                .code(),
            code::reason::InvalidPayload
        );
        assert_eq!(
            PaymentRequired::from_json_value(json!({"x402Version": "2"}))
                .unwrap_err()
                .code(),
            code::reason::InvalidPayload
        );
    }

    #[test]
    fn wrong_types_are_invalid_payloads() {
        let mut value = v2_required();
        value["accepts"][0]["amount"] = json!("1.5");
        assert_eq!(
            PaymentRequired::from_json_value(value).unwrap_err().code(),
            code::reason::InvalidPayload
        );
        let mut value = v2_required();
        value["accepts"][0]["maxTimeoutSeconds"] = json!("60");
        assert_eq!(
            PaymentRequired::from_json_value(value).unwrap_err().code(),
            code::reason::InvalidPayload
        );
    }
}
