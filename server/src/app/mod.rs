//! The roof: settings, the router, opening the state and serving it, the demo.

pub mod demo;
pub mod router;
pub mod run;
pub mod settings;
