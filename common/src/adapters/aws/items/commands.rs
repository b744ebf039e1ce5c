//! Command items (`CommandStore`): one partition per command, so no board or fleet key is
//! written by every command.

use super::{COMMAND_SK, command_pk};
use crate::domain::commands::SentCommand;
use chrono::Duration;
use serde::{Deserialize, Serialize};

/// How long a command's outcome stays readable by admins after it was sent.
const COMMAND_KEPT: Duration = Duration::days(7);

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CommandItem {
    pub pk: String,
    pub sk: String,
    pub ttl: i64,
    #[serde(flatten)]
    pub command: SentCommand,
}

impl From<&SentCommand> for CommandItem {
    fn from(command: &SentCommand) -> Self {
        Self {
            pk: command_pk(&command.command_id),
            sk: COMMAND_SK.to_owned(),
            ttl: (command.sent_at + COMMAND_KEPT).timestamp(),
            command: command.clone(),
        }
    }
}
