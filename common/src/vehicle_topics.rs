//! The MQTT topics a vehicle and the backend talk on, the same on AWS IoT Core and on the
//! local broker: each board publishes its reports and acknowledgements under its own id and
//! listens for commands there.

use crate::domain::ids::KickboardId;

const PREFIX: &str = "kickboard/";

/// What a topic under a board carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// Position and battery, from the board.
    Telemetry,
    /// Commands, to the board.
    Commands,
    /// Acknowledgements of commands, from the board.
    Acks,
}

impl Channel {
    fn name(self) -> &'static str {
        match self {
            Channel::Telemetry => "telemetry",
            Channel::Commands => "commands",
            Channel::Acks => "acks",
        }
    }

    /// The topic of this channel for one board.
    pub fn topic(self, kickboard: &KickboardId) -> String {
        format!("{PREFIX}{kickboard}/{}", self.name())
    }

    /// The filter matching this channel of every board.
    pub fn every_board(self) -> String {
        format!("{PREFIX}+/{}", self.name())
    }
}

/// The board and channel a topic is about, when it is one of ours.
pub fn parse(topic: &str) -> Option<(KickboardId, Channel)> {
    let (board, channel) = topic.strip_prefix(PREFIX)?.split_once('/')?;
    let channel = [Channel::Telemetry, Channel::Commands, Channel::Acks].into_iter().find(|c| c.name() == channel)?;
    Some((KickboardId::try_from(board).ok()?, channel))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_name_the_board_and_read_back() {
        let board = KickboardId::try_from("kb-1").unwrap();
        assert_eq!(Channel::Acks.topic(&board), "kickboard/kb-1/acks");
        assert_eq!(Channel::Telemetry.every_board(), "kickboard/+/telemetry");
        assert_eq!(parse("kickboard/kb-1/commands"), Some((board, Channel::Commands)));
        assert_eq!(parse("kickboard/kb 1/acks"), None);
        assert_eq!(parse("kickboard/kb-1/other"), None);
        assert_eq!(parse("elsewhere/kb-1/acks"), None);
    }
}
