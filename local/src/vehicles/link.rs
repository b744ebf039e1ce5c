//! The local server's side of the vehicles' MQTT: one client session on the local broker
//! that publishes commands (at `LOOPBACK_QOS`), takes acknowledgements into the command
//! store, and hands reports on (`super::reports` takes them as the AWS IoT topic rule's
//! function does).

use super::{LOOPBACK_QOS, no_delay};
use kickboard_common::domain::commands::{CommandStatus, SentCommand};
use kickboard_common::domain::ids::{CommandId, KickboardId};
use kickboard_common::handlers::commands::{ACKS_FUNCTION, take_ack};
use kickboard_common::invocation;
use kickboard_common::ports::{Clock, CommandStore, PortError, PortResult, VehicleLink};
use kickboard_common::vehicle_topics::{self, Channel};
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, Publish};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

/// The client id and user name the server's own session uses on the broker.
pub const SERVER_CLIENT_ID: &str = "kickboard-local";

/// What the server hears from every vehicle.
const SUBSCRIPTIONS: [Channel; 2] = [Channel::Acks, Channel::Telemetry];

/// How long the broker may take to take the server's session.
const READY_WITHIN: Duration = Duration::from_secs(5);

/// What the link needs from the server.
#[derive(Clone)]
pub struct LinkDeps {
    pub commands: Arc<dyn CommandStore>,
    pub clock: Arc<dyn Clock>,
    /// Where reports go, with the board their topic names.
    pub reports: mpsc::Sender<(KickboardId, serde_json::Value)>,
}

/// Commands to vehicles over the local broker.
pub struct MqttVehicleLink {
    client: AsyncClient,
    deps: LinkDeps,
    /// Who waits for which command's acknowledgement.
    waiting: Arc<Mutex<HashMap<CommandId, oneshot::Sender<()>>>>,
}

impl MqttVehicleLink {
    /// Connects to the broker at `broker` with the server's `password`, returns once it hears
    /// the vehicles, and serves the session until `shutdown` turns true.
    pub async fn connect(
        broker: SocketAddr,
        password: &str,
        deps: LinkDeps,
        shutdown: watch::Receiver<bool>,
    ) -> std::io::Result<(Arc<Self>, JoinHandle<()>)> {
        let mut options = MqttOptions::new(SERVER_CLIENT_ID, broker.ip().to_string(), broker.port());
        options.set_credentials(SERVER_CLIENT_ID, password).set_keep_alive(Duration::from_secs(30));
        let (client, mut events) = AsyncClient::new(options, 1024);
        no_delay(&mut events);
        let link = Arc::new(Self { client, deps, waiting: Arc::default() });
        let (ready, mut listening) = watch::channel(0);
        let task = tokio::spawn(Arc::clone(&link).serve(events, ready, shutdown));
        // Both subscriptions taken: from here no acknowledgement or report is missed.
        let subscribed = listening.wait_for(|subscriptions| *subscriptions >= SUBSCRIPTIONS.len());
        match tokio::time::timeout(READY_WITHIN, subscribed).await {
            Ok(Ok(_)) => Ok((link, task)),
            _ => Err(std::io::Error::other("the server could not subscribe on its MQTT broker")),
        }
    }

    async fn serve(
        self: Arc<Self>,
        mut events: rumqttc::EventLoop,
        ready: watch::Sender<usize>,
        mut shutdown: watch::Receiver<bool>,
    ) {
        while !*shutdown.borrow() {
            let event = tokio::select! {
                event = events.poll() => event,
                _ = shutdown.changed() => break,
            };
            match event {
                // Subscribed again on every (re)connection: the session is not kept.
                Ok(Event::Incoming(Packet::ConnAck(_))) => {
                    ready.send_replace(0);
                    for channel in SUBSCRIPTIONS {
                        if let Err(error) = self.client.subscribe(channel.every_board(), LOOPBACK_QOS).await {
                            tracing::warn!(%error, "could not subscribe to the vehicles");
                        }
                    }
                }
                Ok(Event::Incoming(Packet::SubAck(_))) => {
                    ready.send_modify(|subscriptions| *subscriptions += 1);
                }
                Ok(Event::Incoming(Packet::Publish(message))) => {
                    tokio::spawn(Arc::clone(&self).take(message));
                }
                Ok(_) => {}
                Err(error) => {
                    // Also while the broker starts listening: the first connection may be early.
                    tracing::debug!(%error, "no MQTT broker; connecting again");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        }
    }

    /// One message from a vehicle.
    async fn take(self: Arc<Self>, message: Publish) {
        let Some((board, channel)) = vehicle_topics::parse(&message.topic) else {
            tracing::warn!(topic = %message.topic, "a message on no vehicle's topic, dropped");
            return;
        };
        let outcome = match channel {
            Channel::Acks => self.take_ack(&board, &message.payload).await,
            Channel::Telemetry => self.take_report(&board, &message.payload).await,
            Channel::Commands => Ok(()),
        };
        if let Err(error) = outcome {
            tracing::warn!(%board, %error, "a vehicle's message was not taken");
        }
    }

    async fn take_ack(&self, board: &KickboardId, payload: &[u8]) -> PortResult<()> {
        let message: serde_json::Value = match serde_json::from_slice(payload) {
            Ok(message) => message,
            Err(error) => {
                tracing::warn!(%board, %error, "a malformed acknowledgement, dropped");
                return Ok(());
            }
        };
        // As IoT Core's rule hands it to `vehicle-acks`, and with that function's permissions.
        let taken = take_ack(self.deps.commands.as_ref(), self.deps.clock.as_ref(), board, message);
        if let Some(settled) = invocation::running_as(ACKS_FUNCTION, taken).await? {
            let waiter = self.waiting.lock().expect("not poisoned").remove(&settled.command_id);
            if let Some(waiter) = waiter {
                let _ = waiter.send(());
            }
        }
        Ok(())
    }

    async fn take_report(&self, board: &KickboardId, payload: &[u8]) -> PortResult<()> {
        let mut report: serde_json::Value = match serde_json::from_slice(payload) {
            Ok(report) => report,
            Err(error) => {
                tracing::warn!(%board, %error, "a malformed report, dropped");
                return Ok(());
            }
        };
        // As the IoT rule does: the board is the topic's, never the message's.
        if let Some(fields) = report.as_object_mut() {
            fields.insert("kickboardId".into(), serde_json::Value::from(board.as_str()));
        }
        // A report is superseded by the board's next: one that finds the queue full is dropped.
        if self.deps.reports.try_send((board.clone(), report)).is_err() {
            tracing::warn!(%board, "reports are coming faster than they are taken: one dropped");
        }
        Ok(())
    }
}

#[async_trait::async_trait]
impl VehicleLink for MqttVehicleLink {
    async fn publish(&self, command: &SentCommand) -> PortResult<()> {
        let payload = serde_json::to_vec(&command.message())?;
        let topic = Channel::Commands.topic(&command.kickboard_id);
        self.client
            .publish(topic, LOOPBACK_QOS, false, payload)
            .await
            .map_err(|error| PortError::Transient(format!("the MQTT broker did not take the command: {error}")))
    }

    async fn settled(&self, command: &SentCommand) -> PortResult<SentCommand> {
        let (tx, rx) = oneshot::channel();
        self.waiting.lock().expect("not poisoned").insert(command.command_id.clone(), tx);
        // Read after listening, so an acknowledgement that came in between is not missed.
        let read = || self.deps.commands.find_command(&command.kickboard_id, &command.command_id);
        let now = read().await?.unwrap_or_else(|| command.clone());
        if now.status_at(self.deps.clock.now()) == CommandStatus::Sent {
            let left = (command.deadline - self.deps.clock.now()).to_std().unwrap_or_default();
            let _ = tokio::time::timeout(left, rx).await;
        }
        self.waiting.lock().expect("not poisoned").remove(&command.command_id);
        Ok(read().await?.unwrap_or_else(|| command.clone()))
    }
}
