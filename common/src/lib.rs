//! Kickboard's core: domain rules, ports, the HTTP handlers, and the embedded adapters.

pub mod adapters;
pub mod domain;
pub mod handlers;
pub mod http;
pub mod invocation;
pub mod metrics;
pub mod payments;
pub mod ports;
pub mod trace;
