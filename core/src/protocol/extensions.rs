//! x402 extensions Paywire reads: `payment-identifier`, the client-chosen idempotency key of a
//! payment.
//!
//! The server offers `{"payment-identifier": {"info": {"required": false}, "schema": {...}}}`;
//! the client echoes it with `info.id` set. Ids are 16–128 characters of `[A-Za-z0-9_-]`.

use serde_json::{json, Value};

use crate::error::{Error, Result};
use crate::protocol::types::JsonObject;

/// The extension's key in `extensions`.
pub const PAYMENT_IDENTIFIER: &str = "payment-identifier";

/// Checks a payment identifier: 16–128 characters of `[A-Za-z0-9_-]`.
pub fn validate_payment_identifier(id: &str) -> Result<()> {
    let ok = (16..=128).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(Error::PaymentIdentifierInvalid(
            "a payment identifier is 16-128 characters of [A-Za-z0-9_-]".into(),
        ))
    }
}

/// The payment identifier a client put in a payment's `extensions`, validated; `None` when the
/// extension or its `id` is absent.
pub fn payment_identifier(extensions: Option<&JsonObject>) -> Result<Option<&str>> {
    let Some(id) = extensions
        .and_then(|e| e.get(PAYMENT_IDENTIFIER))
        .and_then(|ext| ext.get("info"))
        .and_then(|info| info.get("id"))
    else {
        return Ok(None);
    };
    let id = id
        .as_str()
        .ok_or_else(|| Error::PaymentIdentifierInvalid("info.id must be a string".into()))?;
    validate_payment_identifier(id)?;
    Ok(Some(id))
}

/// Whether the server's offer marks the identifier as required.
pub fn payment_identifier_required(extensions: Option<&JsonObject>) -> bool {
    extensions
        .and_then(|e| e.get(PAYMENT_IDENTIFIER))
        .and_then(|ext| ext.get("info"))
        .and_then(|info| info.get("required"))
        .and_then(Value::as_bool)
        .unwrap_or(false)
}

/// The server's offer of the extension: `{"info": {"required": ...}, "schema": ...}`.
pub fn offer_payment_identifier(required: bool) -> Value {
    json!({
        "info": {"required": required},
        "schema": {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "properties": {
                "required": {"type": "boolean"},
                "id": {"type": "string", "minLength": 16, "maxLength": 128, "pattern": "^[a-zA-Z0-9_-]+$"}
            },
            "required": ["required"]
        }
    })
}

/// Sets `info.id` in a copy of the server's extensions, keeping everything else it offered
/// (clients may add to extensions, never drop).
pub fn with_payment_identifier(extensions: Option<&JsonObject>, id: &str) -> Result<JsonObject> {
    validate_payment_identifier(id)?;
    let mut extensions = extensions.cloned().unwrap_or_default();
    let entry = extensions
        .entry(PAYMENT_IDENTIFIER)
        .or_insert_with(|| json!({"info": {"required": false}}));
    if !entry.is_object() {
        *entry = json!({});
    }
    let info = entry
        .as_object_mut()
        .map(|o| o.entry("info").or_insert_with(|| json!({})));
    if let Some(info) = info {
        if !info.is_object() {
            *info = json!({});
        }
        if let Some(info) = info.as_object_mut() {
            info.insert("id".into(), Value::String(id.into()));
        }
    }
    Ok(extensions)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::code;

    #[test]
    fn identifier_is_set_and_read_back() {
        let offered =
            json!({PAYMENT_IDENTIFIER: offer_payment_identifier(true), "bazaar": {"info": {}}});
        let offered = offered.as_object().unwrap();
        assert!(payment_identifier_required(Some(offered)));
        let echoed = with_payment_identifier(Some(offered), "pay_0123456789abcdef").unwrap();
        assert_eq!(
            payment_identifier(Some(&echoed)).unwrap(),
            Some("pay_0123456789abcdef")
        );
        assert!(echoed.contains_key("bazaar"));
        assert_eq!(echoed[PAYMENT_IDENTIFIER]["info"]["required"], true);
        assert_eq!(payment_identifier(Some(offered)).unwrap(), None);
        assert_eq!(payment_identifier(None).unwrap(), None);
    }

    #[test]
    fn bad_identifiers_are_refused() {
        for bad in [
            "short",
            "has space in it here",
            "é-is-not-ascii-ok!",
            &"x".repeat(129),
        ] {
            assert_eq!(
                validate_payment_identifier(bad).unwrap_err().code(),
                code::error::PaymentIdentifierInvalid
            );
        }
        let wrong_type = json!({PAYMENT_IDENTIFIER: {"info": {"id": 5}}});
        assert!(payment_identifier(wrong_type.as_object()).is_err());
    }
}
