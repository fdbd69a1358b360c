//! The one mapping from a core error to a JavaScript `Error`.

use js_sys::Reflect;
use paywire_core::Error;
use wasm_bindgen::prelude::*;

/// Turns a core error into a JavaScript `Error` named `PaywireError`, with `code` (the stable
/// snake_case code, also the x402 reason of an invalid payment) and `message`.
///
/// ```js
/// try { fromDecimal("ten dollars", 6) } catch (e) { e.code === "amount_invalid" }
/// ```
pub fn to_js_error(error: &Error) -> JsValue {
    let thrown = js_sys::Error::new(&error.to_string());
    thrown.set_name("PaywireError");
    // Setting a property on a fresh Error object cannot fail.
    let _ = Reflect::set(
        &thrown,
        &JsValue::from_str("code"),
        &JsValue::from_str(error.code()),
    );
    thrown.into()
}

/// What every export returns: a value, or a thrown coded `Error`.
pub type JsResult<T> = Result<T, JsValue>;

/// Maps a core result's error with [`to_js_error`].
pub(crate) trait OrThrow<T> {
    /// The value, or the coded JavaScript error.
    fn or_throw(self) -> JsResult<T>;
}

impl<T> OrThrow<T> for Result<T, Error> {
    fn or_throw(self) -> JsResult<T> {
        self.map_err(|e| to_js_error(&e))
    }
}
