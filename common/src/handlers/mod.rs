//! The handlers: plain async functions from a request or event plus the ports they use to
//! a response. Lambda `main`s, the local server and the tests all call these same functions.

pub mod customers;
pub mod events;
pub mod fleet;
pub mod gbfs;
pub mod geofencing;
pub mod passes;
#[cfg(feature = "aws")]
pub mod relay;
pub mod rentals;
pub mod views;
