//! Commands to a vehicle and its acknowledgements: what the backend asks one board to do
//! (unlock, lock, cap its speed, ring), the deadline by which the board must say it did, and
//! what becomes of a command when its acknowledgement comes, comes late, twice, or never.

use super::geo::Coordinates;
use super::ids::{CommandId, KickboardId};
use super::zones::ZoneMap;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// The slowest and fastest cap a board can be given, in km/h.
pub const MIN_SPEED_KPH: u8 = 5;
pub const MAX_SPEED_KPH: u8 = 40;

/// A speed cap a board can enforce: [`MIN_SPEED_KPH`] to [`MAX_SPEED_KPH`] km/h.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub struct SpeedCap(u8);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must be a whole number of km/h from {MIN_SPEED_KPH} to {MAX_SPEED_KPH}")]
pub struct SpeedCapError;

impl TryFrom<u8> for SpeedCap {
    type Error = SpeedCapError;
    fn try_from(kph: u8) -> Result<Self, SpeedCapError> {
        if (MIN_SPEED_KPH..=MAX_SPEED_KPH).contains(&kph) { Ok(Self(kph)) } else { Err(SpeedCapError) }
    }
}

impl From<SpeedCap> for u8 {
    fn from(cap: SpeedCap) -> u8 {
        cap.0
    }
}

super::validated_schema!(SpeedCap, {"type": "integer", "minimum": MIN_SPEED_KPH, "maximum": MAX_SPEED_KPH});

impl SpeedCap {
    pub fn kph(self) -> u8 {
        self.0
    }

    /// The cap where `place` is: the governing zone's `maximumSpeedKph` (brought within what a
    /// board can enforce), never above the fleet's.
    pub fn at(zones: &ZoneMap, fleet: SpeedCap, place: &Coordinates) -> SpeedCap {
        match zones.governing(place).rules.maximum_speed_kph {
            None => fleet,
            Some(kph) => {
                let kph = u8::try_from(kph).unwrap_or(u8::MAX).clamp(MIN_SPEED_KPH, MAX_SPEED_KPH);
                SpeedCap(kph.min(fleet.0))
            }
        }
    }
}

/// The cap to send a board whose report moved it from `from` to `to`, when the cap there is
/// not the cap it had.
pub fn speed_cap_change(zones: &ZoneMap, fleet: SpeedCap, from: &Coordinates, to: &Coordinates) -> Option<SpeedCap> {
    let now = SpeedCap::at(zones, fleet, to);
    (now != SpeedCap::at(zones, fleet, from)).then_some(now)
}

/// What a board is asked to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "command", rename_all = "kebab-case")]
pub enum Command {
    Unlock,
    Lock,
    SetMaxSpeed { kph: SpeedCap },
    Ring,
}

impl Command {
    pub fn name(self) -> &'static str {
        match self {
            Command::Unlock => "unlock",
            Command::Lock => "lock",
            Command::SetMaxSpeed { .. } => "set-max-speed",
            Command::Ring => "ring",
        }
    }
}

/// A command as it travels to the board (`kickboard/{id}/commands`): its id, which the
/// acknowledgement must carry back, and the command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CommandMessage {
    pub command_id: CommandId,
    #[serde(flatten)]
    pub command: Command,
}

/// A board's acknowledgement as it travels back (`kickboard/{id}/acks`): the command's id and
/// `ok`, or why it could not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AckMessage {
    pub command_id: CommandId,
    pub ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Where a command is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CommandStatus {
    /// Sent; the board has until the deadline to acknowledge it.
    Sent,
    /// The board did it.
    Acked,
    /// The board answered that it could not.
    Failed,
    /// No acknowledgement by the deadline; a later one changes nothing.
    TimedOut,
}

/// A command sent to one board, and what became of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SentCommand {
    pub command_id: CommandId,
    pub kickboard_id: KickboardId,
    pub command: Command,
    pub sent_at: DateTime<Utc>,
    pub deadline: DateTime<Utc>,
    /// `Sent` until an acknowledgement settles it; read it through [`SentCommand::status_at`].
    status: CommandStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settled_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Why an acknowledgement changed nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AckIgnored {
    #[error("the command was already settled")]
    AlreadySettled,
    #[error("the acknowledgement came after the deadline")]
    Late,
    #[error("the acknowledgement came from another vehicle")]
    Foreign,
}

impl SentCommand {
    /// `command` sent to `kickboard_id` now, to be acknowledged within `timeout`.
    pub fn send(
        command_id: CommandId,
        kickboard_id: KickboardId,
        command: Command,
        now: DateTime<Utc>,
        timeout: Duration,
    ) -> Self {
        Self {
            command_id,
            kickboard_id,
            command,
            sent_at: now,
            deadline: now + timeout,
            status: CommandStatus::Sent,
            settled_at: None,
            error: None,
        }
    }

    /// The message the board receives.
    pub fn message(&self) -> CommandMessage {
        CommandMessage { command_id: self.command_id.clone(), command: self.command }
    }

    /// Its status at `now`: a command still unanswered past its deadline has timed out.
    pub fn status_at(&self, now: DateTime<Utc>) -> CommandStatus {
        match self.status {
            CommandStatus::Sent if now >= self.deadline => CommandStatus::TimedOut,
            status => status,
        }
    }

    /// The command once `from` acknowledged it with `ack` at `now`. An acknowledgement from
    /// another board, after the deadline or for a settled command changes nothing.
    pub fn acknowledge(&self, from: &KickboardId, ack: &AckMessage, now: DateTime<Utc>) -> Result<Self, AckIgnored> {
        if *from != self.kickboard_id || ack.command_id != self.command_id {
            return Err(AckIgnored::Foreign);
        }
        match self.status_at(now) {
            CommandStatus::Sent => {}
            CommandStatus::TimedOut => return Err(AckIgnored::Late),
            CommandStatus::Acked | CommandStatus::Failed => return Err(AckIgnored::AlreadySettled),
        }
        let (status, error) = if ack.ok {
            (CommandStatus::Acked, None)
        } else {
            (CommandStatus::Failed, Some(ack.error.clone().unwrap_or_else(|| "the vehicle refused".into())))
        };
        Ok(Self { status, settled_at: Some(now), error, ..self.clone() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + secs, 0).unwrap()
    }

    fn board(id: &str) -> KickboardId {
        KickboardId::try_from(id).unwrap()
    }

    fn sent() -> SentCommand {
        SentCommand::send(
            CommandId::try_from("c-1").unwrap(),
            board("kb-1"),
            Command::Unlock,
            at(0),
            Duration::seconds(5),
        )
    }

    fn ack(ok: bool) -> AckMessage {
        AckMessage { command_id: CommandId::try_from("c-1").unwrap(), ok, error: None }
    }

    #[test]
    fn an_ack_in_time_settles_it_once() {
        let acked = sent().acknowledge(&board("kb-1"), &ack(true), at(1)).unwrap();
        assert_eq!(acked.status_at(at(9)), CommandStatus::Acked);
        assert_eq!(acked.settled_at, Some(at(1)));
        assert_eq!(acked.acknowledge(&board("kb-1"), &ack(true), at(2)), Err(AckIgnored::AlreadySettled));
    }

    #[test]
    fn a_refusal_fails_it_with_the_reason() {
        let ack = AckMessage { error: Some("wheel blocked".into()), ..ack(false) };
        let failed = sent().acknowledge(&board("kb-1"), &ack, at(1)).unwrap();
        assert_eq!(failed.status_at(at(1)), CommandStatus::Failed);
        assert_eq!(failed.error.as_deref(), Some("wheel blocked"));
    }

    #[test]
    fn unanswered_past_the_deadline_it_has_timed_out_and_a_late_ack_changes_nothing() {
        assert_eq!(sent().status_at(at(4)), CommandStatus::Sent);
        assert_eq!(sent().status_at(at(5)), CommandStatus::TimedOut);
        assert_eq!(sent().acknowledge(&board("kb-1"), &ack(true), at(6)), Err(AckIgnored::Late));
    }

    #[test]
    fn another_boards_ack_or_another_commands_id_is_foreign() {
        assert_eq!(sent().acknowledge(&board("kb-2"), &ack(true), at(1)), Err(AckIgnored::Foreign));
        let other = AckMessage { command_id: CommandId::try_from("c-2").unwrap(), ..ack(true) };
        assert_eq!(sent().acknowledge(&board("kb-1"), &other, at(1)), Err(AckIgnored::Foreign));
    }

    #[test]
    fn commands_travel_as_the_vehicle_reads_them() {
        let message = CommandMessage {
            command_id: CommandId::try_from("c-1").unwrap(),
            command: Command::SetMaxSpeed { kph: SpeedCap::try_from(20).unwrap() },
        };
        let json = serde_json::to_value(&message).unwrap();
        assert_eq!(json, serde_json::json!({"commandId": "c-1", "command": "set-max-speed", "kph": 20}));
        assert_eq!(serde_json::from_value::<CommandMessage>(json).unwrap(), message);
        assert!(serde_json::from_str::<Command>(r#"{"command":"set-max-speed","kph":41}"#).is_err());
        assert!(serde_json::from_str::<Command>(r#"{"command":"explode"}"#).is_err());
    }
}
