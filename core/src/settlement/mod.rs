//! The settlement decisions: what a facilitator does with a payment whose signature and terms
//! verified — one module per way of moving the money, each a pure function the server's
//! settler of that kind carries out.
//!
//! | module | settles | decides |
//! | --- | --- | --- |
//! | [`ledger`] | against the ledger's balances (the Paywire ledger, devnet EVM) | replay, refuse or post, with policy, balance, bundle price and balance limits |
//! | [`chain`] | on an EVM chain (EIP-3009 `transferWithAuthorization`) | replay, pending or submit; the reason of a revert; whether the pre-flight allows submitting |

use crate::idempotency::{canonical_json, Fingerprint};
use crate::protocol::AnyRequirements;

pub mod chain;
pub mod ledger;

/// The fingerprint of what a payment asks for — its requirements — independent of signature
/// and nonce: a client that re-signs after a lost answer is retrying, not asking for more.
pub fn terms_fingerprint(requirements: &AnyRequirements) -> Fingerprint {
    let json = serde_json::to_value(requirements).unwrap_or_default();
    crate::idempotency::fingerprint("POST", "/settle#payment-identifier", &canonical_json(&json))
}
