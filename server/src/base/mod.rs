//! The foundations every layer may use: the API error, request limits and body parsing, helpers, the ledger's identity, webhook URLs, request ids, the typed request and response shapes.

pub mod body;
pub mod error;
pub mod ledger;
pub mod limits;
pub mod observe;
pub mod shapes;
pub mod util;
pub mod webhook_url;
