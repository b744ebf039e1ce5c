//! Kickboard's core: domain rules, ports, the HTTP handlers, and the embedded adapters.

pub mod adapters;
#[cfg(feature = "aws")]
pub mod aws_services;
pub mod domain;
pub mod guard;
pub mod handlers;
pub mod http;
pub mod invocation;
pub mod licences;
pub mod metrics;
pub mod payments;
pub mod ports;
pub mod services;
pub mod settings;
pub mod trace;
pub mod vehicle_topics;
pub mod zone_cache;
