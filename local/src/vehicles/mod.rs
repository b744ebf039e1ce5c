//! Vehicles over MQTT, locally: the embedded broker, the server's session on it, and the
//! simulated boards.

pub mod broker;
pub mod fleet;
pub mod link;
pub mod reports;
pub mod simulator;
