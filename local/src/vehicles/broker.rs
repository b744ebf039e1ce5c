//! The local MQTT broker: rumqttd, embedded, on a loopback port, so a vehicle (or the
//! simulator) talks MQTT to the local server as a board talks to AWS IoT Core. It admits a
//! client only when `authenticate` accepts its client id, user name and password.
//!
//! Unlike IoT Core's policies it does not restrict which topics a client may use: a board
//! that publishes under another's id is caught where it matters, by the acknowledgement
//! rules (`domain::commands`), and on AWS by the certificate policy.

use rumqttd::{Broker, Config, ConnectionSettings, RouterConfig, ServerSettings};
use std::collections::HashMap;
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;

/// Decides a connection from its client id, user name and password.
pub type Authenticate = Arc<dyn Fn(&str, &str, &str) -> bool + Send + Sync>;

/// The most vehicles one local broker serves: a city's fleet.
const MAX_CONNECTIONS: usize = 20_000;
/// The largest message: a report or a command is a few hundred bytes.
const MAX_PAYLOAD_BYTES: usize = 16 * 1024;

/// Starts a broker on a free loopback port and returns its address; clients connecting
/// before it listens are refused and try again. It runs on its own threads for as long as the
/// process does.
pub fn start(authenticate: Authenticate) -> std::io::Result<SocketAddr> {
    let addr = TcpListener::bind("127.0.0.1:0")?.local_addr()?;
    let mut server = ServerSettings {
        name: "kickboard-vehicles".into(),
        listen: addr,
        tls: None,
        next_connection_delay_ms: 0,
        connections: ConnectionSettings {
            connection_timeout_ms: 10_000,
            max_payload_size: MAX_PAYLOAD_BYTES,
            max_inflight_count: 100,
            auth: None,
            external_auth: None,
            dynamic_filters: true,
        },
    };
    server.set_auth_handler(move |client_id: String, user: String, password: String| {
        std::future::ready(authenticate(&client_id, &user, &password))
    });
    let config = Config {
        router: RouterConfig {
            max_connections: MAX_CONNECTIONS,
            max_outgoing_packet_count: 200,
            max_segment_size: 16 * 1024 * 1024,
            max_segment_count: 10,
            ..RouterConfig::default()
        },
        v4: Some(HashMap::from([("1".to_owned(), server)])),
        ..Config::default()
    };
    std::thread::Builder::new().name("mqtt-broker".into()).spawn(move || {
        if let Err(error) = Broker::new(config).start() {
            tracing::error!(%error, "the MQTT broker stopped");
        }
    })?;
    Ok(addr)
}
