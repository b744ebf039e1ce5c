//! `VehicleLink` on AWS IoT Core: a command is published to its board's topic through the
//! IoT data plane at QoS 1; the board's acknowledgement comes back through the IoT rule on
//! `kickboard/+/acks` into `vehicle-acks`, which settles it in the command store. The
//! function that sent it learns of that by reading the command again until it is settled or
//! its deadline passes: there is no channel from one Lambda instance to another.

use crate::adapters::aws::sdk_error;
use crate::domain::commands::{CommandStatus, SentCommand};
use crate::ports::{Clock, CommandStore, PortError, PortResult, VehicleLink};
use crate::vehicle_topics::Channel;
use async_trait::async_trait;
use aws_sdk_iotdataplane::primitives::Blob;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// How often a waiting function reads the command again: an acknowledgement is seen at most
/// this late, and a board silent until the 5 s deadline costs 50 strongly consistent reads
/// (half a read unit each).
const READ_AGAIN_EVERY: Duration = Duration::from_millis(100);

/// MQTT QoS 1: IoT Core keeps delivering the command until the board's session takes it.
const COMMAND_QOS: i32 = 1;

pub struct IotVehicleLink {
    client: aws_sdk_iotdataplane::Client,
    commands: Arc<dyn CommandStore>,
    clock: Arc<dyn Clock>,
}

impl IotVehicleLink {
    /// Publishes through `endpoint` (the account's `iot:Data-ATS` endpoint, with or without
    /// its scheme), and reads what became of commands in `commands`.
    pub fn new(
        config: &aws_config::SdkConfig,
        endpoint: &str,
        commands: Arc<dyn CommandStore>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        let endpoint = if endpoint.contains("://") { endpoint.to_owned() } else { format!("https://{endpoint}") };
        let config = aws_sdk_iotdataplane::config::Builder::from(config).endpoint_url(endpoint).build();
        Self { client: aws_sdk_iotdataplane::Client::from_conf(config), commands, clock }
    }
}

#[async_trait]
impl VehicleLink for IotVehicleLink {
    async fn publish(&self, command: &SentCommand) -> PortResult<()> {
        let payload =
            serde_json::to_vec(&command.message()).map_err(|error| PortError::Unavailable(error.to_string()))?;
        self.client
            .publish()
            .topic(Channel::Commands.topic(&command.kickboard_id))
            .qos(COMMAND_QOS)
            .payload(Blob::new(payload))
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(())
    }

    async fn settled(&self, command: &SentCommand) -> PortResult<SentCommand> {
        let until = Instant::now() + (command.deadline - self.clock.now()).to_std().unwrap_or_default();
        loop {
            let read = self.commands.find_command(&command.kickboard_id, &command.command_id).await?;
            let read = read.unwrap_or_else(|| command.clone());
            let left = until.saturating_duration_since(Instant::now());
            if read.status_at(self.clock.now()) != CommandStatus::Sent || left.is_zero() {
                return Ok(read);
            }
            tokio::time::sleep(left.min(READ_AGAIN_EVERY)).await;
        }
    }
}
