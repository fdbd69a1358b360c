//! # paywire-node
//!
//! Paywire's core as a native Node addon: one line per export over
//! [`paywire_bindings_common`], which checks arguments and carries objects as JSON text, the
//! same for every binding. `@paywire/node`'s JavaScript entry (`ts/engine.ts`) turns JSON
//! text into objects and errors into `PaywireError`s, and gives the addon the exact API of
//! `@paywire/wasm`.
//!
//! Errors are thrown with `code` set to the core's stable code (`amount_invalid`,
//! `token_expired`, …); a value of the wrong JavaScript type is refused by napi itself, which
//! the entry reports as `invalid_argument`.
#![deny(unsafe_code)]

use paywire_bindings_common as common;

/// What every export returns: a value, or an error whose `code` is the core's.
pub type Result<T> = napi::Result<T, String>;

/// A core error as a thrown JavaScript error with the core's code.
pub(crate) fn thrown(error: paywire_core::Error) -> napi::Error<String> {
    napi::Error::new(error.code().to_string(), error.to_string())
}

/// Maps a core result's error with [`thrown`].
pub(crate) trait OrThrow<T> {
    /// The value, or the coded error.
    fn or_throw(self) -> Result<T>;
}

impl<T> OrThrow<T> for common::Result<T> {
    fn or_throw(self) -> Result<T> {
        self.map_err(thrown)
    }
}

// The free functions: generated from bindings-common/exports.toml.
pub mod exports;
