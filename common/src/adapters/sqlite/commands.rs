//! `CommandStore` on SQLite: one row per command sent, settled in the same transaction that
//! reads it, so an acknowledgement delivered twice settles it once.

use super::store::{SqliteStore, exec, load, to_json};
use crate::domain::commands::{AckIgnored, AckMessage, SentCommand};
use crate::domain::ids::{CommandId, KickboardId};
use crate::ports::{CommandStore, PortResult};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::params;

#[async_trait]
impl CommandStore for SqliteStore {
    async fn record_command(&self, command: &SentCommand) -> PortResult<()> {
        let (command_id, kickboard_id, item) =
            (command.command_id.to_string(), command.kickboard_id.to_string(), to_json(command)?);
        self.write(move |tx| {
            exec(
                tx,
                "INSERT INTO commands (command_id, kickboard_id, item) VALUES (?1, ?2, ?3)",
                params![command_id, kickboard_id, item],
            )?;
            Ok(())
        })
        .await
    }

    async fn acknowledge(
        &self,
        from: &KickboardId,
        ack: &AckMessage,
        now: DateTime<Utc>,
    ) -> PortResult<Result<SentCommand, AckIgnored>> {
        let (from, ack) = (from.clone(), ack.clone());
        self.write(move |tx| {
            let sent: Option<SentCommand> =
                load(tx, "SELECT item FROM commands WHERE command_id = ?1", ack.command_id.as_str())?;
            // An id nobody sent is as foreign as another board's.
            let Some(sent) = sent else { return Ok(Err(AckIgnored::Foreign)) };
            let settled = match sent.acknowledge(&from, &ack, now) {
                Ok(settled) => settled,
                Err(ignored) => return Ok(Err(ignored)),
            };
            exec(
                tx,
                "UPDATE commands SET item = ?2 WHERE command_id = ?1",
                params![settled.command_id.as_str(), to_json(&settled)?],
            )?;
            Ok(Ok(settled))
        })
        .await
    }

    async fn find_command(
        &self,
        kickboard_id: &KickboardId,
        command_id: &CommandId,
    ) -> PortResult<Option<SentCommand>> {
        let (kickboard_id, command_id) = (kickboard_id.to_string(), command_id.to_string());
        self.run(move |conn| {
            let command: Option<SentCommand> =
                load(conn, "SELECT item FROM commands WHERE command_id = ?1", &command_id)?;
            Ok(command.filter(|command| command.kickboard_id.as_str() == kickboard_id))
        })
        .await
    }
}
