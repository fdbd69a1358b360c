//! The roof: settings, the router, opening the state and serving it.

pub mod router;
pub mod run;
pub mod settings;
