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

fn refused(path: impl Into<String>, reason: impl Into<String>) -> MdsDocumentError {
    MdsDocumentError { path: path.into(), reason: reason.into() }
}

/// Reads a document, naming the path of the first value that does not fit.
fn read<T: DeserializeOwned>(document: serde_json::Value) -> Result<T, MdsDocumentError> {
    serde_path_to_error::deserialize(document)
        .map_err(|error| refused(error.path().to_string(), error.into_inner().to_string()))
}

/// For fields the model makes optional but not nullable: absent is `None` (with
/// `#[serde(default)]`), `null` is refused.
fn not_null<'de, D: Deserializer<'de>, T: Deserialize<'de>>(deserializer: D) -> Result<Option<T>, D::Error> {
    T::deserialize(deserializer).map(Some)
}

/// For fields the model requires but allows `null`: absent is refused.
fn required_nullable<'de, D: Deserializer<'de>, T: Deserialize<'de>>(deserializer: D) -> Result<Option<T>, D::Error> {
    Option::<T>::deserialize(deserializer)
}

/// A vocabulary word as MDS writes it (`on_trip`), for paths and reasons.
fn wire_name(word: impl Serialize) -> String {
    serde_json::to_value(word).ok().and_then(|value| value.as_str().map(str::to_owned)).unwrap_or_default()
}

/// Refuses a repeated item (`uniqueItems`), naming the repetition.
fn unique<T: PartialEq>(items: &[T], path: &str) -> Result<(), MdsDocumentError> {
    match items.iter().enumerate().find(|(i, item)| items[..*i].contains(item)) {
        Some((i, _)) => Err(refused(format!("{path}[{i}]"), "repeats an earlier item")),
        None => Ok(()),
    }
}

// --- The MDS 2.0 vocabularies (`models/data-types`) -------------------------------------------

/// MDS `mode`: which kind of service a policy governs. Kickboard is micromobility.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    CarShare,
    DeliveryRobots,
    Micromobility,
    PassengerServices,
}

/// Every MDS vehicle state (`vehicle-state.yaml`); the Provider feed uses a few
/// (`mds::VehicleState`), a city's rules may name any.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MdsState {
    Removed,
    Available,
    NonOperational,
    Reserved,
    OnTrip,
    Stopped,
    NonContactable,
    Missing,
    Elsewhere,
}

impl MdsState {
    /// A board standing somewhere: where a ride ends.
    fn is_parked(self) -> bool {
        matches!(self, MdsState::Available | MdsState::NonOperational | MdsState::Reserved)
    }
}

/// Every MDS event type (`event-type.yaml`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MdsEventType {
    AgencyDropOff,
    AgencyPickUp,
    BatteryCharged,
    BatteryLow,
    ChangedGeographies,
    ChargingEnd,
    ChargingStart,
    CommsLost,
    CommsRestored,
    CompliancePickUp,
    CustomerCancellation,
    Decommissioned,
    DriverCancellation,
    FuelingEnd,
    FuelingStart,
    Located,
    Maintenance,
    MaintenanceEnd,
    MaintenancePickUp,
    NotLocated,
    OffHours,
    OnHours,
    OrderDropOff,
    OrderPickUp,
    PassengerCancellation,
    ProviderCancellation,
    ProviderDropOff,
    RebalancePickUp,
    Recommission,
    RemoteEnd,
    RemoteStart,
    ReservationCancel,
    ReservationStart,
    ReservationStop,
    ServiceEnd,
    ServiceStart,
    SystemResume,
    SystemSuspend,
    TripCancel,
    TripEnd,
    TripEnterJurisdiction,
    TripLeaveJurisdiction,
    TripPause,
    TripResume,
    TripStart,
    TripStop,
    Unspecified,
}

/// Every MDS `vehicle_type` (`vehicle-type.yaml`, GBFS form factors and a few more).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MdsVehicleKind {
    Bicycle,
    Bus,
    CargoBicycle,
    Car,
    DeliveryRobot,
    Moped,
    Motorcycle,
    ScooterStanding,
    ScooterSeated,
    Truck,
    Other,
}

/// Every MDS `propulsion_type` (`propulsion-type.yaml`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MdsPropulsion {
    Human,
    ElectricAssist,
    Electric,
    Combustion,
    CombustionDiesel,
    Hybrid,
    HydrogenFuelCell,
    PlugInHybrid,
}

/// A day of the week as MDS writes it (`day.yaml`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Day {
    Sun,
    Mon,
    Tue,
    Wed,
    Thu,
    Fri,
    Sat,
}

impl From<Day> for Weekday {
    fn from(day: Day) -> Weekday {
        match day {
            Day::Sun => Weekday::Sun,
            Day::Mon => Weekday::Mon,
            Day::Tue => Weekday::Tue,
            Day::Wed => Weekday::Wed,
            Day::Thu => Weekday::Thu,
            Day::Fri => Weekday::Fri,
            Day::Sat => Weekday::Sat,
        }
    }
}

/// `rule_type`: the model's `oneOf` admits these four.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
enum RuleType {
    Count,
    Time,
    Speed,
    User,
}

/// Every `rule_units` a rule type admits; which one fits which type is checked on reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum RuleUnit {
    Devices,
    Mph,
    Kph,
    Seconds,
    Minutes,
    Hours,
    Days,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpeedUnit {
    Kph,
    Mph,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeUnit {
    Seconds,
    Minutes,
    Hours,
    Days,
}

/// `rate_recurrence`: `once_on_*` for count and speed rules, the others for time rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RateRecurrence {
    OnceOnMatch,
    OnceOnUnmatch,
    EachTimeUnit,
    PerCompleteTimeUnit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RateAppliesWhen {
    InBounds,
    #[default]
    OutOfBounds,
}

/// An MDS time: whole milliseconds since the epoch, from 2018 on (`timestamp.yaml`).
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(try_from = "f64")]
struct MdsTimestamp(DateTime<Utc>);

/// `timestamp.yaml`'s minimum: 2018-01-01T00:00:00Z.
const EARLIEST_MDS_TIME_MS: f64 = 1_514_764_800_000.0;

impl TryFrom<f64> for MdsTimestamp {
    type Error = &'static str;
    fn try_from(ms: f64) -> Result<Self, &'static str> {
        if ms.fract() != 0.0 {
            return Err("an MDS time is whole milliseconds since the epoch");
        }
        if ms < EARLIEST_MDS_TIME_MS {
            return Err("an MDS time is at or after 2018-01-01 (1514764800000)");
        }
        // Below 2^53 the number is exactly an integer of milliseconds; past that it is no date.
        DateTime::from_timestamp_millis(ms as i64).map(Self).ok_or("too far in the future to be a date")
    }
}

/// A UUID written as MDS writes them: lowercase, hyphenated (`uuid.yaml`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
struct MdsUuid(Uuid);

impl TryFrom<String> for MdsUuid {
    type Error = &'static str;
    fn try_from(text: String) -> Result<Self, &'static str> {
        const SHAPE: &str = "a UUID in lowercase hex, hyphenated (8-4-4-4-12)";
        let uuid = Uuid::try_parse(&text).map_err(|_| SHAPE)?;
        if uuid.hyphenated().to_string() != text {
            return Err(SHAPE);
        }
        Ok(Self(uuid))
    }
}

fn uuids(ids: Option<Vec<MdsUuid>>) -> Vec<Uuid> {
    ids.unwrap_or_default().into_iter().map(|id| id.0).collect()
}

/// `string.yaml`: one line of at most 255 characters.
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "String")]
struct MdsText(String);

impl TryFrom<String> for MdsText {
    type Error = &'static str;
    fn try_from(text: String) -> Result<Self, &'static str> {
        if text.chars().count() > 255 || text.contains(['\n', '\r', '\u{2028}', '\u{2029}']) {
            return Err("one line of at most 255 characters");
        }
        Ok(Self(text))
    }
}

/// A time of day `hh:mm:ss`, 00:00:00 to 23:59:59 (`iso-time.yaml`), in seconds since midnight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
struct TimeOfDay(u32);

impl TryFrom<String> for TimeOfDay {
    type Error = &'static str;
    fn try_from(text: String) -> Result<Self, &'static str> {
        const SHAPE: &str = "a time of day hh:mm:ss, from 00:00:00 to 23:59:59";
        let bytes = text.as_bytes();
        if bytes.len() != 8 || bytes[2] != b':' || bytes[5] != b':' {
            return Err(SHAPE);
        }
        let number = |at: usize| match (bytes[at], bytes[at + 1]) {
            (tens @ b'0'..=b'9', ones @ b'0'..=b'9') => Ok(u32::from(tens - b'0') * 10 + u32::from(ones - b'0')),
            _ => Err(SHAPE),
        };
        let (hours, minutes, seconds) = (number(0)?, number(3)?, number(6)?);
        if hours > 23 || minutes > 59 || seconds > 59 {
            return Err(SHAPE);
        }
        Ok(Self(hours * 3600 + minutes * 60 + seconds))
    }
}

/// A BCP 47 language tag as `language-tag.yaml` restricts it: a language (2–3 letters), up to
/// three extensions (3 letters), a script (4 letters), a region (2 letters or 3 digits).
struct LanguageTag(String);

impl TryFrom<String> for LanguageTag {
    type Error = &'static str;
    fn try_from(tag: String) -> Result<Self, &'static str> {
        let letters =
            |part: &str, lens: &[usize]| lens.contains(&part.len()) && part.bytes().all(|b| b.is_ascii_alphabetic());
        let mut parts = tag.split('-').peekable();
        let language = parts.next().unwrap_or_default();
        let mut well_formed = letters(language, &[2, 3]);
        for _ in 0..3 {
            if parts.next_if(|part| letters(part, &[3])).is_none() {
                break;
            }
        }
        parts.next_if(|part| letters(part, &[4]));
        parts.next_if(|part| letters(part, &[2]) || (part.len() == 3 && part.bytes().all(|b| b.is_ascii_digit())));
        well_formed &= parts.next().is_none();
        if well_formed { Ok(Self(tag)) } else { Err("a language tag such as ko, en or en-US") }
    }
}

/// `currency.yaml`: an ISO 4217 code.
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "String")]
struct CurrencyCode(String);

impl TryFrom<String> for CurrencyCode {
    type Error = &'static str;
    fn try_from(code: String) -> Result<Self, &'static str> {
        match code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase()) {
            true => Ok(Self(code)),
            false => Err("an ISO 4217 currency code such as KRW"),
        }
    }
}

// --- The documents as MDS writes them ---------------------------------------------------------

/// `models/policy.yaml`. Unknown fields are allowed: the model does not forbid them.
#[derive(Deserialize)]
struct PolicyDocument {
    name: MdsText,
    mode_id: Mode,
    policy_id: MdsUuid,
    #[serde(default, deserialize_with = "not_null")]
    provider_ids: Option<Vec<MdsUuid>>,
    description: MdsText,
    #[serde(default)]
    currency: Option<CurrencyCode>,
    start_date: MdsTimestamp,
    #[serde(default, deserialize_with = "not_null")]
    end_date: Option<MdsTimestamp>,
    published_date: MdsTimestamp,
    #[serde(default, deserialize_with = "not_null")]
    prev_policies: Option<Vec<MdsUuid>>,
    rules: Vec<RuleDocument>,
}

/// `models/policy-rule.yaml` (`additionalProperties: false`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleDocument {
    name: MdsText,
    rule_id: MdsUuid,
    rule_type: RuleType,
    geographies: Vec<MdsUuid>,
    /// Keys read after, so that a refused one is named in the path.
    states: BTreeMap<String, Vec<MdsEventType>>,
    #[serde(default)]
    rule_units: Option<RuleUnit>,
    #[serde(default, deserialize_with = "not_null")]
    vehicle_types: Option<Vec<MdsVehicleKind>>,
    #[serde(default, deserialize_with = "not_null")]
    propulsion_types: Option<Vec<MdsPropulsion>>,
    #[serde(default)]
    minimum: Option<i64>,
    #[serde(default)]
    maximum: Option<i64>,
    #[serde(default)]
    inclusive_minimum: Option<bool>,
    #[serde(default)]
    inclusive_maximum: Option<bool>,
    #[serde(default)]
    rate_amount: Option<i64>,
    #[serde(default)]
    rate_recurrence: Option<RateRecurrence>,
    #[serde(default)]
    rate_applies_when: Option<RateAppliesWhen>,
    #[serde(default, deserialize_with = "not_null")]
    start_time: Option<TimeOfDay>,
    #[serde(default, deserialize_with = "not_null")]
    end_time: Option<TimeOfDay>,
    #[serde(default, deserialize_with = "not_null")]
    days: Option<Vec<Day>>,
    #[serde(default)]
    /// Keys read after, so that a refused one is named in the path.
    messages: Option<BTreeMap<String, String>>,
    /// `format: uri` is an annotation in JSON Schema 2020-12, not a constraint.
    #[serde(default)]
    value_url: Option<String>,
}

/// `models/geography.yaml` (`additionalProperties: false`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GeographyDocument {
    name: MdsText,
    #[serde(default, deserialize_with = "not_null")]
    description: Option<MdsText>,
    #[serde(default, deserialize_with = "not_null")]
    geography_type: Option<String>,
    geography_id: MdsUuid,
    geography_json: FeatureCollection,
    #[serde(default, deserialize_with = "not_null")]
    effective_date: Option<MdsTimestamp>,
    published_date: MdsTimestamp,
    #[serde(default, deserialize_with = "not_null")]
    retire_date: Option<MdsTimestamp>,
    #[serde(default, deserialize_with = "not_null")]
    prev_geographies: Option<Vec<MdsUuid>>,
}

/// A GeoJSON FeatureCollection; GeoJSON's foreign members (and `bbox`) are allowed.
#[derive(Deserialize)]
struct FeatureCollection {
    #[serde(rename = "type")]
    _type: FeatureCollectionType,
    features: Vec<Feature>,
}

#[derive(Deserialize)]
enum FeatureCollectionType {
    FeatureCollection,
}

#[derive(Deserialize)]
struct Feature {
    #[serde(rename = "type")]
    _type: FeatureType,
    #[serde(rename = "id", default, deserialize_with = "feature_id")]
    _id: Option<()>,
    #[serde(rename = "properties", deserialize_with = "required_nullable")]
    _properties: Option<serde_json::Map<String, serde_json::Value>>,
    /// Read as a zone's area is: Polygon or MultiPolygon only (`null` is refused after).
    #[serde(deserialize_with = "required_nullable")]
    geometry: Option<GeometryForm>,
}

#[derive(Deserialize)]
enum FeatureType {
    Feature,
}

/// GeoJSON: a feature's `id` is a number or a string.
fn feature_id<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<()>, D::Error> {
    match serde_json::Value::deserialize(deserializer)? {
        serde_json::Value::Number(_) | serde_json::Value::String(_) => Ok(Some(())),
        _ => Err(serde::de::Error::custom("a feature's id is a number or a string")),
    }
}

// --- Geography ----------------------------------------------------------------------------------

/// A span of time, `from` included, `until` excluded; `until` (if any) is after `from`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    from: DateTime<Utc>,
    until: Option<DateTime<Utc>>,
}

impl Period {
    /// `None`: empty.
    fn new(from: DateTime<Utc>, until: Option<DateTime<Utc>>) -> Option<Self> {
        match until {
            Some(until) if until <= from => None,
            _ => Some(Self { from, until }),
        }
    }

    /// The time in both, if any.
    fn within(&self, other: &Period) -> Option<Period> {
        let until = match (self.until, other.until) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        Period::new(self.from.max(other.from), until)
    }

    pub fn from(&self) -> DateTime<Utc> {
        self.from
    }

    /// `None`: no end.
    pub fn until(&self) -> Option<DateTime<Utc>> {
        self.until
    }

    fn contains(&self, at: DateTime<Utc>) -> bool {
        at >= self.from && self.until.is_none_or(|until| at < until)
    }
}

/// An MDS geography, checked: its features make one area a zone could have.
#[derive(Debug, Clone, PartialEq)]
pub struct Geography {
    pub geography_id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub geography_type: Option<String>,
    /// Every feature's polygons, as one MultiPolygon.
    pub area: ZoneGeometry,
    pub published: DateTime<Utc>,
    /// From `effective_date` (else `published_date`) until `retire_date`.
    pub live: Period,
    pub prev_geographies: Vec<Uuid>,
}

impl Geography {
    /// Reads an MDS 2.0 geography, refusing (with the JSON path) what the model refuses and a
    /// feature that is not an area a zone accepts.
    pub fn parse(document: serde_json::Value) -> Result<Self, MdsDocumentError> {
        let document: GeographyDocument = read(document)?;
        let prev_geographies = document.prev_geographies.unwrap_or_default();
        unique(&prev_geographies, "prev_geographies")?;
        let published = document.published_date.0;
        let effective = document.effective_date.map_or(published, |date| date.0);
        if effective < published {
            return Err(refused("effective_date", "must be at or after published_date"));
        }
        let live = Period::new(effective, document.retire_date.map(|date| date.0))
            .ok_or_else(|| refused("retire_date", "must be after effective_date (else published_date)"))?;
        if document.geography_json.features.is_empty() {
            return Err(refused("geography_json.features", "a geography needs at least one area"));
        }
        let mut polygons = Vec::new();
        for (i, feature) in document.geography_json.features.into_iter().enumerate() {
            let path = format!("geography_json.features[{i}].geometry");
            let geometry =
                feature.geometry.ok_or_else(|| refused(&path, "a zone's area is a Polygon or MultiPolygon"))?;
            let at_fault =
                |error: super::zones::GeometryError| refused(format!("{path}.{}", error.field), error.reason);
            let geometry = geometry.parse().map_err(at_fault)?;
            geometry.validate().map_err(at_fault)?;
            polygons.extend(geometry.as_multi_polygon());
        }
        let area = ZoneGeometry::MultiPolygon { coordinates: polygons };
        // Each feature is a valid area: only the size of all of them together can fail here.
        area.validate().map_err(|error| refused("geography_json", error.reason))?;
        Ok(Self {
            geography_id: document.geography_id.0,
            name: document.name.0,
            description: document.description.map(|text| text.0),
            geography_type: document.geography_type,
            area,
            published,
            live,
            prev_geographies: uuids(Some(prev_geographies)),
        })
    }
}

// --- Policy -------------------------------------------------------------------------------------

/// A policy, checked: its rules are consistent with each other, whatever geographies exist
/// ([`check_references`] checks those).
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    pub policy_id: Uuid,
    pub name: String,
    pub description: String,
    pub mode: Mode,
    /// Empty: every provider.
    pub provider_ids: Vec<Uuid>,
    pub currency: Option<String>,
    /// `start_date` until `end_date`.
    pub in_force: Period,
    pub published: DateTime<Utc>,
    pub prev_policies: Vec<Uuid>,
    pub rules: Vec<Rule>,
}

/// One rule of a policy.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub rule_id: Uuid,
    pub name: String,
    pub measure: Measure,
    /// At least one.
    pub geographies: Vec<Uuid>,
    /// Each state, and the events that bring a board into it (empty: any).
    pub states: BTreeMap<MdsState, Vec<MdsEventType>>,
    pub boards: BoardFilter,
    pub window: RuleWindow,
    /// By language tag.
    pub messages: BTreeMap<String, String>,
    pub value_url: Option<String>,
}

/// What a rule measures, in the units its type admits.
#[derive(Debug, Clone, PartialEq)]
pub enum Measure {
    /// Boards (`rule_units: devices`).
    Count {
        bounds: Bounds,
        fee: Option<Fee>,
    },
    Speed {
        unit: SpeedUnit,
        bounds: Bounds,
        fee: Option<Fee>,
    },
    Time {
        unit: TimeUnit,
        bounds: Bounds,
        fee: Option<Fee>,
    },
    /// A rule for riders (an age, a licence): no units, bounds or fee.
    User,
}

/// A rule's `minimum` and `maximum`, each in bounds or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounds {
    pub minimum: i64,
    pub inclusive_minimum: bool,
    /// `None`: no maximum.
    pub maximum: Option<i64>,
    pub inclusive_maximum: bool,
}

impl Bounds {
    /// The most whole units in bounds (a maximum excluded is one less), never below 0.
    fn most_allowed(&self) -> Option<u64> {
        let most = self.maximum.map(|maximum| if self.inclusive_maximum { maximum } else { maximum - 1 });
        most.map(|most| u64::try_from(most).unwrap_or(0))
    }

    /// Whether some number above 0 is required (`minimum` 1 or more, or 0 excluded).
    fn requires_some(&self) -> bool {
        self.minimum > 0 || (self.minimum == 0 && !self.inclusive_minimum)
    }
}

/// A rule's fee: `rate_amount` in the policy's currency (MDS: USD cents if none).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fee {
    pub amount: i64,
    pub recurrence: Option<RateRecurrence>,
    pub applies_when: RateAppliesWhen,
}

/// The boards a rule names: `vehicle_types` and `propulsion_types`, empty for all.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BoardFilter {
    pub vehicle_types: Vec<MdsVehicleKind>,
    pub propulsion_types: Vec<MdsPropulsion>,
}

impl BoardFilter {
    /// Whether a board of Kickboard's `kind` is one of them.
    pub fn admits(&self, kind: &VehicleType) -> bool {
        let vehicle_type = match kind.form_factor {
            FormFactor::ScooterStanding => MdsVehicleKind::ScooterStanding,
        };
        let propulsion = match kind.propulsion {
            Propulsion::Electric => MdsPropulsion::Electric,
        };
        (self.vehicle_types.is_empty() || self.vehicle_types.contains(&vehicle_type))
            && (self.propulsion_types.is_empty() || self.propulsion_types.contains(&propulsion))
    }

    /// Whether some board could be named by both.
    fn meets(&self, other: &BoardFilter) -> bool {
        fn share<T: PartialEq>(a: &[T], b: &[T]) -> bool {
            a.is_empty() || b.is_empty() || a.iter().any(|item| b.contains(item))
        }
        share(&self.vehicle_types, &other.vehicle_types) && share(&self.propulsion_types, &other.propulsion_types)
    }
}

const DAY_SECONDS: u32 = 24 * 3600;
const WEEK_SECONDS: u32 = 7 * DAY_SECONDS;

/// When in the week a rule applies, in the city's local time: on each of its days (all if the
/// rule lists none) from `start_time` through `end_time`, that last second included (MDS's
/// default 00:00:00–23:59:59 is the whole day). A `start_time` after the `end_time` is a window
/// across midnight: 22:00:00–06:00:00 on a Friday applies from 22:00 on Friday to 06:00:00
/// on Saturday, whatever Saturday's own days say: the day listed is the day the window opens.
/// Equal times are refused (a whole day, nothing or one second: MDS does not say).
/// A local time the clocks skip is read with the offset before the skip; one they repeat, at
/// its first occurrence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleWindow {
    /// Indexed from Sunday.
    days: [bool; 7],
    /// Seconds since local midnight.
    start: u32,
    /// Seconds since local midnight of the opening day, excluded: after `start`, at most two days.
    end: u32,
}

impl RuleWindow {
    fn new(days: &[Day], start: TimeOfDay, end: TimeOfDay) -> Option<Self> {
        let mut open_on = [days.is_empty(); 7];
        for day in days {
            open_on[Weekday::from(*day).num_days_from_sunday() as usize] = true;
        }
        let end = match end.0.cmp(&start.0) {
            std::cmp::Ordering::Equal => return None,
            std::cmp::Ordering::Greater => end.0 + 1,
            std::cmp::Ordering::Less => DAY_SECONDS + end.0 + 1,
        };
        Some(Self { days: open_on, start: start.0, end })
    }

    /// The spans of the week it covers, in seconds from Sunday 00:00 local, a span past
    /// Saturday midnight wrapping to Sunday.
    fn weekly_spans(&self) -> Vec<(u32, u32)> {
        let mut spans = Vec::new();
        for day in (0..7u32).filter(|day| self.days[*day as usize]) {
            let (start, end) = (day * DAY_SECONDS + self.start, day * DAY_SECONDS + self.end);
            if end <= WEEK_SECONDS {
                spans.push((start, end));
            } else {
                spans.extend([(start, WEEK_SECONDS), (0, end - WEEK_SECONDS)]);
            }
        }
        spans
    }

    /// Whether some moment of the week is in both.
    fn overlaps(&self, other: &RuleWindow) -> bool {
        let theirs = other.weekly_spans();
        self.weekly_spans().iter().any(|(start, end)| theirs.iter().any(|(s, e)| start < e && s < end))
    }

    /// The window opening on local `day`, if it opens that day.
    fn on(&self, day: NaiveDate, zone: Tz) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        let opens = self.days[day.weekday().num_days_from_sunday() as usize];
        opens.then(|| (local_instant(day, self.start, zone), local_instant(day, self.end, zone)))
    }

    fn contains(&self, at: DateTime<Utc>, zone: Tz) -> bool {
        let today = at.with_timezone(&zone).date_naive();
        // Yesterday's window may still be open past midnight.
        [today.pred_opt(), Some(today)]
            .into_iter()
            .flatten()
            .filter_map(|day| self.on(day, zone))
            .any(|(opens, closes)| opens <= at && at < closes)
    }

    /// Every opening and closing of the windows opening from the day before `from`'s to
    /// eight days after: whatever a week holds, and the window open at `from`.
    fn edges_from(&self, from: DateTime<Utc>, zone: Tz) -> Vec<DateTime<Utc>> {
        let first = from.with_timezone(&zone).date_naive() - Duration::days(1);
        first
            .iter_days()
            .take(10)
            .filter_map(|day| self.on(day, zone))
            .flat_map(|(opens, closes)| [opens, closes])
            .collect()
    }
}

/// The instant `seconds` after local midnight of `day` (two days at most) in `zone`.
fn local_instant(day: NaiveDate, seconds: u32, zone: Tz) -> DateTime<Utc> {
    let local: NaiveDateTime = day.and_time(chrono::NaiveTime::MIN) + Duration::seconds(i64::from(seconds));
    match zone.from_local_datetime(&local) {
        LocalResult::Single(at) | LocalResult::Ambiguous(at, _) => at.with_timezone(&Utc),
        LocalResult::None => {
            // Skipped by the clocks: read with the offset of a day before.
            let before = zone.offset_from_utc_datetime(&(local - Duration::days(1))).fix();
            Utc.from_utc_datetime(&(local - Duration::seconds(i64::from(before.local_minus_utc()))))
        }
    }
}

impl Policy {
    /// Reads an MDS 2.0 policy, refusing (with the JSON path) what the model refuses, an
    /// `end_date` not after `start_date`, equal `start_time` and `end_time`, a repeated rule
    /// id, and two rules that contradict each other (see [`contradicts`]).
    pub fn parse(document: serde_json::Value) -> Result<Self, MdsDocumentError> {
        let document: PolicyDocument = read(document)?;
        let provider_ids = document.provider_ids.unwrap_or_default();
        unique(&provider_ids, "provider_ids")?;
        let prev_policies = document.prev_policies.unwrap_or_default();
        unique(&prev_policies, "prev_policies")?;
        let in_force = Period::new(document.start_date.0, document.end_date.map(|date| date.0))
            .ok_or_else(|| refused("end_date", "must be after start_date"))?;
        if document.rules.is_empty() {
            return Err(refused("rules", "a policy has at least one rule"));
        }
        let mut rules: Vec<Rule> = Vec::new();
        for (i, rule) in document.rules.into_iter().enumerate() {
            let path = format!("rules[{i}]");
            let rule = Rule::read(rule, &path)?;
            if rules.iter().any(|earlier| earlier.rule_id == rule.rule_id) {
                return Err(refused(format!("{path}.rule_id"), "another rule has this id"));
            }
            if let Some(j) = rules.iter().position(|earlier| contradicts(earlier, &rule)) {
                let reason = format!(
                    "contradicts rules[{j}]: same rule type, geography, boards and state, in windows that \
                     overlap, with other bounds"
                );
                return Err(refused(path, reason));
            }
            rules.push(rule);
        }
        Ok(Self {
            policy_id: document.policy_id.0,
            name: document.name.0,
            description: document.description.0,
            mode: document.mode_id,
            provider_ids: uuids(Some(provider_ids)),
            currency: document.currency.map(|code| code.0),
            in_force,
            published: document.published_date.0,
            prev_policies: uuids(Some(prev_policies)),
            rules,
        })
    }
}

impl Rule {
    fn read(rule: RuleDocument, path: &str) -> Result<Self, MdsDocumentError> {
        let at = |field: &str| format!("{path}.{field}");
        if rule.geographies.is_empty() {
            return Err(refused(at("geographies"), "a rule covers at least one geography"));
        }
        unique(&rule.geographies, &at("geographies"))?;
        let mut states = BTreeMap::new();
        for (name, events) in rule.states {
            let state_path = at(&format!("states.{name}"));
            let state: MdsState = serde_json::from_value(serde_json::Value::String(name))
                .map_err(|error| refused(&state_path, format!("not an MDS vehicle state: {error}")))?;
            unique(&events, &state_path)?;
            states.insert(state, events);
        }
        let mut messages = BTreeMap::new();
        for (tag, text) in rule.messages.unwrap_or_default() {
            let tag =
                LanguageTag::try_from(tag.clone()).map_err(|reason| refused(at(&format!("messages.{tag}")), reason))?;
            messages.insert(tag.0, text);
        }
        let vehicle_types = rule.vehicle_types.unwrap_or_default();
        unique(&vehicle_types, &at("vehicle_types"))?;
        let propulsion_types = rule.propulsion_types.unwrap_or_default();
        unique(&propulsion_types, &at("propulsion_types"))?;
        let days = rule.days.unwrap_or_default();
        unique(&days, &at("days"))?;
        let window = RuleWindow::new(
            &days,
            rule.start_time.unwrap_or(TimeOfDay(0)),
            rule.end_time.unwrap_or(TimeOfDay(DAY_SECONDS - 1)),
        )
        .ok_or_else(|| refused(at("end_time"), "equals start_time: say the window (a whole day is omitting both)"))?;

        let bounds = Bounds {
            minimum: rule.minimum.unwrap_or(0),
            inclusive_minimum: rule.inclusive_minimum.unwrap_or(true),
            maximum: rule.maximum,
            inclusive_maximum: rule.inclusive_maximum.unwrap_or(true),
        };
        let fee = |recurrences: &[RateRecurrence]| match rule.rate_recurrence {
            Some(recurrence) if !recurrences.contains(&recurrence) => Err(refused(
                at("rate_recurrence"),
                format!("{} does not fit a {} rule", wire_name(recurrence), wire_name(rule.rule_type)),
            )),
            recurrence => Ok(rule.rate_amount.map(|amount| Fee {
                amount,
                recurrence,
                applies_when: rule.rate_applies_when.unwrap_or_default(),
            })),
        };
        let once = [RateRecurrence::OnceOnMatch, RateRecurrence::OnceOnUnmatch];
        let units = |admitted: &str| {
            refused(at("rule_units"), format!("a {} rule's rule_units is {admitted}", wire_name(rule.rule_type)))
        };
        let measure = match (rule.rule_type, rule.rule_units) {
            (RuleType::Count, Some(RuleUnit::Devices)) => Measure::Count { bounds, fee: fee(&once)? },
            (RuleType::Count, _) => return Err(units("devices")),
            (RuleType::Speed, Some(RuleUnit::Kph)) => Measure::Speed { unit: SpeedUnit::Kph, bounds, fee: fee(&once)? },
            (RuleType::Speed, Some(RuleUnit::Mph)) => Measure::Speed { unit: SpeedUnit::Mph, bounds, fee: fee(&once)? },
            (RuleType::Speed, _) => return Err(units("mph or kph")),
            (
                RuleType::Time,
                Some(unit @ (RuleUnit::Seconds | RuleUnit::Minutes | RuleUnit::Hours | RuleUnit::Days)),
            ) => {
                let unit = match unit {
                    RuleUnit::Seconds => TimeUnit::Seconds,
                    RuleUnit::Minutes => TimeUnit::Minutes,
                    RuleUnit::Hours => TimeUnit::Hours,
                    _ => TimeUnit::Days,
                };
                let per_unit = [RateRecurrence::EachTimeUnit, RateRecurrence::PerCompleteTimeUnit];
                Measure::Time { unit, bounds, fee: fee(&per_unit)? }
            }
            (RuleType::Time, _) => return Err(units("seconds, minutes, hours or days")),
            (RuleType::User, None) => {
                let fee_fields = [
                    ("rate_amount", rule.rate_amount.is_some()),
                    ("rate_recurrence", rule.rate_recurrence.is_some()),
                    ("rate_applies_when", rule.rate_applies_when.is_some()),
                ];
                if let Some((field, _)) = fee_fields.into_iter().find(|(_, given)| *given) {
                    return Err(refused(at(field), "a user rule has no fee"));
                }
                Measure::User
            }
            (RuleType::User, Some(_)) => return Err(units("null")),
        };
        Ok(Self {
            rule_id: rule.rule_id.0,
            name: rule.name.0,
            measure,
            geographies: uuids(Some(rule.geographies)),
            states,
            boards: BoardFilter { vehicle_types, propulsion_types },
            window,
            messages,
            value_url: rule.value_url,
        })
    }
}

/// Whether two rules of one policy contradict each other, which is refused: MDS gives rules no
/// order, so which would apply is undefined. They do when they are of the same type (with the
/// same units) over a common geography, for a board both could name, over a common state, in
/// windows sharing some moment of the week (a window across midnight included), and set
/// bounds or fees written differently. The same bounds twice is redundant, not contradictory.
fn contradicts(earlier: &Rule, later: &Rule) -> bool {
    let same_type = std::mem::discriminant(&earlier.measure) == std::mem::discriminant(&later.measure);
    same_type
        && earlier.measure != later.measure
        && earlier.geographies.iter().any(|geography| later.geographies.contains(geography))
        && earlier.boards.meets(&later.boards)
        && earlier.states.keys().any(|state| later.states.contains_key(state))
        && earlier.window.overlaps(&later.window)
}

/// Refuses a policy naming a geography that is not among `known`, at
/// `rules[i].geographies[j]`.
pub fn check_references(policy: &Policy, known: &[Geography]) -> Result<(), MdsDocumentError> {
    for (i, rule) in policy.rules.iter().enumerate() {
        for (j, geography_id) in rule.geographies.iter().enumerate() {
            if !known.iter().any(|geography| geography.geography_id == *geography_id) {
                return Err(refused(format!("rules[{i}].geographies[{j}]"), format!("no geography {geography_id}")));
            }
        }
    }
    Ok(())
}

// --- Compilation --------------------------------------------------------------------------------

/// What a rule becomes where rides are checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enforced {
    /// A zone over each of its geographies, with these rules.
    Zone(ZoneRules),
    /// At most `limit` available boards in each of its geographies.
    Cap { limit: u64 },
}

/// Why (part of) a rule is not enforced, for the import's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotEnforced {
    OtherMode(Mode),
    OtherProviders,
    Fee,
    TimeRule,
    UserRule,
    CountMinimum,
    SpeedMinimum,
    NoMaximum,
    /// A count of 0 over states that are not about rides (the crew's drop-offs, removed boards…).
    NotAboutRides,
    /// A count above 0 over states other than `available`.
    CapNotOverAvailable,
}

impl fmt::Display for NotEnforced {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NotEnforced::OtherMode(mode) => write!(f, "the policy governs {}, not micromobility", wire_name(mode)),
            NotEnforced::OtherProviders => f.write_str("the policy names other providers only"),
            NotEnforced::Fee => f.write_str("fees are not charged by Kickboard"),
            NotEnforced::TimeRule => f.write_str("time rules (how long a board stays) are not enforced"),
            NotEnforced::UserRule => f.write_str("user rules are not enforced"),
            NotEnforced::CountMinimum => f.write_str("a minimum number of boards is the crew's to plan, not enforced"),
            NotEnforced::SpeedMinimum => f.write_str("a minimum speed is not enforced"),
            NotEnforced::NoMaximum => f.write_str("no maximum: nothing to enforce"),
            NotEnforced::NotAboutRides => f.write_str("the states counted are not about rides: not enforced"),
            NotEnforced::CapNotOverAvailable => f.write_str("only caps on available boards are counted"),
        }
    }
}

/// A rule as compiled: what is enforced of it, and what is not and why.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleCompilation {
    pub rule_id: Uuid,
    pub rule_name: String,
    pub enforced: Option<Enforced>,
    pub not_enforced: Vec<NotEnforced>,
}

/// How each rule of `policy` is enforced for the provider `provider_id` (the mapping is in
/// the module's documentation). The import answers with it.
pub fn compile(policy: &Policy, provider_id: Uuid) -> Vec<RuleCompilation> {
    let for_everyone = if policy.mode != Mode::Micromobility {
        Some(NotEnforced::OtherMode(policy.mode))
    } else if !policy.provider_ids.is_empty() && !policy.provider_ids.contains(&provider_id) {
        Some(NotEnforced::OtherProviders)
    } else {
        None
    };
    policy
        .rules
        .iter()
        .map(|rule| {
            let (enforced, not_enforced) = match for_everyone {
                Some(reason) => (None, vec![reason]),
                None => compile_rule(rule),
            };
            RuleCompilation { rule_id: rule.rule_id, rule_name: rule.name.clone(), enforced, not_enforced }
        })
        .collect()
}

fn compile_rule(rule: &Rule) -> (Option<Enforced>, Vec<NotEnforced>) {
    match &rule.measure {
        Measure::Count { fee: Some(_), .. }
        | Measure::Speed { fee: Some(_), .. }
        | Measure::Time { fee: Some(_), .. } => (None, vec![NotEnforced::Fee]),
        Measure::Time { .. } => (None, vec![NotEnforced::TimeRule]),
        Measure::User => (None, vec![NotEnforced::UserRule]),
        Measure::Count { bounds, fee: None } => compile_count(&rule.states, bounds),
        Measure::Speed { unit, bounds, fee: None } => {
            let minimum = bounds.requires_some().then_some(NotEnforced::SpeedMinimum).into_iter().collect();
            match bounds.maximum {
                None => (None, [NotEnforced::NoMaximum].into_iter().chain(minimum).collect()),
                Some(maximum) => {
                    // A limiter cannot tell "at" the limit from "under" it: an excluded maximum is
                    // the same limit.
                    let maximum = u64::try_from(maximum).unwrap_or(0);
                    let kph = match unit {
                        SpeedUnit::Kph => maximum,
                        SpeedUnit::Mph => maximum * 1_609_344 / 1_000_000,
                    };
                    let rules = ZoneRules {
                        maximum_speed_kph: Some(u32::try_from(kph).unwrap_or(u32::MAX)),
                        ..ZoneRules::default()
                    };
                    (Some(Enforced::Zone(rules)), minimum)
                }
            }
        }
    }
}

fn compile_count(
    states: &BTreeMap<MdsState, Vec<MdsEventType>>,
    bounds: &Bounds,
) -> (Option<Enforced>, Vec<NotEnforced>) {
    let mut not_enforced = Vec::new();
    if bounds.requires_some() {
        not_enforced.push(NotEnforced::CountMinimum);
    }
    let enforced = match bounds.most_allowed() {
        None => {
            if not_enforced.is_empty() {
                not_enforced.push(NotEnforced::NoMaximum);
            }
            None
        }
        Some(0) => {
            let no_parking = states.iter().any(|(state, events)| {
                state.is_parked() && (events.is_empty() || events.contains(&MdsEventType::TripEnd))
            });
            let riding = states.get(&MdsState::OnTrip);
            let no_start = riding.is_some();
            let no_riding = riding.is_some_and(|events| events.as_slice() != [MdsEventType::TripStart]);
            if !(no_parking || no_start) {
                not_enforced.push(NotEnforced::NotAboutRides);
                None
            } else {
                Some(Enforced::Zone(ZoneRules {
                    ride_start_allowed: !no_start,
                    ride_end_allowed: !no_parking,
                    ride_through_allowed: !no_riding,
                    maximum_speed_kph: None,
                }))
            }
        }
        Some(limit) if states.contains_key(&MdsState::Available) => Some(Enforced::Cap { limit }),
        Some(_) => {
            not_enforced.push(NotEnforced::CapNotOverAvailable);
            None
        }
    };
    (enforced, not_enforced)
}

// --- The city's rules at an instant -------------------------------------------------------------

/// When a compiled rule holds.
#[derive(Debug, Clone, PartialEq)]
struct Reach {
    /// The policy's dates (until superseded) within the geography's.
    period: Period,
    window: RuleWindow,
}

impl Reach {
    fn holds_at(&self, at: DateTime<Utc>, zone: Tz) -> bool {
        self.period.contains(at) && self.window.contains(at, zone)
    }

    /// The instants after `at` it may start or stop holding.
    fn edges_after(&self, at: DateTime<Utc>, zone: Tz) -> impl Iterator<Item = DateTime<Utc>> {
        let windows_from = at.max(self.period.from);
        let dates = [Some(self.period.from), self.period.until].into_iter().flatten();
        dates.chain(self.window.edges_from(windows_from, zone)).filter(move |edge| *edge > at)
    }
}

/// A policy rule over one geography, compiled into a zone's rules.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyZone {
    pub policy_id: Uuid,
    pub policy_name: String,
    pub rule_id: Uuid,
    pub rule_name: String,
    pub geography_id: Uuid,
    pub geometry: ZoneGeometry,
    pub rules: ZoneRules,
    pub boards: BoardFilter,
    messages: BTreeMap<String, String>,
    reach: Reach,
}

impl PolicyZone {
    /// The refusal's text for a rider reading `language`, if the rule has messages.
    pub fn message(&self, language: &str) -> Option<&str> {
        message_in(&self.messages, language)
    }

    /// The zone `ZoneMap` places: id `mds:` and a UUID v5 of the rule and geography (stable
    /// across imports), named by the rule.
    pub fn to_zone(&self, priority: i32, updated_at: DateTime<Utc>) -> Zone {
        let zone_id = ZoneId::try_from(format!("mds:{}", Uuid::new_v5(&self.rule_id, self.geography_id.as_bytes())))
            .expect("mds: and a UUID is an id");
        let short_name: String = self.rule_name.chars().take(128).collect();
        let name = ZoneName::try_from(short_name)
            .or_else(|_| ZoneName::try_from(format!("MDS rule {}", self.rule_id)))
            .expect("a UUID names a zone");
        Zone { zone_id, name, priority, geometry: self.geometry.clone(), rules: self.rules, updated_at }
    }
}

/// A cap on a policy rule's geography: at most `limit` available boards (of those the rule
/// names), counted against the fleet elsewhere.
#[derive(Debug, Clone, PartialEq)]
pub struct FleetCap {
    pub policy_id: Uuid,
    pub rule_id: Uuid,
    pub rule_name: String,
    pub geography_id: Uuid,
    pub geometry: ZoneGeometry,
    pub limit: u64,
    /// The boards that count.
    pub boards: BoardFilter,
    reach: Reach,
}

/// The city's policies compiled for one provider, in the city's time zone: what holds at any
/// instant.
#[derive(Debug, Clone)]
pub struct CityRules {
    zone: Tz,
    zones: Vec<PolicyZone>,
    caps: Vec<FleetCap>,
}

impl CityRules {
    /// Compiles `policies` over `geographies` for `provider_id`, rule times read in `zone`. A
    /// policy stops applying when a policy naming it in `prev_policies` starts. Refuses a policy
    /// naming a geography not given (the store is inconsistent: nothing is left out silently).
    pub fn new(
        policies: &[Policy],
        geographies: &[Geography],
        zone: Tz,
        provider_id: Uuid,
    ) -> Result<Self, MdsDocumentError> {
        let mut city = Self { zone, zones: Vec::new(), caps: Vec::new() };
        for policy in policies {
            check_references(policy, geographies)
                .map_err(|error| refused(format!("policy {}: {}", policy.policy_id, error.path), error.reason))?;
            let superseded = policies
                .iter()
                .filter(|newer| newer.prev_policies.contains(&policy.policy_id))
                .map(|newer| newer.in_force.from)
                .min();
            let Some(in_force) = policy.in_force.within(&Period { from: policy.in_force.from, until: superseded })
            else {
                continue;
            };
            for (rule, compiled) in policy.rules.iter().zip(compile(policy, provider_id)) {
                let Some(enforced) = compiled.enforced else { continue };
                for geography in
                    geographies.iter().filter(|geography| rule.geographies.contains(&geography.geography_id))
                {
                    let Some(period) = in_force.within(&geography.live) else { continue };
                    let reach = Reach { period, window: rule.window.clone() };
                    match enforced {
                        Enforced::Zone(rules) => city.zones.push(PolicyZone {
                            policy_id: policy.policy_id,
                            policy_name: policy.name.clone(),
                            rule_id: rule.rule_id,
                            rule_name: rule.name.clone(),
                            geography_id: geography.geography_id,
                            geometry: geography.area.clone(),
                            rules,
                            boards: rule.boards.clone(),
                            messages: rule.messages.clone(),
                            reach,
                        }),
                        Enforced::Cap { limit } => city.caps.push(FleetCap {
                            policy_id: policy.policy_id,
                            rule_id: rule.rule_id,
                            rule_name: rule.name.clone(),
                            geography_id: geography.geography_id,
                            geometry: geography.area.clone(),
                            limit,
                            boards: rule.boards.clone(),
                            reach,
                        }),
                    }
                }
            }
        }
        Ok(city)
    }

    /// The policy zones in force at `at` for a board of `kind`.
    pub fn zones_at(&self, at: DateTime<Utc>, kind: &VehicleType) -> Vec<&PolicyZone> {
        self.zones.iter().filter(|zone| zone.boards.admits(kind) && zone.reach.holds_at(at, self.zone)).collect()
    }

    /// The caps in force at `at`.
    pub fn caps_at(&self, at: DateTime<Utc>) -> Vec<&FleetCap> {
        self.caps.iter().filter(|cap| cap.reach.holds_at(at, self.zone)).collect()
    }

    /// Which zones and caps hold at `at`, whatever the board.
    fn holding_at(&self, at: DateTime<Utc>) -> Vec<bool> {
        let zones = self.zones.iter().map(|zone| &zone.reach);
        zones.chain(self.caps.iter().map(|cap| &cap.reach)).map(|reach| reach.holds_at(at, self.zone)).collect()
    }

    /// The first instant after `at` when a zone or cap starts or stops holding (a window
    /// opening or closing, a policy or geography starting or ending): how long what holds at
    /// `at` may be published for. `None`: nothing ever changes.
    pub fn next_change_after(&self, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let reaches = self.zones.iter().map(|zone| &zone.reach).chain(self.caps.iter().map(|cap| &cap.reach));
        let edges: BTreeSet<DateTime<Utc>> = reaches.flat_map(|reach| reach.edges_after(at, self.zone)).collect();
        // A window closing as the next day's opens, or one opening before its policy starts,
        // changes nothing.
        edges.into_iter().find(|edge| self.holding_at(*edge - Duration::milliseconds(1)) != self.holding_at(*edge))
    }
}

/// Which MDS document a city published.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum CityDocumentKind {
    Geography,
    Policy,
}

/// An MDS document as a city published it and an admin imported it: kept as given, so it reads
/// back the same, and parsed again wherever its rules are compiled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CityDocument {
    pub kind: CityDocumentKind,
    pub id: Uuid,
    pub document: serde_json::Value,
}

impl CityDocument {
    /// The document's `ZoneChanged`-like event: the zones in force changed.
    pub fn imported(&self, now: DateTime<Utc>) -> EventEnvelope {
        let version = u64::try_from(now.timestamp_millis()).unwrap_or_default();
        let event = DomainEvent::CityDocumentImported { kind: self.kind, id: self.id };
        EventEnvelope::new(now, format!("{}:{}", self.kind.name(), self.id), version, None, event)
    }
}

impl CityDocumentKind {
    pub fn name(self) -> &'static str {
        match self {
            CityDocumentKind::Geography => "geography",
            CityDocumentKind::Policy => "policy",
        }
    }
}

impl CityRules {
    /// The rules of the stored documents (each parsed again: they were checked at import).
    pub fn of_documents(documents: &[CityDocument], zone: Tz, provider_id: Uuid) -> Result<Self, MdsDocumentError> {
        let mut geographies = Vec::new();
        let mut policies = Vec::new();
        for stored in documents {
            let at = |error: MdsDocumentError| {
                refused(format!("{} {}: {}", stored.kind.name(), stored.id, error.path), error.reason)
            };
            match stored.kind {
                CityDocumentKind::Geography => geographies.push(Geography::parse(stored.document.clone()).map_err(at)?),
                CityDocumentKind::Policy => policies.push(Policy::parse(stored.document.clone()).map_err(at)?),
            }
        }
        Self::new(&policies, &geographies, zone, provider_id)
    }

    /// Whether no rule of the city is compiled (none imported, or none Kickboard enforces).
    pub fn is_empty(&self) -> bool {
        self.zones.is_empty() && self.caps.is_empty()
    }

    /// The city's zones in force at `at`, as the zone map places them. Those for some board of
    /// the catalogue: its types are all standing electric scooters, so a rule applies to all of
    /// them or to none (a test holds the catalogue to that).
    pub fn city_zones_at(&self, at: DateTime<Utc>) -> Vec<CityZone> {
        self.zones
            .iter()
            .filter(|zone| vehicle_types().iter().any(|kind| zone.boards.admits(kind)))
            .filter(|zone| zone.reach.holds_at(at, self.zone))
            .map(|zone| CityZone {
                zone: zone.to_zone(i32::MIN, at),
                rule: format!("policy {} ({}), rule {}", zone.policy_name, zone.policy_id, zone.rule_name),
                messages: zone.messages.clone(),
            })
            .collect()
    }
}

/// A fleet cap in force, and the boards it counts now.
#[derive(Debug, Clone, PartialEq)]
pub struct CapStanding<'a> {
    pub cap: &'a FleetCap,
    /// Available boards (of those the rule names) inside the cap's geography.
    pub count: u64,
}

impl CapStanding<'_> {
    /// Whether the fleet keeps within the cap.
    pub fn met(&self) -> bool {
        self.count <= self.cap.limit
    }
}

impl CityRules {
    /// Each cap in force at `at`, with the available boards of `fleet` inside its geography
    /// (its edge included, as zones count it).
    pub fn cap_standings<'a>(&'a self, at: DateTime<Utc>, fleet: &[Kickboard]) -> Vec<CapStanding<'a>> {
        let available: Vec<&Kickboard> =
            fleet.iter().filter(|board| board.status() == KickboardStatus::Available).collect();
        self.caps_at(at)
            .into_iter()
            .map(|cap| {
                // A kept geography was checked when imported: its area is valid.
                let area = cap.geometry.validate().unwrap_or_else(|_| MultiPolygon::new(Vec::new()));
                let count = available
                    .iter()
                    .filter(|board| {
                        find_vehicle_type(&board.vehicle_type_id).is_some_and(|kind| cap.boards.admits(kind))
                    })
                    .filter(|board| area.intersects(&Coord { x: board.location.lon(), y: board.location.lat() }))
                    .count();
                CapStanding { cap, count: u64::try_from(count).unwrap_or(u64::MAX) }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::geo::Coordinates;
    use crate::domain::vehicle::vehicle_types;
    use crate::domain::zones::{ZoneMap, ZoneSet};
    use serde_json::{Value, json};

    const HONGDAE: &str = "1f0b6c4e-2d3a-4b5c-8d9e-0a1b2c3d4e5f";
    const BANPO: &str = "2a1c7d5f-3e4b-4c6d-9e0f-1b2c3d4e5f60";
    const POLICY: &str = "3b2d8e60-4f5c-4d7e-8f10-2c3d4e5f6071";
    const RULE: &str = "4c3e9f71-5061-4e8f-9021-3d4e5f607182";
    const PROVIDER: Uuid = Uuid::from_u128(7);
    const SEOUL: Tz = chrono_tz::Asia::Seoul;
    /// 2025-05-01 and 2025-05-16 00:00 KST, in MDS milliseconds.
    const MAY_1: i64 = 1_746_025_200_000;
    const MAY_16: i64 = 1_747_321_200_000;
    const JUNE_1: i64 = 1_748_703_600_000;

    fn kst(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(&format!("{text}+09:00")).unwrap().with_timezone(&Utc)
    }

    /// A small square street block, `[lon, lat]` rings as GeoJSON writes them.
    fn block(west: f64, south: f64) -> Value {
        let (east, north) = (west + 0.002, south + 0.0015);
        json!([[[west, south], [east, south], [east, north], [west, north], [west, south]]])
    }

    fn geography(id: &str, name: &str, west: f64, south: f64) -> Value {
        json!({
            "geography_id": id,
            "name": name,
            "geography_type": "policy_zone",
            "published_date": MAY_1,
            "geography_json": {"type": "FeatureCollection", "features": [
                {"type": "Feature", "id": 1, "properties": {"name": name},
                 "geometry": {"type": "Polygon", "coordinates": block(west, south)}}
            ]},
        })
    }

    /// Hongdae's Red Road (around 37.5557, 126.9240) and the Banpo 학원가 (around 37.5045, 126.9980).
    fn seoul_geographies() -> Vec<Value> {
        vec![geography(HONGDAE, "홍대 레드로드", 126.923, 37.555), geography(BANPO, "반포 학원가", 126.997, 37.504)]
    }

    /// Both streets closed to kickboards 12:00–23:00 every day from 2025-05-16.
    fn kickboard_free_streets() -> Value {
        json!({
            "policy_id": POLICY,
            "name": "킥보드 없는 거리",
            "description": "Hongdae Red Road and the Banpo 학원가: no kickboards 12:00-23:00",
            "mode_id": "micromobility",
            "start_date": MAY_16,
            "published_date": MAY_1,
            "rules": [{
                "rule_id": RULE,
                "name": "Kickboard-free streets",
                "rule_type": "count",
                "rule_units": "devices",
                "geographies": [HONGDAE, BANPO],
                "states": {"available": [], "on_trip": []},
                "vehicle_types": ["scooter_standing"],
                "maximum": 0,
                "start_time": "12:00:00",
                "end_time": "23:00:00",
                "messages": {
                    "ko": "12:00~23:00 킥보드 통행 금지 구역입니다",
                    "en-US": "Kickboards are not allowed here from 12:00 to 23:00",
                },
            }],
        })
    }

    fn geographies() -> Vec<Geography> {
        seoul_geographies().into_iter().map(|document| Geography::parse(document).unwrap()).collect()
    }

    fn city(policies: Vec<Value>) -> CityRules {
        let policies: Vec<Policy> = policies.into_iter().map(|document| Policy::parse(document).unwrap()).collect();
        CityRules::new(&policies, &geographies(), SEOUL, PROVIDER).unwrap()
    }

    fn board() -> &'static VehicleType {
        &vehicle_types()[0]
    }

    fn closed_at(city: &CityRules, at: &str) -> Vec<Uuid> {
        city.zones_at(kst(at), board()).iter().map(|zone| zone.geography_id).collect()
    }

    /// The policy with its first rule changed by `change`.
    fn with_rule(change: impl FnOnce(&mut serde_json::Map<String, Value>)) -> Value {
        let mut policy = kickboard_free_streets();
        change(policy["rules"][0].as_object_mut().unwrap());
        policy
    }

    #[test]
    fn a_real_policy_and_its_geographies_are_read() {
        let [hongdae, banpo] = <[Geography; 2]>::try_from(geographies()).unwrap();
        assert_eq!((hongdae.name.as_str(), hongdae.live.from().timestamp_millis()), ("홍대 레드로드", MAY_1));
        assert_eq!(banpo.geography_type.as_deref(), Some("policy_zone"));
        let policy = Policy::parse(kickboard_free_streets()).unwrap();
        assert_eq!(
            (policy.mode, policy.in_force.from(), policy.in_force.until()),
            (Mode::Micromobility, kst("2025-05-16T00:00:00"), None)
        );
        let rule = &policy.rules[0];
        assert_eq!(rule.geographies.len(), 2);
        assert_eq!(rule.boards.vehicle_types, vec![MdsVehicleKind::ScooterStanding]);
        assert!(matches!(rule.measure, Measure::Count { bounds: Bounds { maximum: Some(0), .. }, fee: None }));
        assert_eq!(check_references(&policy, &[hongdae, banpo]), Ok(()));
        let closed = ZoneRules {
            ride_start_allowed: false,
            ride_end_allowed: false,
            ride_through_allowed: false,
            maximum_speed_kph: None,
        };
        let compiled = compile(&policy, PROVIDER);
        assert_eq!(
            (compiled[0].enforced, compiled[0].not_enforced.as_slice()),
            (Some(Enforced::Zone(closed)), &[][..])
        );
    }

    #[test]
    fn refused_documents_name_the_path_at_fault() {
        let policy = |document: Value| Policy::parse(document).unwrap_err();
        let cases = [
            (
                with_rule(|rule| drop(rule.insert("states".into(), json!({"parked": []})))),
                "rules[0].states.parked",
                "not an MDS vehicle state",
            ),
            (
                with_rule(|rule| drop(rule.insert("states".into(), json!({"available": ["dropped"]})))),
                "rules[0].states.available[0]",
                "unknown variant",
            ),
            (
                with_rule(|rule| drop(rule.insert("states".into(), json!({"available": ["trip_end", "trip_end"]})))),
                "rules[0].states.available[1]",
                "repeats",
            ),
            (
                with_rule(|rule| drop(rule.insert("start_time".into(), json!("25:00:00")))),
                "rules[0].start_time",
                "hh:mm:ss",
            ),
            (
                with_rule(|rule| drop(rule.insert("end_time".into(), json!("12:00:00")))),
                "rules[0].end_time",
                "equals start_time",
            ),
            (with_rule(|rule| drop(rule.insert("speed".into(), json!(10)))), "rules[0].speed", "unknown field `speed`"),
            (with_rule(|rule| drop(rule.insert("rule_units".into(), json!("kph")))), "rules[0].rule_units", "devices"),
            (
                with_rule(|rule| drop(rule.insert("days".into(), json!(["mon", "funday"])))),
                "rules[0].days[1]",
                "unknown variant",
            ),
            (
                with_rule(|rule| drop(rule.insert("messages".into(), json!({"korean language": "?"})))),
                "rules[0].messages.korean language",
                "language tag",
            ),
            (
                with_rule(|rule| drop(rule.insert("rule_id".into(), json!(RULE.to_uppercase())))),
                "rules[0].rule_id",
                "lowercase",
            ),
            (with_rule(|rule| drop(rule.insert("rule_type".into(), json!("user")))), "rules[0].rule_units", "null"),
        ];
        for (document, path, reason) in cases {
            let error = policy(document);
            assert_eq!(error.path, path, "{error}");
            assert!(error.reason.contains(reason), "{error}");
        }
        let mut ended_early = kickboard_free_streets();
        ended_early["end_date"] = json!(MAY_1);
        assert_eq!(policy(ended_early).path, "end_date");
        let mut no_mode = kickboard_free_streets();
        no_mode.as_object_mut().unwrap().remove("mode_id");
        assert!(policy(no_mode).reason.contains("missing field `mode_id`"));
        let mut unknown_geography = kickboard_free_streets();
        unknown_geography["rules"][0]["geographies"][1] = json!("5d4f0a82-6172-4f90-a132-4e5f60718293");
        let error = check_references(&Policy::parse(unknown_geography).unwrap(), &geographies()).unwrap_err();
        assert_eq!(error.path, "rules[0].geographies[1]");

        let geography = |change: &dyn Fn(&mut Value)| {
            let mut document = seoul_geographies().remove(0);
            change(&mut document);
            Geography::parse(document).unwrap_err()
        };
        let open_ring = geography(&|document| {
            document["geography_json"]["features"][0]["geometry"]["coordinates"][0][4] = json!([126.9, 37.5]);
        });
        assert_eq!(open_ring.path, "geography_json.features[0].geometry.coordinates[0]", "{open_ring}");
        let point = geography(&|document| {
            document["geography_json"]["features"][0]["geometry"] =
                json!({"type": "Point", "coordinates": [126.9, 37.5]});
        });
        assert_eq!(point.path, "geography_json.features[0].geometry.type", "{point}");
        let unknown = geography(&|document| document["area"] = json!(1));
        assert_eq!(unknown.path, "area", "{unknown}");
        let retired_first = geography(&|document| document["retire_date"] = json!(MAY_1));
        assert_eq!(retired_first.path, "retire_date");
    }

    #[test]
    fn the_streets_close_from_noon_through_23_00_in_seoul() {
        let city = city(vec![kickboard_free_streets()]);
        let both = vec![Uuid::parse_str(HONGDAE).unwrap(), Uuid::parse_str(BANPO).unwrap()];
        assert_eq!(closed_at(&city, "2025-05-20T13:00:00"), both);
        assert!(closed_at(&city, "2025-05-20T23:30:00").is_empty());
        assert!(closed_at(&city, "2025-05-20T11:59:59").is_empty());
        assert_eq!(closed_at(&city, "2025-05-20T12:00:00"), both);
        assert_eq!(closed_at(&city, "2025-05-20T23:00:00"), both, "the end time's second is in the window");
        assert!(closed_at(&city, "2025-05-20T23:00:01").is_empty());
        assert!(closed_at(&city, "2025-05-15T13:00:00").is_empty(), "before the policy starts");

        // A return inside the Red Road, through the zones rides obey.
        let red_road = Coordinates::new(37.5557, 126.9240).unwrap();
        let map_at = |at| {
            let zones = city.zones_at(kst(at), board()).iter().map(|zone| zone.to_zone(-1, kst(at))).collect();
            ZoneMap::new(ZoneSet { version: 1, zones, ..ZoneSet::default() })
        };
        assert!(map_at("2025-05-20T13:00:00").ensure_end_allowed(&red_road).is_err());
        assert!(map_at("2025-05-20T23:30:00").ensure_end_allowed(&red_road).is_ok());

        let zone = city.zones_at(kst("2025-05-20T13:00:00"), board())[0];
        assert!(zone.message("ko").unwrap().contains("킥보드"));
        assert!(zone.message("en").unwrap().starts_with("Kickboards"), "en finds en-US");
        assert!(zone.message("fr").unwrap().starts_with("Kickboards"), "else English");
    }

    #[test]
    fn a_window_across_midnight_runs_into_the_next_day() {
        // Fridays 22:00 to Saturday 06:00; 2025-05-23 is a Friday.
        let city = city(vec![with_rule(|rule| {
            rule.insert("days".into(), json!(["fri"]));
            rule.insert("start_time".into(), json!("22:00:00"));
            rule.insert("end_time".into(), json!("06:00:00"));
        })]);
        assert!(closed_at(&city, "2025-05-22T23:00:00").is_empty(), "Thursday");
        assert!(closed_at(&city, "2025-05-23T21:59:59").is_empty());
        assert_eq!(closed_at(&city, "2025-05-23T22:00:00").len(), 2);
        assert_eq!(closed_at(&city, "2025-05-24T03:00:00").len(), 2, "Saturday morning");
        assert_eq!(closed_at(&city, "2025-05-24T06:00:00").len(), 2);
        assert!(closed_at(&city, "2025-05-24T06:00:01").is_empty());
        assert!(closed_at(&city, "2025-05-24T23:00:00").is_empty(), "Saturday night is not listed");
    }

    #[test]
    fn contradicting_rules_are_refused_only_where_their_windows_meet() {
        let second_rule = |start: &str| {
            let mut policy = kickboard_free_streets();
            let mut cap = policy["rules"][0].clone();
            cap["rule_id"] = json!("6e5a1b93-7283-4a01-b243-5f6071829304");
            cap["maximum"] = json!(10);
            cap["start_time"] = json!(start);
            cap["end_time"] = json!("11:00:00");
            policy["rules"].as_array_mut().unwrap().push(cap);
            policy
        };
        let error = Policy::parse(second_rule("22:00:00")).unwrap_err();
        assert_eq!(error.path, "rules[1]", "22:00 to 11:00 meets 12:00 to 23:00 at 22:00: {error}");
        assert!(error.reason.contains("rules[0]"));
        assert!(Policy::parse(second_rule("23:00:01")).is_ok(), "23:00:01 to 11:00 does not meet it");
    }

    #[test]
    fn a_superseded_or_ended_policy_stops_applying() {
        let mut newer = kickboard_free_streets();
        newer["policy_id"] = json!("7f6b2ca4-8394-4b12-8354-607182930415");
        newer["prev_policies"] = json!([POLICY]);
        newer["start_date"] = json!(JUNE_1);
        newer["rules"][0]["rule_id"] = json!("80a7c3b5-94a5-4c23-9465-718293041526");
        newer["rules"][0]["geographies"] = json!([BANPO]);
        let city = city(vec![kickboard_free_streets(), newer]);
        assert_eq!(closed_at(&city, "2025-05-31T13:00:00").len(), 2);
        assert_eq!(closed_at(&city, "2025-06-01T13:00:00"), vec![Uuid::parse_str(BANPO).unwrap()]);

        let mut ending = kickboard_free_streets();
        ending["end_date"] = json!(JUNE_1);
        let city = self::city(vec![ending]);
        assert_eq!(closed_at(&city, "2025-05-31T22:59:59").len(), 2);
        assert!(closed_at(&city, "2025-06-01T13:00:00").is_empty());
    }

    #[test]
    fn speeds_in_mph_become_kph_rounded_down() {
        let speed = |units: &str, maximum: i64| {
            let policy = Policy::parse(with_rule(|rule| {
                rule.insert("rule_type".into(), json!("speed"));
                rule.insert("rule_units".into(), json!(units));
                rule.insert("maximum".into(), json!(maximum));
                rule.insert("states".into(), json!({"on_trip": []}));
            }))
            .unwrap();
            compile(&policy, PROVIDER)[0].enforced
        };
        let limit = |kph| Some(Enforced::Zone(ZoneRules { maximum_speed_kph: Some(kph), ..ZoneRules::default() }));
        assert_eq!(speed("mph", 15), limit(24), "15 mph is 24.14 km/h");
        assert_eq!(speed("kph", 20), limit(20));
    }

    #[test]
    fn what_cannot_be_compiled_is_listed_with_its_reason() {
        let compiled = |policy: Value| compile(&Policy::parse(policy).unwrap(), PROVIDER).remove(0);
        let user = compiled(with_rule(|rule| {
            rule.insert("rule_type".into(), json!("user"));
            rule.remove("rule_units");
        }));
        assert_eq!((user.enforced, user.not_enforced), (None, vec![NotEnforced::UserRule]));
        let time = compiled(with_rule(|rule| {
            rule.insert("rule_type".into(), json!("time"));
            rule.insert("rule_units".into(), json!("minutes"));
            rule.insert("maximum".into(), json!(120));
        }));
        assert_eq!(time.not_enforced, vec![NotEnforced::TimeRule]);
        let fee = compiled(with_rule(|rule| {
            rule.insert("rate_amount".into(), json!(5000));
            rule.insert("rate_recurrence".into(), json!("once_on_match"));
        }));
        assert_eq!((fee.enforced, fee.not_enforced), (None, vec![NotEnforced::Fee]));
        assert!(NotEnforced::Fee.to_string().contains("not charged"));
        let mut elsewhere = kickboard_free_streets();
        elsewhere["provider_ids"] = json!(["91b8d4c6-a5b6-4d34-a576-829304152637"]);
        assert_eq!(compiled(elsewhere).not_enforced, vec![NotEnforced::OtherProviders]);
        let crew_only =
            compiled(with_rule(|rule| drop(rule.insert("states".into(), json!({"available": ["provider_drop_off"]})))));
        assert_eq!(crew_only.not_enforced, vec![NotEnforced::NotAboutRides]);
    }

    #[test]
    fn a_count_above_zero_over_available_boards_is_a_cap() {
        let city = city(vec![with_rule(|rule| {
            rule.insert("maximum".into(), json!(500));
            rule.insert("minimum".into(), json!(20));
            rule.insert("states".into(), json!({"available": []}));
        })]);
        assert!(city.zones_at(kst("2025-05-20T13:00:00"), board()).is_empty());
        let caps = city.caps_at(kst("2025-05-20T13:00:00"));
        assert_eq!(caps.iter().map(|cap| cap.limit).collect::<Vec<_>>(), vec![500, 500]);
        assert!(caps[0].boards.admits(board()));
        assert!(city.caps_at(kst("2025-05-20T23:30:00")).is_empty());
        let policy = Policy::parse(with_rule(|rule| drop(rule.insert("minimum".into(), json!(20))))).unwrap();
        assert_eq!(compile(&policy, PROVIDER)[0].not_enforced, vec![NotEnforced::CountMinimum], "the minimum is said");
    }

    #[test]
    fn the_next_change_is_the_next_window_edge_that_changes_something() {
        let city = city(vec![kickboard_free_streets()]);
        assert_eq!(city.next_change_after(kst("2025-05-20T13:00:00")), Some(kst("2025-05-20T23:00:01")));
        assert_eq!(city.next_change_after(kst("2025-05-20T23:30:00")), Some(kst("2025-05-21T12:00:00")));
        assert_eq!(
            city.next_change_after(kst("2025-05-10T09:00:00")),
            Some(kst("2025-05-16T12:00:00")),
            "the policy's start at midnight changes nothing: the window opens at noon"
        );
        let mut ending = kickboard_free_streets();
        ending["end_date"] = json!(JUNE_1);
        assert_eq!(self::city(vec![ending]).next_change_after(kst("2025-06-01T00:00:00")), None);
        let all_day = self::city(vec![with_rule(|rule| {
            rule.remove("start_time");
            rule.remove("end_time");
        })]);
        assert_eq!(all_day.next_change_after(kst("2025-05-20T13:00:00")), None, "midnight joins one day to the next");
    }
}
