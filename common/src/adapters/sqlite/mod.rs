//! The embedded store: every port on one SQLite database, each use case one transaction.

mod alerts;
mod store;

pub use alerts::{LocalAlert, LocalAlertSender};
pub use store::SqliteStore;
