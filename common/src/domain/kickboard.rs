//! A kickboard of the fleet: available, rented by one rental, in maintenance, or retired for
//! good; where it last was and how charged.

use super::error::RuleViolation;
use super::events::{DomainEvent, EventEnvelope};
use super::geo::Coordinates;
use super::ids::{KickboardId, PublicVehicleId, RentalId, VehicleTypeId};
use super::track::{RideTrack, TrackPoint};
use super::vehicle::{BatteryPct, BatteryRules, Telemetry, default_vehicle_type_id, find_vehicle_type};
use super::zones::ZoneMap;
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

super::validated_schema!(Model, {"type": "string", "minLength": 1, "maxLength": 64});

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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum KickboardStatus {
    Available,
    Rented,
    Maintenance,
    Retired,
}

/// The stored lifecycle: a rented board always knows its rental.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "SCREAMING_SNAKE_CASE", rename_all_fields = "camelCase")]
pub enum KickboardState {
    Available,
    Rented {
        rental_id: RentalId,
    },
    /// Out of service: not rented, not listed, disabled in the feed. Put there by the crew
    /// (no reason), or by the service, saying why.
    Maintenance {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<MaintenanceReason>,
    },
    Retired {
        retired_at: DateTime<Utc>,
    },
}

/// Why the service took a board out of service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum MaintenanceReason {
    /// The board never acknowledged the lock at the end of a ride: it may be unlocked in the
    /// street.
    LockUnconfirmed,
}

/// The states an admin can put a board in by hand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ServiceStatus {
    Available,
    Maintenance,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Kickboard {
    pub kickboard_id: KickboardId,
    pub model: Model,
    #[serde(default = "default_vehicle_type_id")]
    pub vehicle_type_id: VehicleTypeId,
    #[serde(flatten)]
    pub location: Coordinates,
    #[serde(default)]
    pub battery_pct: BatteryPct,
    /// When the vehicle last said where it is; `None` for boards stored before vehicles
    /// reported, which count as reported when registered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_reported_at: Option<DateTime<Utc>>,
    /// The board's id in the public feed; a new one after every rental. A board stored
    /// before the feed existed gets one when it is next written.
    #[serde(default = "PublicVehicleId::random")]
    pub public_id: PublicVehicleId,
    /// Counts the board's changes, so a write can require that nothing changed since it read
    /// the board, and board events are numbered by it.
    #[serde(default = "legacy_revision")]
    pub revision: u64,
    pub registered_at: DateTime<Utc>,
    /// Rent unlocks the board missed in a row; an acknowledged one starts the count again.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub unlock_misses: u32,
    /// Where the board was left when it was last parked (registered, returned, put back in
    /// service): reports are measured from here to tell a stolen board. `None` while rented,
    /// and for boards stored before this was kept (their next report's place counts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parked_at: Option<Coordinates>,
    /// The crew was told this parked board moved; not again until it is parked anew.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub moved_alerted: bool,
    /// When the ride riding it took it; `None` while parked (and for rides taken before this
    /// was kept, whose silence counts from the last report).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rented_at: Option<DateTime<Utc>>,
    /// The crew was told this rented board went silent; not again until it speaks.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub silence_alerted: bool,
    /// Metres the ride riding it has covered by its reports, leg after leg; 0 while parked
    /// (and for rides taken before this was kept).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub ride_distance_m: u32,
    /// Where the ride riding it went by its reports; empty while parked.
    #[serde(default, skip_serializing_if = "RideTrack::is_empty")]
    pub ride_track: RideTrack,
    #[serde(flatten)]
    pub state: KickboardState,
}

fn is_zero(count: &u32) -> bool {
    *count == 0
}

/// How long a rented board may say nothing (its vehicle reports every 30 s) before the crew
/// is told it may be lost: stolen, broken down, or out of coverage with a rider on it.
pub const SILENT_RIDE_AFTER: chrono::Duration = chrono::Duration::minutes(10);

/// Moves shorter than this are GPS noise, not a board moving.
pub const GPS_JITTER_M: f64 = 5.0;

/// How stale a parked board's `lastReportedAt` may grow before a report that changes nothing
/// is written anyway: most of a fleet stands still with a steady battery, and rewriting each
/// board (and its index entry) every 30 s would be most of the fleet's write bill.
pub const REPORT_HEARTBEAT: chrono::Duration = chrono::Duration::minutes(2);

/// A new board's revision.
const REGISTERED_REVISION: u64 = 1;

/// Boards stored before revisions were counted have been registered, nothing more is known.
pub const LEGACY_REVISION: u64 = REGISTERED_REVISION;

fn legacy_revision() -> u64 {
    LEGACY_REVISION
}

/// A vehicle's report, taken.
#[derive(Debug, Clone, PartialEq)]
pub struct Reported {
    pub board: Kickboard,
    /// `KickboardBatteryLow` when the report took the battery below the low mark.
    pub battery_low: Option<EventEnvelope>,
    /// `KickboardMovedWhileParked` when a parked board's report puts it [`THEFT_DISTANCE_M`]
    /// from where it was left, once per episode.
    pub moved: Option<EventEnvelope>,
    /// `KickboardRodeIntoNoRidingZone` when a rented board's report takes it from where riding
    /// is allowed to where it is not: once per entry, however long it stays.
    pub rode_into_no_riding: Option<EventEnvelope>,
}

impl Reported {
    /// The events to write with the board.
    pub fn events(&self) -> impl Iterator<Item = &EventEnvelope> {
        self.battery_low.iter().chain(&self.moved).chain(&self.rode_into_no_riding)
    }
}

/// How far a parked board may move by its own reports before the crew is told it may be
/// stolen: beyond GPS drift in a city's canyons, short of a thief's first street.
pub const THEFT_DISTANCE_M: f64 = 50.0;

impl Kickboard {
    pub fn register(
        kickboard_id: KickboardId,
        model: Model,
        vehicle_type_id: VehicleTypeId,
        location: Coordinates,
        now: DateTime<Utc>,
    ) -> (Kickboard, EventEnvelope) {
        let board = Kickboard {
            kickboard_id,
            model,
            vehicle_type_id,
            location,
            battery_pct: BatteryPct::FULL,
            last_reported_at: Some(now),
            public_id: PublicVehicleId::random(),
            revision: REGISTERED_REVISION,
            registered_at: now,
            unlock_misses: 0,
            parked_at: Some(location),
            moved_alerted: false,
            rented_at: None,
            silence_alerted: false,
            ride_distance_m: 0,
            ride_track: RideTrack::default(),
            state: KickboardState::Available,
        };
        let event = board.event(
            now,
            DomainEvent::KickboardRegistered {
                kickboard_id: board.kickboard_id.clone(),
                model: board.model.clone(),
                location: board.location,
            },
        );
        (board, event)
    }

    /// The rental riding the board, if one is.
    pub fn rental_id(&self) -> Option<&RentalId> {
        match &self.state {
            KickboardState::Rented { rental_id } => Some(rental_id),
            _ => None,
        }
    }

    pub fn status(&self) -> KickboardStatus {
        match self.state {
            KickboardState::Available => KickboardStatus::Available,
            KickboardState::Rented { .. } => KickboardStatus::Rented,
            KickboardState::Maintenance { .. } => KickboardStatus::Maintenance,
            KickboardState::Retired { .. } => KickboardStatus::Retired,
        }
    }

    /// How far the board goes on its charge (0 for a type no longer in the catalogue).
    pub fn range_meters(&self) -> u32 {
        find_vehicle_type(&self.vehicle_type_id).map_or(0, |kind| self.battery_pct.range_meters(kind))
    }

    pub fn last_reported_at(&self) -> DateTime<Utc> {
        self.last_reported_at.unwrap_or(self.registered_at)
    }

    /// Refuses to rent a board that is busy, out of service, too empty, or gone.
    pub fn ensure_rentable(&self, rules: &BatteryRules) -> Result<(), RuleViolation> {
        match self.state {
            KickboardState::Available if self.battery_pct < rules.min_to_rent => Err(RuleViolation::BatteryTooLow),
            KickboardState::Available => Ok(()),
            KickboardState::Rented { .. } | KickboardState::Maintenance { .. } => {
                Err(RuleViolation::KickboardUnavailable)
            }
            KickboardState::Retired { .. } => Err(RuleViolation::KickboardNotFound),
        }
    }

    /// Whether customers see the board when they look for one.
    pub fn is_listed(&self, rules: &BatteryRules) -> bool {
        self.ensure_rentable(rules).is_ok()
    }

    /// Whether the board is parked where the public can see it (available, or out of
    /// service), as opposed to being ridden or gone.
    pub fn is_parked(&self) -> bool {
        matches!(self.state, KickboardState::Available | KickboardState::Maintenance { .. })
    }

    /// Takes a vehicle's report: where it is and how charged. `None` when there is nothing
    /// to store: the report is older than the stored one, or it says what is stored (the same
    /// battery, a place within GPS jitter) and the stored report is recent. A rented board's
    /// position follows its rider.
    pub fn report(
        &self,
        telemetry: &Telemetry,
        rules: &BatteryRules,
        zones: &ZoneMap,
    ) -> Result<Option<Reported>, RuleViolation> {
        if let KickboardState::Retired { .. } = self.state {
            return Err(RuleViolation::KickboardNotFound);
        }
        let since = telemetry.reported_at - self.last_reported_at();
        let unchanged = telemetry.battery == self.battery_pct
            && telemetry.location.distance_m(&self.location) < GPS_JITTER_M
            && since < REPORT_HEARTBEAT;
        if since < chrono::Duration::zero() || unchanged {
            return Ok(None);
        }
        let parked_at = self.is_parked().then(|| self.parked_at.unwrap_or(self.location));
        // A ride's distance is the sum of its reported legs; moves within GPS jitter are noise.
        let leg = telemetry.location.distance_m(&self.location);
        let ridden = match self.state {
            KickboardState::Rented { .. } if leg >= GPS_JITTER_M => leg.round() as u32,
            _ => 0,
        };
        let ride_track = match self.state {
            KickboardState::Rented { .. } => {
                self.ride_track.with(TrackPoint { at: telemetry.reported_at, location: telemetry.location })
            }
            _ => RideTrack::default(),
        };
        let moved_from =
            parked_at.filter(|anchor| !self.moved_alerted && telemetry.location.distance_m(anchor) > THEFT_DISTANCE_M);
        let board = Kickboard {
            location: telemetry.location,
            battery_pct: telemetry.battery,
            last_reported_at: Some(telemetry.reported_at),
            revision: self.revision + 1,
            parked_at,
            moved_alerted: self.moved_alerted || moved_from.is_some(),
            // It spoke: a later silence is a new one.
            silence_alerted: false,
            ride_distance_m: self.ride_distance_m.saturating_add(ridden),
            ride_track,
            ..self.clone()
        };
        let battery_low = rules
            .crossed_low(self.battery_pct, telemetry.battery)
            .then(|| board.battery_low_event(telemetry.reported_at));
        let moved = moved_from.map(|from| {
            board.event(
                telemetry.reported_at,
                DomainEvent::KickboardMovedWhileParked {
                    kickboard_id: board.kickboard_id.clone(),
                    distance_m: telemetry.location.distance_m(&from).round() as u32,
                    location: telemetry.location,
                },
            )
        });
        let rode_into_no_riding = match &self.state {
            KickboardState::Rented { rental_id } if zones.no_riding(&self.location).is_none() => {
                zones.no_riding(&telemetry.location).map(|refusal| {
                    board.event(
                        telemetry.reported_at,
                        DomainEvent::KickboardRodeIntoNoRidingZone {
                            kickboard_id: board.kickboard_id.clone(),
                            rental_id: rental_id.clone(),
                            place: refusal.place,
                            messages: refusal.messages,
                            location: telemetry.location,
                        },
                    )
                })
            }
            _ => None,
        };
        Ok(Some(Reported { board, battery_low, moved, rode_into_no_riding }))
    }

    /// The board after a return's report of its battery (if the vehicle gave one), and the
    /// low-battery event if that crossed the mark.
    pub fn with_returned_battery(
        &self,
        battery: Option<BatteryPct>,
        rules: &BatteryRules,
        now: DateTime<Utc>,
    ) -> (Kickboard, Option<EventEnvelope>) {
        let Some(battery) = battery else {
            return (self.clone(), None);
        };
        let board = Kickboard { battery_pct: battery, last_reported_at: Some(now), ..self.clone() };
        let event = rules.crossed_low(self.battery_pct, battery).then(|| board.battery_low_event(now));
        (board, event)
    }

    fn battery_low_event(&self, now: DateTime<Utc>) -> EventEnvelope {
        self.event(
            now,
            DomainEvent::KickboardBatteryLow {
                kickboard_id: self.kickboard_id.clone(),
                battery_pct: self.battery_pct,
                location: self.location,
            },
        )
    }

    /// Puts the board in or out of service, with `KickboardServiceChanged`; `None` when it
    /// already is in `target`. A rented board must come back first.
    pub fn set_service(
        &self,
        target: ServiceStatus,
        now: DateTime<Utc>,
    ) -> Result<Option<(Kickboard, EventEnvelope)>, RuleViolation> {
        let state = match (&self.state, target) {
            (KickboardState::Retired { .. }, _) => return Err(RuleViolation::KickboardNotFound),
            (KickboardState::Rented { .. }, _) => return Err(RuleViolation::KickboardRented),
            (KickboardState::Available, ServiceStatus::Available)
            | (KickboardState::Maintenance { .. }, ServiceStatus::Maintenance) => return Ok(None),
            (_, ServiceStatus::Available) => KickboardState::Available,
            (_, ServiceStatus::Maintenance) => KickboardState::Maintenance { reason: None },
        };
        // The crew has the board in hand: where it stands now is where it is left.
        let board = Kickboard {
            state,
            revision: self.revision + 1,
            parked_at: Some(self.location),
            moved_alerted: false,
            ..self.clone()
        };
        let event = board.event(
            now,
            DomainEvent::KickboardServiceChanged {
                kickboard_id: board.kickboard_id.clone(),
                status: target,
                location: board.location,
            },
        );
        Ok(Some((board, event)))
    }

    /// The board once its lock at the end of `rental_id` went unacknowledged: out of service
    /// with the reason, and `KickboardLockUnconfirmed` for the crew. `None` when it is no
    /// longer parked where the ride left it (rented again: its unlock proved it answers).
    pub fn lock_unconfirmed(&self, rental_id: &RentalId, now: DateTime<Utc>) -> Option<(Kickboard, EventEnvelope)> {
        if self.state != KickboardState::Available {
            return None;
        }
        let board = Kickboard {
            state: KickboardState::Maintenance { reason: Some(MaintenanceReason::LockUnconfirmed) },
            revision: self.revision + 1,
            ..self.clone()
        };
        let event = board.event(
            now,
            DomainEvent::KickboardLockUnconfirmed {
                kickboard_id: board.kickboard_id.clone(),
                rental_id: rental_id.clone(),
                location: board.location,
            },
        );
        Some((board, event))
    }

    /// A rented board that has said nothing for [`SILENT_RIDE_AFTER`], counted from its last
    /// report or from its rent, whichever is later: the board marked so the crew hears once
    /// per silence, and `KickboardSilentWhileRented`. `None` for any other board.
    pub fn silent_while_rented(&self, now: DateTime<Utc>) -> Option<(Kickboard, EventEnvelope)> {
        let KickboardState::Rented { rental_id } = &self.state else { return None };
        let heard = [self.last_reported_at, self.rented_at].into_iter().flatten().max().unwrap_or(self.registered_at);
        if self.silence_alerted || now - heard <= SILENT_RIDE_AFTER {
            return None;
        }
        let board = Kickboard { silence_alerted: true, revision: self.revision + 1, ..self.clone() };
        let event = board.event(
            now,
            DomainEvent::KickboardSilentWhileRented {
                kickboard_id: board.kickboard_id.clone(),
                rental_id: rental_id.clone(),
                last_heard_at: heard,
                location: board.location,
            },
        );
        Some((board, event))
    }

    /// A board event at `at`, numbered by the board's revision.
    pub(crate) fn event(&self, at: DateTime<Utc>, event: DomainEvent) -> EventEnvelope {
        EventEnvelope::new(at, self.kickboard_id.to_string(), self.revision, None, event)
    }

    /// Why the service took the board out of service, if it did.
    pub fn maintenance_reason(&self) -> Option<MaintenanceReason> {
        match self.state {
            KickboardState::Maintenance { reason } => reason,
            _ => None,
        }
    }

    /// Retires the board; history keeps pointing at it. A rented board must come back first.
    pub fn retire(&self, now: DateTime<Utc>) -> Result<(Kickboard, EventEnvelope), RuleViolation> {
        match self.state {
            KickboardState::Available | KickboardState::Maintenance { .. } => {}
            KickboardState::Rented { .. } => return Err(RuleViolation::KickboardRented),
            KickboardState::Retired { .. } => return Err(RuleViolation::KickboardNotFound),
        }
        let retired = Kickboard {
            state: KickboardState::Retired { retired_at: now },
            revision: self.revision + 1,
            ..self.clone()
        };
        let event = retired.event(
            now,
            DomainEvent::KickboardRetired {
                kickboard_id: retired.kickboard_id.clone(),
                location: Some(retired.location),
            },
        );
        Ok((retired, event))
    }
}
