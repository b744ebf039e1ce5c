//! The MDS 2.0 vocabularies (`models/data-types`) and the checked scalars documents are made of.

use super::*;

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
    pub(super) fn is_parked(self) -> bool {
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
pub(super) enum Day {
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
pub(super) enum RuleType {
    Count,
    Time,
    Speed,
    User,
}

/// Every `rule_units` a rule type admits; which one fits which type is checked on reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(super) enum RuleUnit {
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
pub(super) struct MdsTimestamp(pub(super) DateTime<Utc>);

/// `timestamp.yaml`'s minimum: 2018-01-01T00:00:00Z.
pub(super) const EARLIEST_MDS_TIME_MS: f64 = 1_514_764_800_000.0;

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
pub(super) struct MdsUuid(pub(super) Uuid);

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

pub(super) fn uuids(ids: Option<Vec<MdsUuid>>) -> Vec<Uuid> {
    ids.unwrap_or_default().into_iter().map(|id| id.0).collect()
}

/// `string.yaml`: one line of at most 255 characters.
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "String")]
pub(super) struct MdsText(pub(super) String);

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
pub(super) struct TimeOfDay(pub(super) u32);

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
pub(super) struct LanguageTag(pub(super) String);

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
pub(super) struct CurrencyCode(pub(super) String);

impl TryFrom<String> for CurrencyCode {
    type Error = &'static str;
    fn try_from(code: String) -> Result<Self, &'static str> {
        match code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase()) {
            true => Ok(Self(code)),
            false => Err("an ISO 4217 currency code such as KRW"),
        }
    }
}
