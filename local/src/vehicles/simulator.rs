//! The vehicle simulator: one MQTT session per board on the local broker, connected with the
//! board's own vehicle token as a board connects to IoT Core with its certificate. It
//! acknowledges every command after its `ackDelayMs`, or stays silent while `online` is
//! false, and reports telemetry on the topic the IoT rule reads when told to.

use super::{LOOPBACK_QOS, no_delay};
use crate::tokens::TokenAuthority;
use kickboard_common::domain::commands::{AckMessage, CommandMessage};
use kickboard_common::domain::ids::KickboardId;
use kickboard_common::http::request::VEHICLE_GROUP;
use kickboard_common::vehicle_topics::Channel;
use rumqttc::{AsyncClient, Event, MqttOptions, Packet};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// How a simulated board behaves; `PUT /local/vehicles/{id}` changes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Behaviour {
    /// Off: the board hears commands and never answers, as one out of signal.
    pub online: bool,
    /// How long the board takes to do a command before it acknowledges it.
    pub ack_delay_ms: u64,
}

impl Default for Behaviour {
    fn default() -> Self {
        Self { online: true, ack_delay_ms: 0 }
    }
}

/// A change to a board's behaviour, or a report to send; absent fields stay as they are.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Control {
    pub online: Option<bool>,
    pub ack_delay_ms: Option<u64>,
    /// A report (`{"lat","lon","batteryPct"}`) for the board to publish now.
    pub report: Option<serde_json::Value>,
}

struct Board {
    behaviour: watch::Sender<Behaviour>,
    client: AsyncClient,
    session: JoinHandle<()>,
}

/// Every simulated board of the local server.
pub struct VehicleSimulator {
    broker: SocketAddr,
    tokens: Arc<TokenAuthority>,
    boards: Mutex<HashMap<KickboardId, Board>>,
}

/// How long a new board's session may take to be ready for commands.
const READY_WITHIN: Duration = Duration::from_secs(5);

impl VehicleSimulator {
    pub fn new(broker: SocketAddr, tokens: Arc<TokenAuthority>) -> Self {
        Self { broker, tokens, boards: Mutex::default() }
    }

    /// Connects `board` unless it is connected, and returns once it listens for commands.
    pub async fn connect(&self, board: &KickboardId) {
        if self.boards.lock().expect("not poisoned").contains_key(board) {
            return;
        }
        let token = self.tokens.mint(board.as_str(), &[VEHICLE_GROUP.to_owned()]);
        let mut options = MqttOptions::new(board.as_str(), self.broker.ip().to_string(), self.broker.port());
        options.set_credentials(board.as_str(), token).set_keep_alive(Duration::from_secs(30));
        let (client, mut events) = AsyncClient::new(options, 64);
        no_delay(&mut events);
        let (behaviour, watching) = watch::channel(Behaviour::default());
        let (ready, mut listening) = watch::channel(false);
        let session = tokio::spawn(session(board.clone(), client.clone(), events, watching, ready));
        let previous =
            self.boards.lock().expect("not poisoned").insert(board.clone(), Board { behaviour, client, session });
        if let Some(previous) = previous {
            previous.session.abort();
        }
        if tokio::time::timeout(READY_WITHIN, listening.wait_for(|ready| *ready)).await.is_err() {
            tracing::warn!(%board, "the simulated vehicle is not listening yet");
        }
    }

    /// Disconnects `board`: it was retired.
    pub fn disconnect(&self, board: &KickboardId) {
        if let Some(board) = self.boards.lock().expect("not poisoned").remove(board) {
            board.session.abort();
        }
    }

    /// Applies `control` to `board`; its behaviour now, or `None` for a board not simulated.
    pub async fn control(&self, board: &KickboardId, control: Control) -> Option<Behaviour> {
        let (behaviour, client) = {
            let boards = self.boards.lock().expect("not poisoned");
            let simulated = boards.get(board)?;
            simulated.behaviour.send_modify(|behaviour| {
                behaviour.online = control.online.unwrap_or(behaviour.online);
                behaviour.ack_delay_ms = control.ack_delay_ms.unwrap_or(behaviour.ack_delay_ms);
            });
            (*simulated.behaviour.borrow(), simulated.client.clone())
        };
        if let Some(report) = control.report {
            let payload = report.to_string();
            if let Err(error) = client.publish(Channel::Telemetry.topic(board), LOOPBACK_QOS, false, payload).await {
                tracing::warn!(%board, %error, "the simulated report was not sent");
            }
        }
        Some(behaviour)
    }
}

/// One board's session: (re)subscribes on every connection and answers commands.
async fn session(
    board: KickboardId,
    client: AsyncClient,
    mut events: rumqttc::EventLoop,
    behaviour: watch::Receiver<Behaviour>,
    ready: watch::Sender<bool>,
) {
    loop {
        match events.poll().await {
            Ok(Event::Incoming(Packet::ConnAck(_))) => {
                if let Err(error) = client.subscribe(Channel::Commands.topic(&board), LOOPBACK_QOS).await {
                    tracing::warn!(%board, %error, "the simulated vehicle could not subscribe");
                }
            }
            Ok(Event::Incoming(Packet::SubAck(_))) => {
                ready.send_replace(true);
            }
            Ok(Event::Incoming(Packet::Publish(message))) => {
                let Ok(command) = serde_json::from_slice::<CommandMessage>(&message.payload) else {
                    tracing::warn!(%board, "the simulated vehicle got a command it cannot read");
                    continue;
                };
                let now = *behaviour.borrow();
                if now.online {
                    tokio::spawn(acknowledge(board.clone(), client.clone(), command, now.ack_delay_ms));
                }
            }
            Ok(_) => {}
            Err(error) => {
                ready.send_replace(false);
                tracing::debug!(%board, %error, "the simulated vehicle lost the broker; connecting again");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
}

async fn acknowledge(board: KickboardId, client: AsyncClient, command: CommandMessage, delay_ms: u64) {
    tokio::time::sleep(Duration::from_millis(delay_ms)).await;
    let ack = AckMessage { command_id: command.command_id, ok: true, error: None };
    let payload = serde_json::to_vec(&ack).expect("an acknowledgement serializes");
    if let Err(error) = client.publish(Channel::Acks.topic(&board), LOOPBACK_QOS, false, payload).await {
        tracing::warn!(%board, %error, "the simulated acknowledgement was not sent");
    }
}
