//! Adapters behind the ports. SQLite is the embedded default; AWS adapters come beside it.

pub mod payment_simulator;
#[cfg(feature = "sqlite")]
pub mod sqlite;
