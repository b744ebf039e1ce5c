//! `CommandStore` on DynamoDB: a command is one item, settled by a put on the condition that
//! nothing settled it first, so an acknowledgement delivered twice settles it once.

use super::client::{DynamoStore, to_item};
use super::transact::conditional_put;
use crate::adapters::aws::items::attr::SETTLED_AT;
use crate::adapters::aws::items::{CommandItem, command_key};
use crate::domain::commands::{AckIgnored, AckMessage, SentCommand};
use crate::domain::ids::{CommandId, KickboardId};
use crate::ports::{CommandStore, PortResult};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

impl DynamoStore {
    async fn command(&self, command_id: &CommandId) -> PortResult<Option<SentCommand>> {
        let item: Option<CommandItem> = self.get(&self.tables.state, command_key(command_id)).await?;
        Ok(item.map(|item| item.command))
    }
}

#[async_trait]
impl CommandStore for DynamoStore {
    async fn record_command(&self, command: &SentCommand) -> PortResult<()> {
        let put =
            self.client.put_item().table_name(&self.tables.state).set_item(Some(to_item(&CommandItem::from(command))?));
        put.send().await.map_err(crate::adapters::aws::sdk_error)?;
        Ok(())
    }

    async fn acknowledge(
        &self,
        from: &KickboardId,
        ack: &AckMessage,
        now: DateTime<Utc>,
    ) -> PortResult<Result<SentCommand, AckIgnored>> {
        // An id nobody sent is as foreign as another board's.
        let Some(sent) = self.command(&ack.command_id).await? else { return Ok(Err(AckIgnored::Foreign)) };
        let settled = match sent.acknowledge(from, ack, now) {
            Ok(settled) => settled,
            Err(ignored) => return Ok(Err(ignored)),
        };
        let put = self
            .client
            .put_item()
            .table_name(&self.tables.state)
            .set_item(Some(to_item(&CommandItem::from(&settled))?))
            .condition_expression(format!("attribute_not_exists({SETTLED_AT})"));
        // Settled meanwhile: by this acknowledgement delivered twice, read at the same moment.
        if !conditional_put(put).await? {
            return Ok(Err(AckIgnored::AlreadySettled));
        }
        Ok(Ok(settled))
    }

    async fn find_command(
        &self,
        kickboard_id: &KickboardId,
        command_id: &CommandId,
    ) -> PortResult<Option<SentCommand>> {
        Ok(self.command(command_id).await?.filter(|command| &command.kickboard_id == kickboard_id))
    }
}
