//! The two sides of a paid HTTP request, as sans-I/O state machines in the style of rustls'
//! connection API: the host feeds what happened (a response arrived, the approver answered,
//! the facilitator answered, the clock reads T, here are random bytes) and carries out the
//! action the machine returns (send this request, sign this, answer that). The machines own
//! no socket, timer, store or thread, so every host — Rust, wasm, Node, Python — behaves the
//! same, and the flow vectors (`tests/vectors/flow_client.json`, `flow_paywall.json`) prove it.
//!
//! - [`client`]: an agent's request — present an access token, read a 402, choose an option
//!   the spending policy allows, ask for approval, have the payment signed, send it, re-send
//!   the very same payment when the paid answer is lost, record spending only when it settled.
//! - [`paywall`]: a provider's request — serve free routes, answer 402, verify presented
//!   access tokens, verify and settle payments through a facilitator, hold the handler's
//!   answer until the money moved, attach `PAYMENT-RESPONSE`, or answer 502 when the
//!   facilitator is unreachable.
//!
//! - [`mcp`]: the same two flows for a paid MCP tool call: the payment and the settlement in
//!   `_meta`, the 402 as a tool result.
//!
//! Both also take JSON events ([`client::ClientEvent`], [`paywall::PaywallEvent`]) so that a
//! binding forwards what its host saw without a type per event.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};

pub mod client;
pub mod mcp;
pub mod paywall;
pub mod routes;
pub mod sign;

pub use client::{ClientAction, ClientConfig, ClientEvent, ClientFlow, Payer, PaymentRecord};
pub use mcp::{
    McpAnswer, McpCall, McpClientAction, McpClientEvent, McpClientFlow, McpPaywall,
    McpPaywallAction, McpPaywallConfig, McpPaywallEvent, McpPaywallFlow, ToolPrice,
};
pub use paywall::{Paywall, PaywallAction, PaywallConfig, PaywallEvent, PaywallFlow, PaywallRoute};
pub use sign::SignRequest;

/// HTTP header fields, names lower-cased on the way in so lookups ignore case. In JSON: an
/// object of name → value.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Headers(BTreeMap<String, String>);

impl Headers {
    /// Empty.
    pub fn new() -> Self {
        Headers::default()
    }

    /// Adds or replaces a field.
    pub fn insert(&mut self, name: &str, value: impl Into<String>) {
        self.0.insert(name.to_ascii_lowercase(), value.into());
    }

    /// A field's value, by any case of its name.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(&name.to_ascii_lowercase()).map(String::as_str)
    }

    /// Every field, names lower-cased.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

impl<'de> Deserialize<'de> for Headers {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = BTreeMap::<String, String>::deserialize(deserializer)?;
        Ok(Headers(
            raw.into_iter()
                .map(|(k, v)| (k.to_ascii_lowercase(), v))
                .collect(),
        ))
    }
}

impl<K: AsRef<str>, V: Into<String>> FromIterator<(K, V)> for Headers {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut headers = Headers::new();
        for (k, v) in iter {
            headers.insert(k.as_ref(), v);
        }
        headers
    }
}

/// An HTTP response as a flow reads it: status, headers, and the body text when the flow
/// needs it (a v1 402 carries its options in the body).
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpResponse {
    /// The status code.
    pub status: u16,
    /// The header fields.
    #[serde(default)]
    pub headers: Headers,
    /// The body as text, if read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
}

/// An answer for the host to send as is: status, header fields (canonical names), and body.
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Answer {
    /// The status code.
    pub status: u16,
    /// The header fields to send, by their canonical names (`PAYMENT-REQUIRED`).
    pub headers: BTreeMap<String, String>,
    /// The body (JSON text).
    pub body: String,
}

impl Answer {
    /// `{"error": {"code", "message"}}` with `status`.
    pub fn error(status: u16, code: &str, message: &str) -> Self {
        let body = serde_json::json!({"error": {"code": code, "message": message}});
        Answer {
            status,
            headers: BTreeMap::from([("content-type".into(), "application/json".into())]),
            body: body.to_string(),
        }
    }
}

/// Lower-case hex of bytes.
fn hex_of(bytes: &[u8]) -> String {
    hex::encode(bytes)
}

/// Reads `n` bytes of hex text a host passed as randomness.
fn bytes_of<const N: usize>(text: &str, what: &str) -> crate::Result<[u8; N]> {
    let digits = text.strip_prefix("0x").unwrap_or(text);
    let mut out = [0u8; N];
    hex::decode_to_slice(digits, &mut out).map_err(|_| {
        crate::Error::InvalidArgument(format!(
            "{what} must be {N} bytes of hex ({} digits)",
            2 * N
        ))
    })?;
    Ok(out)
}
