//! The embedded store: every port on one SQLite database, each use case one transaction.
//! Rules come from `domain`; each port's module only loads, calls the rule, and writes the
//! outcome plus its outbox event in one transaction, on the connection `store` owns.

mod alerts;
mod balances;
mod breakers;
mod checkpoint;
mod commands;
mod contacts;
mod fleet;
mod idempotency;
mod licences;
mod mds;
mod migrations;
mod operations;
mod outbox;
mod passes;
mod rentals;
mod store;
mod zones;

pub use store::{SqliteStore, exec};
