//! The x402 protocol: wire types (v1 and v2), the header codec, networks, requirement
//! matching, reason codes, extensions, and the payment schemes Paywire verifies in-process.

pub mod evm;
pub mod exact;
pub mod extensions;
pub mod facilitator;
pub mod header;
pub mod ledger;
pub mod matching;
pub mod names;
pub mod offer;
pub mod types;

pub use exact::*;
pub use facilitator::*;
pub use types::*;
