//! The embedded store: every port on one SQLite database, each use case one transaction.

mod store;

pub use store::{SqliteStore, exec};
