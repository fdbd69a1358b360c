//! Crossing the boundary: JavaScript values to core types and back, without losing precision.

use paywire_core::Error;
use serde::de::DeserializeOwned;
use serde::Serialize;
use wasm_bindgen::{JsCast, JsValue};

use crate::error::{to_js_error, JsResult};

/// The largest integer a JavaScript number holds exactly (2^53 − 1).
pub(crate) const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;

/// A JavaScript object converted to a core type; a wrong shape is `invalid_argument`
/// naming `what`.
///
/// Values cross as JSON text (`JSON.stringify` here, `JSON.parse` on the way back): both ends
/// have fast native JSON, and it keeps one set of serde monomorphizations (serde_json's,
/// which the core already has) in the module instead of a second one per type.
pub(crate) fn from_js<T: DeserializeOwned>(value: JsValue, what: &str) -> JsResult<T> {
    let json = json_from_js(value, what)?;
    // Through `Value`, not straight from the text: every type then has one deserializer
    // (for `Value`, which the core uses too), which keeps the module a third smaller.
    serde_json::from_value(json).map_err(|e| invalid(what, &e))
}

fn invalid(what: &str, error: &dyn std::fmt::Display) -> JsValue {
    to_js_error(&Error::InvalidArgument(format!("{what}: {error}")))
}

/// A core value as plain JavaScript. An integer beyond 2^53 is an error, never a rounded
/// number — the core carries amounts as strings, so only a hostile token or header could
/// hold one.
pub(crate) fn to_js<T: Serialize + ?Sized>(value: &T) -> JsResult<JsValue> {
    let json = serde_json::to_value(value)
        .map_err(|e| to_js_error(&Error::InvalidArgument(e.to_string())))?;
    if let Some(number) = first_unsafe_integer(&json) {
        return Err(to_js_error(&Error::InvalidArgument(format!(
            "{number} cannot be represented exactly as a JavaScript number"
        ))));
    }
    let text = json.to_string();
    js_sys::JSON::parse(&text)
}

fn first_unsafe_integer(value: &serde_json::Value) -> Option<&serde_json::Number> {
    const LIMIT: u64 = 9_007_199_254_740_991;
    match value {
        serde_json::Value::Number(n) => {
            let safe = match (n.as_u64(), n.as_i64()) {
                (Some(u), _) => u <= LIMIT,
                (None, Some(i)) => i.unsigned_abs() <= LIMIT,
                (None, None) => true,
            };
            (!safe).then_some(n)
        }
        serde_json::Value::Array(items) => items.iter().find_map(first_unsafe_integer),
        serde_json::Value::Object(map) => map.values().find_map(first_unsafe_integer),
        _ => None,
    }
}

/// A JavaScript value as JSON, for core functions that take `serde_json::Value`.
pub(crate) fn json_from_js(value: JsValue, what: &str) -> JsResult<serde_json::Value> {
    if value.is_undefined() {
        // `JSON.stringify(undefined)` is not JSON; an absent optional argument is `null`.
        return Ok(serde_json::Value::Null);
    }
    let text = js_sys::JSON::stringify(&value)
        .ok()
        // A function or a symbol stringifies to `undefined`, not to a string.
        .and_then(|text| text.as_string())
        .ok_or_else(|| {
            invalid(
                what,
                &"not JSON (a cycle, a BigInt, a function or a symbol)",
            )
        })?;
    serde_json::from_str(&text).map_err(|e| invalid(what, &e))
}

/// Unix seconds (or another count) given as a JavaScript number: whole, not negative, and
/// exact (below 2^53).
pub(crate) fn whole_number(value: &JsValue, what: &str) -> JsResult<u64> {
    // `as_f64` is `None` for anything but a number: no coercion of strings or BigInts.
    let value = value.as_f64().unwrap_or(f64::NAN);
    if value.is_finite() && value >= 0.0 && value.fract() == 0.0 && value <= MAX_SAFE_INTEGER {
        // Exact: a whole number below 2^53 converts without rounding.
        Ok(value as u64)
    } else {
        Err(to_js_error(&Error::InvalidArgument(format!(
            // The value is not echoed: formatting an f64 would pull float printing into
            // the module for one message.
            "{what} must be a whole number from 0 to 2^53 - 1"
        ))))
    }
}

/// A small count (decimals, a version, an index) given as a JavaScript number, at most `max`.
pub(crate) fn small_number(value: &JsValue, what: &str, max: u64) -> JsResult<u64> {
    let number = whole_number(value, what)?;
    if number > max {
        return Err(to_js_error(&Error::InvalidArgument(format!(
            "{what} must be at most {max}, got {number}"
        ))));
    }
    Ok(number)
}

/// An optional count: `default` when `undefined` or `null`.
pub(crate) fn optional_number(
    value: &JsValue,
    what: &str,
    max: u64,
    default: u64,
) -> JsResult<u64> {
    if value.is_undefined() || value.is_null() {
        Ok(default)
    } else {
        small_number(value, what, max)
    }
}

/// A string argument. Checked here rather than trusted to the generated glue, which writes
/// whatever it is given into wasm memory (a number there traps instead of throwing).
pub(crate) fn string_arg(value: &JsValue, what: &str) -> JsResult<String> {
    value
        .as_string()
        .ok_or_else(|| to_js_error(&Error::InvalidArgument(format!("{what} must be a string"))))
}

/// A byte-string argument: a `Uint8Array` (a `Buffer` is one).
pub(crate) fn bytes_arg(value: &JsValue, what: &str) -> JsResult<Vec<u8>> {
    if value.is_instance_of::<js_sys::Uint8Array>() {
        Ok(js_sys::Uint8Array::from(value.clone()).to_vec())
    } else {
        Err(to_js_error(&Error::InvalidArgument(format!(
            "{what} must be a Uint8Array"
        ))))
    }
}

/// A plain JavaScript object built property by property: for the hot calls (token
/// verification, policy evaluation), where the JSON round trip would cost more than the work.
pub(crate) struct ObjectBuilder(js_sys::Object);

impl ObjectBuilder {
    pub(crate) fn new() -> Self {
        ObjectBuilder(js_sys::Object::new())
    }

    /// Sets `key` (a short static name, cached as a JS string) to `value`.
    pub(crate) fn set(self, key: &'static str, value: impl Into<JsValue>) -> Self {
        // Setting a data property on a fresh plain object cannot fail.
        let _ = js_sys::Reflect::set(&self.0, &JsValue::from_str(key), &value.into());
        self
    }

    /// Sets `key` to an integer, refused beyond 2^53 like everything `to_js` returns.
    pub(crate) fn set_integer(self, key: &'static str, value: u64) -> JsResult<Self> {
        Ok(self.set(key, exact_number(value, key)?))
    }

    pub(crate) fn build(self) -> JsValue {
        self.0.into()
    }
}

/// An integer as a JavaScript number, refused beyond 2^53 rather than rounded.
pub(crate) fn exact_number(value: u64, what: &str) -> JsResult<f64> {
    if value > MAX_SAFE_INTEGER as u64 {
        return Err(to_js_error(&Error::InvalidArgument(format!(
            "{what} = {value} cannot be represented exactly as a JavaScript number"
        ))));
    }
    // Exact: below 2^53.
    Ok(value as f64)
}

/// A string property of a JavaScript object, `None` when absent (`undefined` or `null`).
pub(crate) fn string_property(object: &JsValue, key: &'static str) -> JsResult<Option<String>> {
    let value = js_sys::Reflect::get(object, &JsValue::from_str(key))
        .map_err(|_| to_js_error(&Error::InvalidArgument("expected an object".into())))?;
    if value.is_undefined() || value.is_null() {
        return Ok(None);
    }
    string_arg(&value, key).map(Some)
}
