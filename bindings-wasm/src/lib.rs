//! # paywire-wasm
//!
//! The WebAssembly face of `paywire-core`, published on npm as `@paywire/wasm`. Glue only:
//! every free function and class is generated ([`exports`], from
//! `bindings-common/exports.toml`, over `paywire-bindings-common` as the Node addon and the
//! Python library are). They take strings, numbers and bytes, carry objects as JSON text, and
//! are wrapped by the JavaScript both npm packages share (`bindings-js/src/exports.ts`), which
//! checks argument types and parses the JSON; the two hot calls (`KeyRing.verify`,
//! `Policy.evaluate`) cross as one string each way (`bindings-js/src/hot.ts`).
//!
//! Conventions at the boundary: amounts are decimal strings (atomic units, or whole units
//! where the core uses `Decimal`); times are unix seconds as JavaScript numbers, refused unless
//! whole and below 2^53; bytes (secrets, nonces) are `Uint8Array`s; JSON shapes are the x402
//! wire shapes. Every failure is a thrown `Error` whose `code` is the core's stable error code
//! ([`error::to_js_error`]). The core never panics on input, so a bad call leaves the
//! instance usable.

pub mod error;
pub mod exports;

use wasm_bindgen::prelude::*;

// The JSON shapes the exports take and return, declared once (in the host layer's TypeScript)
// and placed into the generated `.d.ts` so that every export is typed.
#[wasm_bindgen(typescript_custom_section)]
const JSON_SHAPES: &'static str = include_str!("../../bindings-js/src/types.ts");
