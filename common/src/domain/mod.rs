//! Every business rule of Kickboard, free of AWS, SQL and HTTP types.

pub mod alerts;
pub mod breaker;
pub mod contact;
pub mod error;
pub mod events;
pub mod geo;
pub mod ids;
pub mod kickboard;
pub mod pass;
pub mod plan;
pub mod rental;
pub mod vehicle;
pub mod zones;

#[cfg(test)]
mod tests;
