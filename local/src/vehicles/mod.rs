//! Vehicles over MQTT, locally: the embedded broker, the server's session on it, and the
//! simulated boards.

pub mod broker;
pub mod fleet;
pub mod link;
pub mod reports;
pub mod simulator;

use rumqttc::QoS;

/// The QoS of every message on the local broker: at most once. rumqttd sets no `TCP_NODELAY`
/// on its sockets, so after each QoS 1 `PUBACK` it sends, the next small message on that
/// socket waits for the peer's delayed ACK (40 ms on Linux): a rent took 44 ms at one client
/// with QoS 1, 2.3 ms with QoS 0 (BENCHMARKS.md). On loopback nothing is lost in transit, and
/// a command that is lost anyway is what the deadline is for: no acknowledgement, no ride. On
/// AWS IoT Core commands go at QoS 1.
pub const LOOPBACK_QOS: QoS = QoS::AtMostOnce;

/// Clients on the local broker send their few dozen bytes at once, not held by Nagle's
/// algorithm behind the other side's delayed ACK.
fn no_delay(events: &mut rumqttc::EventLoop) {
    events.network_options.set_tcp_nodelay(true);
}
