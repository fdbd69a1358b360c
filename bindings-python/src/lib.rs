//! # paywire-python
//!
//! Paywire's core for Python and Swift, through uniffi: one line per export over
//! [`paywire_bindings_common`], which checks arguments and carries objects as JSON text, the
//! same for every binding. The `paywire` Python package (`bindings-python/python/paywire`)
//! turns JSON text into dicts and [`FfiError`] into `paywire.PaywireError` and its subclasses;
//! the Swift package (`bindings-swift/`) is generated from the same library.
//!
//! Counts and times are `f64` here because `paywire_bindings_common` takes them as JavaScript
//! has them; a Python `int` crosses as one, and the same checks apply (whole, not negative,
//! below 2^53).
#![deny(unsafe_code)]

use paywire_bindings_common as common;

uniffi::setup_scaffolding!();

/// Every failure: the core's stable code, its class, and what happened.
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum FfiError {
    /// A core error.
    #[error("{code}: {message}")]
    Failed {
        /// The stable snake_case code (`policy_daily_limit_exceeded`, `token_expired`, ...).
        code: String,
        /// The class (`invalid_input`, `payment_invalid`, `policy_denied`, `token_malformed`,
        /// `token_rejected`, `conflict`, `not_found`, `unavailable`).
        class: String,
        /// What happened.
        message: String,
    },
}

impl From<paywire_core::Error> for FfiError {
    fn from(error: paywire_core::Error) -> Self {
        FfiError::Failed {
            code: error.code().to_string(),
            class: error.class().as_str().to_string(),
            message: error.to_string(),
        }
    }
}

/// What every export returns.
pub type Result<T> = std::result::Result<T, FfiError>;

fn ok<T>(result: common::Result<T>) -> Result<T> {
    result.map_err(FfiError::from)
}

// Every free function and class: generated from bindings-common/exports.toml.
pub mod exports;
