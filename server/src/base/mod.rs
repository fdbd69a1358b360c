//! The foundations every layer may use: the API error, request limits and body parsing, helpers, the ledger's identity and its one kind of money movement (entries), webhook URLs, request ids.

pub mod body;
pub mod entry;
pub mod error;
pub mod ledger;
pub mod limits;
pub mod observe;
pub mod util;
pub mod webhook_url;
