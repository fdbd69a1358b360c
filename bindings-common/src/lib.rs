//! # paywire-bindings-common
//!
//! What every foreign-language binding of `paywire-core` exposes, written once: the Node
//! addon (napi), the Python extension (uniffi) and the wasm module (wasm-bindgen) wrap these
//! functions and objects one line each, generated from `exports.toml`. Arguments are the few types every language has — strings, numbers, bytes, and
//! objects as JSON text — and are checked here, so every binding refuses the same inputs with
//! the same codes. Objects come back as JSON text, except on the hot paths (token
//! verification, policy evaluation), which return typed values the bindings build natively.
//!
//! Numbers arrive as `f64` because that is what JavaScript has: a count must be whole, not
//! negative and below 2^53, or it is `invalid_argument` — never rounded, never wrapped.
#![forbid(unsafe_code)]

use paywire_core::Error;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

pub mod flow;
pub mod idempotency;
pub mod money;
pub mod policy;
pub mod pricing;
pub mod protocol;
pub mod schemes;
pub mod token;
pub mod webhook;

/// What every function returns.
pub type Result<T> = std::result::Result<T, Error>;

/// The class (`policy_denied`, `token_rejected`, …) of an error known only by its code (a
/// flow's refusal carries the code), for hosts that raise a class per error.
pub fn error_class_of(code: &str) -> String {
    paywire_core::ErrorClass::of_code(code).as_str().to_string()
}

/// The largest integer a JavaScript number holds exactly (2^53 − 1).
pub const MAX_SAFE_INTEGER: u64 = 9_007_199_254_740_991;

fn invalid(message: String) -> Error {
    Error::InvalidArgument(message)
}

/// A count given as a number: whole, not negative, and exact (below 2^53).
pub fn whole_number(value: f64, what: &str) -> Result<u64> {
    if value.is_finite() && value >= 0.0 && value.fract() == 0.0 && value <= MAX_SAFE_INTEGER as f64
    {
        // Exact: a whole number below 2^53 converts without rounding.
        Ok(value as u64)
    } else {
        Err(invalid(format!(
            "{what} must be a whole number from 0 to 2^53 - 1"
        )))
    }
}

/// A small count (decimals, a version, an index), at most `max`.
pub fn small_number(value: f64, what: &str, max: u64) -> Result<u64> {
    let number = whole_number(value, what)?;
    if number > max {
        return Err(invalid(format!(
            "{what} must be at most {max}, got {number}"
        )));
    }
    Ok(number)
}

/// An optional count: `default` when absent.
pub fn optional_number(value: Option<f64>, what: &str, max: u64, default: u64) -> Result<u64> {
    value.map_or(Ok(default), |v| small_number(v, what, max))
}

/// A 32-byte nonce.
pub fn nonce32(bytes: &[u8]) -> Result<[u8; 32]> {
    bytes
        .try_into()
        .map_err(|_| invalid(format!("a nonce is 32 bytes, got {}", bytes.len())))
}

/// A JSON text argument as a value; `what` names it in the error.
pub fn json(text: &str, what: &str) -> Result<Value> {
    serde_json::from_str(text).map_err(|e| invalid(format!("{what}: {e}")))
}

/// A JSON text argument as a core type; a wrong shape is `invalid_argument` naming `what`.
pub fn parse<T: DeserializeOwned>(text: &str, what: &str) -> Result<T> {
    // Through `Value`: the core's own `from_json_value` constructors read values, and one
    // deserializer per type keeps the bindings small.
    serde_json::from_value(json(text, what)?).map_err(|e| invalid(format!("{what}: {e}")))
}

/// An optional JSON text argument.
pub fn parse_optional<T: DeserializeOwned>(text: Option<&str>, what: &str) -> Result<Option<T>> {
    text.map(|t| parse(t, what)).transpose()
}

/// A value as JSON text. An integer beyond 2^53 is an error, never a rounded number in the
/// host: the core carries amounts as strings, so only a hostile token or header holds one.
pub fn text<T: Serialize + ?Sized>(value: &T) -> Result<String> {
    let value = serde_json::to_value(value).map_err(|e| invalid(e.to_string()))?;
    if let Some(number) = first_unsafe_integer(&value) {
        return Err(invalid(format!(
            "{number} cannot be represented exactly as a JavaScript number"
        )));
    }
    Ok(value.to_string())
}

fn first_unsafe_integer(value: &Value) -> Option<&serde_json::Number> {
    match value {
        Value::Number(n) => {
            let safe = match (n.as_u64(), n.as_i64()) {
                (Some(u), _) => u <= MAX_SAFE_INTEGER,
                (None, Some(i)) => i.unsigned_abs() <= MAX_SAFE_INTEGER,
                (None, None) => true,
            };
            (!safe).then_some(n)
        }
        Value::Array(items) => items.iter().find_map(first_unsafe_integer),
        Value::Object(map) => map.values().find_map(first_unsafe_integer),
        _ => None,
    }
}

/// An integer for a host number, refused beyond 2^53 rather than rounded.
pub fn exact_number(value: u64, what: &str) -> Result<f64> {
    if value > MAX_SAFE_INTEGER {
        return Err(invalid(format!(
            "{what} = {value} cannot be represented exactly as a JavaScript number"
        )));
    }
    // Exact: below 2^53.
    Ok(value as f64)
}

/// An index or count as the hosts' 32-bit integer.
fn index_u32(index: usize) -> u32 {
    u32::try_from(index).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_whole_exact_and_bounded() {
        assert_eq!(whole_number(42.0, "n").unwrap(), 42);
        for bad in [-1.0, 1.5, f64::NAN, f64::INFINITY, 9_007_199_254_740_992.0] {
            assert_eq!(
                whole_number(bad, "n").unwrap_err().code(),
                "invalid_argument",
                "{bad}"
            );
        }
        assert_eq!(
            small_number(7.0, "decimals", 6).unwrap_err().code(),
            "invalid_argument"
        );
        assert_eq!(optional_number(None, "limit", 10, 3).unwrap(), 3);
    }

    #[test]
    fn integers_beyond_two_to_the_53_are_refused_not_rounded() {
        assert_eq!(
            text(&serde_json::json!({"a": [1, 2]})).unwrap(),
            r#"{"a":[1,2]}"#
        );
        let err = text(&serde_json::json!({"maxUses": 9_007_199_254_740_993u64})).unwrap_err();
        assert_eq!(err.code(), "invalid_argument");
        assert!(exact_number(MAX_SAFE_INTEGER + 1, "exp").is_err());
    }

    #[test]
    fn json_arguments_name_themselves_in_errors() {
        let err =
            parse::<paywire_core::QuoteRequest>("{\"method\": 5}", "quote request").unwrap_err();
        assert!(err.to_string().contains("quote request"), "{err}");
        assert_eq!(json("{", "body").unwrap_err().code(), "invalid_argument");
    }
}
