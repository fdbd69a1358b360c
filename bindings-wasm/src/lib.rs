//! # paywire-wasm
//!
//! The WebAssembly face of `paywire-core`, published on npm as `@paywire/wasm`. Glue only:
//! every function converts its arguments, calls the core, and converts the result or error.
//! The modules mirror the core's:
//!
//! | module | JavaScript exports |
//! | --- | --- |
//! | [`money`] | `parsePrice`, `parseAtomic`, `toDecimal`, `fromDecimal`, `formatAmount`, `rescaleAmount`, `findAsset` |
//! | [`pricing`] | `Pricebook`, `paymentRequired`, `splitFee`, `pathMatches` |
//! | [`policy`] | `Policy` (`evaluate`, `select`, `record`), `hostOf` |
//! | [`token`] | `KeyRing` (`issue`, `verify`, `rotate`, ...), `attenuateToken`, `inspectToken`, `tokenHash` |
//! | [`idempotency`] | `validateIdempotencyKey`, `fingerprint`, `MemoryStore` |
//! | [`protocol`] | header codec, `paymentRequiredFromJson`, networks, matching, facilitator bodies |
//! | [`ledger`] | `signLedgerPayment`, `verifyLedgerPayment` |
//! | [`evm`] | `signEvmPayment`, `verifyEvmPayment`, `evmAddress`, `checksumAddress`, `eip712Hashes` |
//! | [`flow`] | `ClientFlow`, `Paywall`, `PaywallFlow`, `signRequestWithEvmKey`, `signRequestWithWalletSecret` |
//!
//! Conventions at the boundary: amounts are decimal strings (atomic units, or whole units
//! where the core uses `Decimal`); times are unix seconds as JavaScript numbers, refused unless
//! whole and below 2^53; bytes (secrets, nonces) are `Uint8Array`s; JSON shapes are the x402
//! wire shapes. Every failure is a thrown `Error` whose `code` is the core's stable error code
//! ([`error::to_js_error`]). The core never panics on input, so a bad call leaves the
//! instance usable.

pub mod error;
pub mod evm;
pub mod flow;
pub mod idempotency;
pub mod ledger;
pub mod money;
pub mod policy;
pub mod pricing;
pub mod protocol;
pub mod token;
pub mod webhook;

mod convert;

use wasm_bindgen::prelude::*;

// The JSON shapes the exports take and return, declared once (in the host layer's TypeScript)
// and placed into the generated `.d.ts` so that every export is typed.
#[wasm_bindgen(typescript_custom_section)]
const JSON_SHAPES: &'static str = include_str!("../../bindings-js/src/types.ts");
