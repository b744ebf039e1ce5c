//! The DynamoDB store: every write is one `TransactWriteItems` carrying the state change, its
//! conditions and its outbox event. A cancelled transaction is explained by the domain rules
//! run on the items as they were, so callers get the same errors as from the SQLite store.
//!
//! One module per port, over the plumbing they share: `client` (the client, the tables and
//! the item conversions), `transact` (transactions, conditional writes and what a cancelled
//! transaction's reasons mean) and `pages` (reading a query or a scan to its end).

mod alerts;
mod balances;
mod breakers;
mod client;
mod commands;
mod contacts;
mod fleet;
mod idempotency;
mod licences;
mod mds;
mod operations;
mod pages;
mod passes;
mod rentals;
mod transact;
mod zones;

pub use client::{DynamoStore, Tables};
