//! The city's rules as MDS 2.0 publishes them (the Policy and Geography APIs), read, checked and
//! compiled into what rides obey: time-windowed zones ([`PolicyZone`]) and fleet caps
//! ([`FleetCap`]), with what cannot be compiled listed and said so ([`NotEnforced`]).
//!
//! How each rule type compiles (see [`compile`]):
//! - `count` whose most boards allowed is 0 (`maximum: 0`, or `maximum: 1` not inclusive):
//!   - over a parked state (`available`, `non_operational`, `reserved`) for every event or for
//!     `trip_end` → no parking: `ride_end_allowed: false`;
//!   - over `on_trip` → no riding: `ride_through_allowed: false`, and `ride_start_allowed:
//!     false` too, since a ride starting there is riding there; `on_trip` limited to
//!     `trip_start` alone → only `ride_start_allowed: false`;
//!   - over anything else (parked states for the crew's events only, such as
//!     `provider_drop_off`; `removed`, `missing`…) → not enforced: it is about the crew, not rides.
//! - `count` with a maximum above 0 over `available` → a [`FleetCap`], counted against the
//!   fleet elsewhere (the city caps the fleet, not the rider); over other states → not enforced.
//!   A `minimum` (boards required there) is never enforced, and said so.
//! - `speed` with a `maximum` → the zone's `maximum_speed_kph`, from mph rounded down (never
//!   above the city's limit). Its states are not read: a speed only matters on a ride.
//! - `time`, `user`, and any rule with a fee (`rate_amount`) → not enforced.
//! - A policy for another mode than micromobility, or naming other providers only → not
//!   enforced for Kickboard.
//!
//! When a compiled rule applies: within its policy's dates (`start_date` to `end_date`) and not
//! once a newer policy naming it in `prev_policies` has started; within its geography's
//! `effective_date` (else `published_date`) to `retire_date`; on its `days` between
//! `start_time` and `end_time` in the city's time zone (see [`RuleWindow`]); for the boards its
//! `vehicle_types` and `propulsion_types` name (empty: all).
//!
//! How a place's rules combine when policy zones and admins' zones overlap: the strictest of
//! each rule. A ride may start, end or pass only if every zone in force there allows it, and
//! the speed limit is the lowest. The city's rule so wins over an operator's permissive zone,
//! and an operator may still be stricter than the city.

use super::error::message_in;
use super::events::{DomainEvent, EventEnvelope};
use super::kickboard::{Kickboard, KickboardStatus};
use super::vehicle::{FormFactor, Propulsion, VehicleType};
use super::vehicle::{find_vehicle_type, vehicle_types};
use super::zones::{CityZone, GeometryForm, Zone, ZoneGeometry, ZoneName, ZoneRules};
use crate::domain::ids::ZoneId;
use chrono::{DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, Offset, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use geo::{Coord, Intersects, MultiPolygon};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use uuid::Uuid;

/// An MDS document refused, and the JSON path at fault (`rules[0].states`, or `.` for the
/// whole document).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {reason}")]
pub struct MdsDocumentError {
    pub path: String,
    pub reason: String,
}

pub(super) fn refused(path: impl Into<String>, reason: impl Into<String>) -> MdsDocumentError {
    MdsDocumentError { path: path.into(), reason: reason.into() }
}

/// Reads a document, naming the path of the first value that does not fit.
pub(super) fn read<T: DeserializeOwned>(document: serde_json::Value) -> Result<T, MdsDocumentError> {
    serde_path_to_error::deserialize(document)
        .map_err(|error| refused(error.path().to_string(), error.into_inner().to_string()))
}

/// For fields the model makes optional but not nullable: absent is `None` (with
/// `#[serde(default)]`), `null` is refused.
pub(super) fn not_null<'de, D: Deserializer<'de>, T: Deserialize<'de>>(deserializer: D) -> Result<Option<T>, D::Error> {
    T::deserialize(deserializer).map(Some)
}

/// For fields the model requires but allows `null`: absent is refused.
pub(super) fn required_nullable<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    deserializer: D,
) -> Result<Option<T>, D::Error> {
    Option::<T>::deserialize(deserializer)
}

/// A vocabulary word as MDS writes it (`on_trip`), for paths and reasons.
pub(super) fn wire_name(word: impl Serialize) -> String {
    serde_json::to_value(word).ok().and_then(|value| value.as_str().map(str::to_owned)).unwrap_or_default()
}

/// Refuses a repeated item (`uniqueItems`), naming the repetition.
pub(super) fn unique<T: PartialEq>(items: &[T], path: &str) -> Result<(), MdsDocumentError> {
    match items.iter().enumerate().find(|(i, item)| items[..*i].contains(item)) {
        Some((i, _)) => Err(refused(format!("{path}[{i}]"), "repeats an earlier item")),
        None => Ok(()),
    }
}

mod city;
mod compile;
mod documents;
mod policy;
mod vocabulary;

pub use city::*;
pub use compile::*;
pub use documents::*;
pub use policy::*;
pub use vocabulary::*;

#[cfg(test)]
mod tests;
