//! # paywire-core
//!
//! The part of Paywire that must decide identically everywhere — in Rust, in browsers and
//! edge workers (wasm), in Node and in Python — with no I/O of its own. Time (`now`, unix
//! seconds), nonces and ids are arguments; state that persists (spending usage, idempotency
//! records, token use counts) is held by the caller or behind a store trait.
//!
//! | module | concept |
//! | --- | --- |
//! | [`money`] | assets, atomic amounts, exact decimal conversion, price parsing |
//! | [`pricing`] | price rules, tiers, free quotas, fees, quotes, x402 requirements |
//! | [`policy`] | spending policies: evaluate, select, record |
//! | [`token`] | HMAC access tokens with caveats and a key ring |
//! | [`idempotency`] | keys, fingerprints, Stripe's contract, a bounded in-memory store |
//! | [`protocol`] | x402 v1/v2 wire types, header codec, networks, matching, the ledger scheme |
//! | [`settlement`] | the settlement decisions: on the ledger (replay, refuse or post) and on a chain (replay, pending or submit) |
//! | [`flow`] | the client and paywall sides of a paid request, as sans-I/O state machines |
//! | [`webhook`] | webhook signatures (Stripe's scheme), the event envelope, the retry schedule |
//! | [`error`] | the one error enum, and the one table of its codes (x402 reasons and policy denials included) |
//!
//! ```
//! use paywire_core::money::AssetRegistry;
//!
//! let assets = AssetRegistry::with_defaults();
//! let usdc = assets.get("base-sepolia", "0x036CbD53842c5426634e7929541eC2318f3dCF7e")?;
//! assert_eq!(usdc.parse_price("$0.01")?.atomic(), 10_000);
//! # Ok::<(), paywire_core::Error>(())
//! ```
#![forbid(unsafe_code)]

pub mod error;
pub mod flow;
pub mod idempotency;
pub mod money;
pub mod network;
pub mod policy;
pub mod pricing;
pub mod protocol;
#[cfg(feature = "schemars")]
pub mod schema;
pub mod settlement;
pub mod token;
pub mod webhook;

pub use error::{DenyReason, Error, ErrorClass, Reason, Result};
pub use idempotency::{fingerprint, Begin, IdempotencyKey, IdempotencyStore, MemoryStore};
pub use money::{Amount, Asset, AssetRegistry};
pub use policy::{Decision, PaymentIntent, Policy, Selection, Usage};
pub use pricing::{PriceRule, PriceTier, Pricebook, Quote, QuoteRequest};
pub use protocol::{PaymentPayload, PaymentRequired, PaymentRequirements};
pub use token::{attenuate, token_hash, Caveat, Claims, KeyRing, Scope, TokenRequest};
