//! Commands to a vehicle, by an admin: ring it to find it, lock or unlock it by hand, and read
//! what became of a command. Sending answers at once (`202`); the vehicle's acknowledgement
//! settles the command when it comes, and a command unanswered by its deadline reads
//! `TIMED_OUT`.

use crate::domain::commands::{AckIgnored, AckMessage, Command, CommandStatus, SentCommand};
use crate::domain::ids::{CommandId, KickboardId};
use crate::domain::kickboard::KickboardStatus;
use crate::http::contract::Contract;
use crate::http::endpoint::{Admin, Endpoint, Handle};
use crate::http::request::{json_body, path_id};
use crate::http::response::json;
use crate::http::{HandlerResult, Problem, ProblemType};
use crate::metrics::{self, Metric};
use crate::ports::{Clock, CommandStore, PortError, PortResult};
use crate::services::{Services, Vehicles};
use chrono::{DateTime, Utc};
use lambda_http::Request;
use lambda_http::http::{Method, StatusCode};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The commands an admin may send by hand (speed caps follow the zones, not a person).
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
enum ManualCommand {
    Ring,
    Lock,
    Unlock,
}

impl From<ManualCommand> for Command {
    fn from(command: ManualCommand) -> Self {
        match command {
            ManualCommand::Ring => Command::Ring,
            ManualCommand::Lock => Command::Lock,
            ManualCommand::Unlock => Command::Unlock,
        }
    }
}

#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CommandBody {
    command: ManualCommand,
}

/// A command as the API shows it.
#[derive(Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "VehicleCommand", deny_unknown_fields)]
struct CommandView {
    command_id: CommandId,
    kickboard_id: KickboardId,
    /// `unlock`, `lock`, `set-max-speed` or `ring`.
    command: String,
    /// The cap, for `set-max-speed`.
    #[serde(skip_serializing_if = "Option::is_none")]
    kph: Option<u8>,
    status: CommandStatus,
    sent_at: DateTime<Utc>,
    /// When the vehicle must have acknowledged it.
    deadline: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    settled_at: Option<DateTime<Utc>>,
    /// Why the vehicle could not, for `FAILED`.
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

impl CommandView {
    fn new(command: &SentCommand, now: DateTime<Utc>) -> Self {
        Self {
            command_id: command.command_id.clone(),
            kickboard_id: command.kickboard_id.clone(),
            command: command.command.name().to_owned(),
            kph: match command.command {
                Command::SetMaxSpeed { kph } => Some(kph.kph()),
                _ => None,
            },
            status: command.status_at(now),
            sent_at: command.sent_at,
            deadline: command.deadline,
            settled_at: command.settled_at,
            error: command.error.clone(),
        }
    }
}

fn vehicles(app: &impl Services) -> Result<Vehicles<'_>, Problem> {
    app.vehicles().ok_or_else(|| {
        Problem::new(ProblemType::VehicleCommandsUnavailable)
            .with_detail("this deployment has no link to its vehicles yet")
    })
}

/// `POST /kickboards/{kickboardId}/commands` (admin): sends the command and answers `202`
/// with its id, before the vehicle acknowledges it.
pub struct SendCommand;

impl Endpoint for SendCommand {
    const METHOD: Method = Method::POST;
    const PATH: &'static str = "/kickboards/{kickboardId}/commands";
    const FUNCTION: &'static str = "send-command";
    fn contract() -> Contract {
        Contract::new("Send a command to a kickboard: ring, lock or unlock it (admin)")
            .path::<KickboardId>()
            .body::<CommandBody>()
            .answers::<CommandView>(StatusCode::ACCEPTED, "Sent; the vehicle has until deadline to acknowledge it")
            .refuses(&[ProblemType::KickboardNotFound, ProblemType::VehicleCommandsUnavailable])
    }
    type Caller = Admin;
}

impl<S: Services> Handle<S> for SendCommand {
    async fn handle(app: &S, _: Admin, request: Request) -> HandlerResult {
        let kickboard_id: KickboardId = path_id(&request, "kickboardId")?;
        let body: CommandBody = json_body(&request)?;
        let vehicles = vehicles(app)?;
        let board = app.fleet().find_kickboard(&kickboard_id).await?;
        if board.is_none_or(|board| board.status() == KickboardStatus::Retired) {
            return Err(Problem::new(ProblemType::KickboardNotFound));
        }
        let sent = vehicles.send(app.settings(), app.clock(), &kickboard_id, body.command.into()).await?;
        Ok(json(StatusCode::ACCEPTED, &CommandView::new(&sent, app.clock().now())))
    }
}

/// `GET /kickboards/{kickboardId}/commands/{commandId}` (admin)
pub struct GetCommand;

impl Endpoint for GetCommand {
    const METHOD: Method = Method::GET;
    const PATH: &'static str = "/kickboards/{kickboardId}/commands/{commandId}";
    const FUNCTION: &'static str = "get-command";
    fn contract() -> Contract {
        Contract::new("What became of a command sent to a kickboard (admin)")
            .path::<KickboardId>()
            .path::<CommandId>()
            .answers::<CommandView>(StatusCode::OK, "The command and its status")
            .refuses(&[ProblemType::CommandNotFound, ProblemType::VehicleCommandsUnavailable])
    }
    type Caller = Admin;
}

impl<S: Services> Handle<S> for GetCommand {
    async fn handle(app: &S, _: Admin, request: Request) -> HandlerResult {
        let kickboard_id: KickboardId = path_id(&request, "kickboardId")?;
        let command_id: CommandId = path_id(&request, "commandId")?;
        let vehicles = vehicles(app)?;
        let command = vehicles
            .commands
            .find_command(&kickboard_id, &command_id)
            .await?
            .ok_or(Problem::new(ProblemType::CommandNotFound))?;
        Ok(json(StatusCode::OK, &CommandView::new(&command, app.clock().now())))
    }
}

/// The function IoT Core's rule on `kickboard/+/acks` invokes.
pub const ACKS_FUNCTION: &str = "vehicle-acks";

/// An acknowledgement as a vehicle published it on its `acks` topic, `board` taken from the
/// topic: settles its command, once. A malformed, late, foreign or repeated one is logged
/// and dropped (sending it again cannot help); only a failing store fails the call. Answers
/// the command it settled.
pub async fn take_ack(
    commands: &dyn CommandStore,
    clock: &dyn Clock,
    board: &KickboardId,
    message: serde_json::Value,
) -> PortResult<Option<SentCommand>> {
    let ack: AckMessage = match serde_json::from_value(message) {
        Ok(ack) => ack,
        Err(error) => {
            tracing::warn!(%board, %error, "a malformed acknowledgement, dropped");
            return Ok(None);
        }
    };
    match acknowledge_through(commands, board, &ack, clock).await? {
        Ok(settled) => {
            if settled.status_at(settled.settled_at.unwrap_or(settled.sent_at)) == CommandStatus::Acked {
                metrics::record_by(Metric::CommandsAcked, settled.command.name(), 1.0);
            }
            Ok(Some(settled))
        }
        Err(ignored) => {
            tracing::warn!(%board, command = %ack.command_id, %ignored, "an acknowledgement dropped");
            Ok(None)
        }
    }
}

/// How often an acknowledgement is written again after the store said "not now": it is
/// written on a condition, so a second write of one that landed changes nothing.
const ACK_ATTEMPTS: u32 = 3;

/// [`CommandStore::acknowledge`], tried again after a transient failure: the command's
/// deadline is seconds away, and a retry by the caller (Lambda's, a minute later) would be late.
async fn acknowledge_through(
    commands: &dyn CommandStore,
    board: &KickboardId,
    ack: &AckMessage,
    clock: &dyn Clock,
) -> PortResult<Result<SentCommand, AckIgnored>> {
    let mut attempt = 1;
    loop {
        match commands.acknowledge(board, ack, clock.now()).await {
            Err(PortError::Transient(reason)) if attempt < ACK_ATTEMPTS => {
                tracing::warn!(%board, command = %ack.command_id, %reason, "an acknowledgement is written again");
                tokio::time::sleep(std::time::Duration::from_millis(50 * u64::from(attempt))).await;
                attempt += 1;
            }
            settled => return settled,
        }
    }
}

/// An acknowledgement from AWS IoT Core's topic rule on `kickboard/+/acks`: the vehicle's
/// message plus the `kickboardId` the rule took from the topic (never the message's own).
pub async fn ingest_ack(
    commands: &dyn CommandStore,
    clock: &dyn Clock,
    mut message: serde_json::Value,
) -> PortResult<Option<SentCommand>> {
    let board = message.as_object_mut().and_then(|fields| fields.remove("kickboardId"));
    let Some(board) = board.and_then(|id| serde_json::from_value::<KickboardId>(id).ok()) else {
        tracing::warn!("an acknowledgement on no valid kickboard's topic, dropped");
        return Ok(None);
    };
    take_ack(commands, clock, &board, message).await
}
