//! A kickboard of the fleet: available, rented by one rental, or retired for good.

use super::error::RuleViolation;
use super::events::{DomainEvent, EventEnvelope};
use super::geo::Coordinates;
use super::ids::{KickboardId, RentalId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A board model name: 1 to 64 printable characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Model(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must be 1 to 64 printable characters")]
pub struct ModelError;

impl TryFrom<String> for Model {
    type Error = ModelError;
    fn try_from(value: String) -> Result<Self, ModelError> {
        let printable = value.chars().all(|c| !c.is_control());
        if value.trim().is_empty() || value.chars().count() > 64 || !printable {
            return Err(ModelError);
        }
        Ok(Self(value))
    }
}

impl From<Model> for String {
    fn from(model: Model) -> String {
        model.0
    }
}

impl Model {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum KickboardStatus {
    Available,
    Rented,
    Retired,
}

/// The stored lifecycle: a rented board always knows its rental.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "SCREAMING_SNAKE_CASE", rename_all_fields = "camelCase")]
pub enum KickboardState {
    Available,
    Rented { rental_id: RentalId },
    Retired { retired_at: DateTime<Utc> },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Kickboard {
    pub kickboard_id: KickboardId,
    pub model: Model,
    #[serde(flatten)]
    pub location: Coordinates,
    pub registered_at: DateTime<Utc>,
    #[serde(flatten)]
    pub state: KickboardState,
}

/// A board has two lifecycle events, so their versions are fixed.
const REGISTERED_VERSION: u64 = 1;
const RETIRED_VERSION: u64 = 2;

impl Kickboard {
    pub fn register(
        kickboard_id: KickboardId,
        model: Model,
        location: Coordinates,
        now: DateTime<Utc>,
    ) -> (Kickboard, EventEnvelope) {
        let board = Kickboard { kickboard_id, model, location, registered_at: now, state: KickboardState::Available };
        let event = EventEnvelope::new(
            now,
            board.kickboard_id.to_string(),
            REGISTERED_VERSION,
            None,
            DomainEvent::KickboardRegistered {
                kickboard_id: board.kickboard_id.clone(),
                model: board.model.clone(),
                location: board.location,
            },
        );
        (board, event)
    }

    pub fn status(&self) -> KickboardStatus {
        match self.state {
            KickboardState::Available => KickboardStatus::Available,
            KickboardState::Rented { .. } => KickboardStatus::Rented,
            KickboardState::Retired { .. } => KickboardStatus::Retired,
        }
    }

    /// Refuses to rent a board that is busy or gone.
    pub fn ensure_rentable(&self) -> Result<(), RuleViolation> {
        match self.state {
            KickboardState::Available => Ok(()),
            KickboardState::Rented { .. } => Err(RuleViolation::KickboardUnavailable),
            KickboardState::Retired { .. } => Err(RuleViolation::KickboardNotFound),
        }
    }

    /// Retires the board; history keeps pointing at it. A rented board must come back first.
    pub fn retire(&self, now: DateTime<Utc>) -> Result<(Kickboard, EventEnvelope), RuleViolation> {
        match self.state {
            KickboardState::Available => {}
            KickboardState::Rented { .. } => return Err(RuleViolation::KickboardRented),
            KickboardState::Retired { .. } => return Err(RuleViolation::KickboardNotFound),
        }
        let retired = Kickboard { state: KickboardState::Retired { retired_at: now }, ..self.clone() };
        let event = EventEnvelope::new(
            now,
            retired.kickboard_id.to_string(),
            RETIRED_VERSION,
            None,
            DomainEvent::KickboardRetired { kickboard_id: retired.kickboard_id.clone() },
        );
        Ok((retired, event))
    }
}
