//! Adapters behind the ports. SQLite is the embedded default; AWS adapters come beside it.

#[cfg(feature = "aws")]
pub mod aws;
pub mod http_payments;
pub mod payment_simulator;
#[cfg(feature = "sqlite")]
pub mod sqlite;
