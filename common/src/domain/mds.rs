//! The Mobility Data Specification 2.0 as Kickboard publishes it to the cities that license it
//! (the Provider API): the hours agencies ask by, the identifiers they see, and how the
//! domain's events read as MDS vehicle events and trips.

use super::events::{DomainEvent, EventEnvelope};
use super::geo::Coordinates;
use super::ids::{CustomerId, KickboardId, RentalId};
use super::kickboard::ServiceStatus;
use super::mds_reports::{CityMonth, ReportedTrip};
use chrono::{DateTime, Duration, NaiveDate, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The MDS version every document says it follows.
pub const MDS_VERSION: &str = "2.0.0";

/// How long after an hour ends its last events are taken to have arrived: the bus delivers
/// within seconds, and retries a failed delivery within minutes. Until then the hour is
/// answered "not yet available", never as complete while it may not be.
pub const HOUR_SETTLES_AFTER: Duration = Duration::minutes(5);

/// How far back `/events/recent` reaches (MDS: two weeks).
pub const RECENT_EVENTS_REACH: Duration = Duration::weeks(2);

/// A UTC hour, as MDS queries name one: `YYYY-MM-DDTHH`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MdsHour(DateTime<Utc>);

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("not an hour: give the UTC hour as YYYY-MM-DDTHH (for example 2026-12-06T13)")]
pub struct NotAnHour;

impl MdsHour {
    /// The hour `at` falls in.
    pub fn of(at: DateTime<Utc>) -> Self {
        let start = at.date_naive().and_hms_opt(at.hour(), 0, 0).expect("an hour of a day is a time");
        Self(Utc.from_utc_datetime(&start))
    }

    /// Reads `YYYY-MM-DDTHH` exactly: nothing before or after, no minutes, a real date.
    pub fn parse(text: &str) -> Result<Self, NotAnHour> {
        let (date, hour) = text.split_once('T').ok_or(NotAnHour)?;
        let digits = |part: &str, len: usize| part.len() == len && part.bytes().all(|b| b.is_ascii_digit());
        let [year, month, day] = date.split('-').collect::<Vec<_>>()[..] else { return Err(NotAnHour) };
        if !(digits(year, 4) && digits(month, 2) && digits(day, 2) && digits(hour, 2)) {
            return Err(NotAnHour);
        }
        let number = |part: &str| part.parse::<u32>().map_err(|_| NotAnHour);
        let date = NaiveDate::from_ymd_opt(number(year)? as i32, number(month)?, number(day)?).ok_or(NotAnHour)?;
        let start = date.and_hms_opt(number(hour)?, 0, 0).ok_or(NotAnHour)?;
        Ok(Self(Utc.from_utc_datetime(&start)))
    }

    pub fn start(&self) -> DateTime<Utc> {
        self.0
    }

    /// The first instant after the hour.
    pub fn end(&self) -> DateTime<Utc> {
        self.0 + Duration::hours(1)
    }

    /// Whether the hour is over at `now`: only then can what happened in it be complete.
    pub fn is_over(&self, now: DateTime<Utc>) -> bool {
        now >= self.end()
    }

    /// Whether what happened in the hour has all arrived by `now`.
    pub fn is_settled(&self, now: DateTime<Utc>) -> bool {
        now >= self.end() + HOUR_SETTLES_AFTER
    }

    /// The hour after this one.
    pub fn next(&self) -> Self {
        Self(self.end())
    }

    /// The start of the oldest ride still on the road (of those `started` at these times) that
    /// was on the road in this hour: its points come with its end, so until then the hour's
    /// telemetry is not complete. A ride open longer than [`TRIP_POINTS_AWAITED_AT_MOST`] is not
    /// waited for.
    pub fn awaits_trip_from(
        &self,
        started: impl IntoIterator<Item = DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        started.into_iter().filter(|start| *start < self.end() && now - *start < TRIP_POINTS_AWAITED_AT_MOST).min()
    }
}

/// The longest a ride keeps an hour's telemetry waiting for its points: a ride open longer is
/// a board lost on the road, whose points come when (if) it is returned.
pub const TRIP_POINTS_AWAITED_AT_MOST: Duration = Duration::hours(24);

super::validated_schema!(MdsHour, {
    "type": "string",
    "description": "A UTC hour, YYYY-MM-DDTHH",
    "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}$",
    "examples": ["2026-12-06T13"],
});

impl std::fmt::Display for MdsHour {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0.format("%Y-%m-%dT%H"))
    }
}

/// The identifiers agencies see: UUIDs derived (UUID v5) from the provider's own id and the
/// internal one. Stable without being stored, the same on every store and every Lambda
/// instance, and neither the internal id nor the public feed's rotating `vehicle_id`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MdsIds {
    provider_id: Uuid,
}

impl MdsIds {
    pub fn new(provider_id: Uuid) -> Self {
        Self { provider_id }
    }

    pub fn provider_id(&self) -> Uuid {
        self.provider_id
    }

    fn derived(&self, kind: &str, id: &str) -> Uuid {
        Uuid::new_v5(&self.provider_id, format!("{kind}/{id}").as_bytes())
    }

    pub fn device_id(&self, board: &KickboardId) -> Uuid {
        self.derived("device", board.as_str())
    }

    pub fn trip_id(&self, rental: &RentalId) -> Uuid {
        self.derived("trip", rental.as_str())
    }

    /// A rider as the reports count riders: the same for all of one customer's trips.
    pub fn rider_id(&self, customer: &CustomerId) -> Uuid {
        self.derived("rider", customer.as_str())
    }

    /// The MDS event a domain event reads as (one at most).
    fn event_id(&self, event: &EventEnvelope) -> Uuid {
        self.derived("event", event.event_id.as_str())
    }

    /// The telemetry point of that event: where and when it happened.
    fn telemetry_id(&self, event: &EventEnvelope) -> Uuid {
        self.derived("telemetry", event.event_id.as_str())
    }

    /// A point a ride's board reported at `at_ms`: one per trip and time, however often the
    /// return's event is delivered.
    fn track_point_id(&self, trip_id: Uuid, at_ms: i64) -> Uuid {
        self.derived("telemetry", &format!("{trip_id}/{at_ms}"))
    }
}

/// A position as MDS writes one.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Gps {
    pub lat: f64,
    pub lng: f64,
}

impl From<Coordinates> for Gps {
    fn from(at: Coordinates) -> Self {
        Self { lat: at.lat(), lng: at.lon() }
    }
}

/// The vehicle states Kickboard's boards go through (MDS names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum VehicleState {
    Available,
    NonOperational,
    OnTrip,
    Removed,
    NonContactable,
}

/// The event types Kickboard's events read as (MDS names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum EventType {
    ProviderDropOff,
    TripStart,
    TripEnd,
    TripCancel,
    BatteryLow,
    Maintenance,
    Decommissioned,
    CommsLost,
}

/// A change of a vehicle's state, as `/events` serves it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct MdsEvent {
    pub device_id: Uuid,
    pub provider_id: Uuid,
    pub event_id: Uuid,
    pub vehicle_state: VehicleState,
    pub event_types: Vec<EventType>,
    /// Milliseconds since the epoch, as every MDS time.
    pub timestamp: i64,
    pub location: Gps,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub battery_percent: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trip_ids: Option<Vec<Uuid>>,
}

/// A point of a vehicle's telemetry, as `/telemetry` and the vehicle's status serve it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct MdsTelemetry {
    pub device_id: Uuid,
    pub provider_id: Uuid,
    pub telemetry_id: Uuid,
    /// Milliseconds since the epoch.
    pub timestamp: i64,
    /// The trip the point belongs to; `null` off a trip (MDS: required, nullable).
    pub trip_ids: Option<Vec<Uuid>>,
    /// The rider's journey: one per trip here (a rider takes one board at a time).
    pub journey_id: Option<Uuid>,
    pub location: Gps,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub battery_percent: Option<u8>,
}

/// A vehicle's latest state as `/vehicles/status` serves it: its last event and the point
/// where it happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct MdsVehicleStatus {
    pub device_id: Uuid,
    pub provider_id: Uuid,
    pub last_event: MdsEvent,
    pub last_telemetry: MdsTelemetry,
}

/// What MDS calls kickboards: standing scooters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum MdsVehicleType {
    ScooterStanding,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Propulsion {
    Electric,
}

/// A vehicle as `/vehicles` serves it: what does not change often.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct MdsVehicle {
    pub device_id: Uuid,
    pub provider_id: Uuid,
    /// The id printed on the board, which riders and the crew know it by.
    pub vehicle_id: String,
    pub vehicle_type: MdsVehicleType,
    pub propulsion_types: Vec<Propulsion>,
    /// The fleet's speed cap, km/h.
    pub maximum_speed: u32,
}

/// A vehicle as the view keeps it: the board it is and its latest state. A newer state
/// replaces an older one, never the other way round (events arrive in any order).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MdsDevice {
    pub vehicle_id: KickboardId,
    pub status: MdsVehicleStatus,
}

impl MdsDevice {
    pub fn device_id(&self) -> Uuid {
        self.status.device_id
    }

    /// Which of two states of a device is the later: by time, then by event id (two events
    /// of one board in one millisecond are told apart, the same way on every store).
    pub fn order_key(&self) -> (i64, Uuid) {
        (self.status.last_event.timestamp, self.status.last_event.event_id)
    }

    pub fn vehicle(&self, maximum_speed: u32) -> MdsVehicle {
        MdsVehicle {
            device_id: self.status.device_id,
            provider_id: self.status.provider_id,
            vehicle_id: self.vehicle_id.as_str().to_owned(),
            vehicle_type: MdsVehicleType::ScooterStanding,
            propulsion_types: vec![Propulsion::Electric],
            maximum_speed,
        }
    }
}

/// How many vehicles one page of `/vehicles` or `/vehicles/status` lists at most.
pub const VEHICLES_PAGE: usize = 1000;

/// A finished ride, as `/trips` serves it in the hour it ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct MdsTrip {
    pub provider_id: Uuid,
    pub device_id: Uuid,
    pub trip_id: Uuid,
    pub trip_type: Vec<TripType>,
    pub start_time: i64,
    pub end_time: i64,
    pub start_location: Gps,
    pub end_location: Gps,
    /// Seconds.
    pub duration: i64,
    /// Metres: the sum of the ride's legs as the board reported them, with the last one to
    /// where it was left (the straight line for rides returned before legs were summed).
    pub distance: i64,
    /// No photos of parked boards are taken yet.
    pub parking_verification_url: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TripType {
    Rider,
}

/// What one domain event adds to the MDS view.
#[derive(Debug, Clone, PartialEq)]
pub enum MdsRecord {
    Event(MdsEvent),
    Telemetry(MdsTelemetry),
    Trip(MdsTrip),
}

/// The two kinds of record, as the stores file them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MdsKind {
    Event,
    Telemetry,
    Trip,
}

impl MdsKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            MdsKind::Event => "event",
            MdsKind::Telemetry => "telemetry",
            MdsKind::Trip => "trip",
        }
    }
}

impl MdsRecord {
    pub fn kind(&self) -> MdsKind {
        match self {
            MdsRecord::Event(_) => MdsKind::Event,
            MdsRecord::Telemetry(_) => MdsKind::Telemetry,
            MdsRecord::Trip(_) => MdsKind::Trip,
        }
    }

    /// Its MDS id: the same record made twice has the same one.
    pub fn id(&self) -> Uuid {
        match self {
            MdsRecord::Event(event) => event.event_id,
            MdsRecord::Telemetry(point) => point.telemetry_id,
            MdsRecord::Trip(trip) => trip.trip_id,
        }
    }

    /// When it happened, in milliseconds: an event's time, a trip's end.
    pub fn at_ms(&self) -> i64 {
        match self {
            MdsRecord::Event(event) => event.timestamp,
            MdsRecord::Telemetry(point) => point.timestamp,
            MdsRecord::Trip(trip) => trip.end_time,
        }
    }

    /// The hour an agency finds it under.
    pub fn hour(&self) -> MdsHour {
        MdsHour::of(DateTime::from_timestamp_millis(self.at_ms()).unwrap_or_default())
    }

    /// The record as MDS writes it.
    pub fn to_json(&self) -> serde_json::Result<String> {
        match self {
            MdsRecord::Event(event) => serde_json::to_string(event),
            MdsRecord::Telemetry(point) => serde_json::to_string(point),
            MdsRecord::Trip(trip) => serde_json::to_string(trip),
        }
    }
}

/// What one domain event changes in the cities' view: records kept once each under their
/// hour, the vehicle's latest state, and a ride's start as the monthly reports count it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MdsUpdate {
    pub records: Vec<MdsRecord>,
    pub device: Option<MdsDevice>,
    pub reported_trip: Option<ReportedTrip>,
}

/// What a domain event makes in the cities' view: its vehicle event and the telemetry point
/// where it happened, for a return its trip, and the vehicle's new state. Events that say
/// nothing about a vehicle's state (passes, zones, licences) make nothing; neither does a
/// board event written before events said where the board was (`None` location): MDS
/// requires a place, and an invented one would be worse than a gap the agency can see. A
/// rent's trip counts in the reports of the month it began in `city` (the city's time zone).
pub fn mds_update(envelope: &EventEnvelope, ids: &MdsIds, city: Tz) -> MdsUpdate {
    let trip = |rental: &RentalId| Some(vec![ids.trip_id(rental)]);
    let (board, state, kind, location, battery, trip_ids) = match &envelope.event {
        DomainEvent::KickboardRegistered { kickboard_id, location, .. } => {
            (kickboard_id, VehicleState::Available, EventType::ProviderDropOff, Some(*location), None, None)
        }
        DomainEvent::KickboardRented { kickboard_id, rental_id, location, .. } => {
            (kickboard_id, VehicleState::OnTrip, EventType::TripStart, *location, None, trip(rental_id))
        }
        DomainEvent::KickboardReturned { kickboard_id, rental_id, end_location, .. } => {
            (kickboard_id, VehicleState::Available, EventType::TripEnd, *end_location, None, trip(rental_id))
        }
        DomainEvent::RentalUndone { kickboard_id, rental_id, location, .. } => {
            (kickboard_id, VehicleState::Available, EventType::TripCancel, *location, None, trip(rental_id))
        }
        DomainEvent::KickboardBatteryLow { kickboard_id, battery_pct, location } => (
            kickboard_id,
            VehicleState::NonOperational,
            EventType::BatteryLow,
            Some(*location),
            Some(battery_pct.get()),
            None,
        ),
        DomainEvent::KickboardLockUnconfirmed { kickboard_id, location, .. } => {
            (kickboard_id, VehicleState::NonOperational, EventType::Maintenance, Some(*location), None, None)
        }
        DomainEvent::KickboardServiceChanged { kickboard_id, status, location } => {
            let state = match status {
                ServiceStatus::Maintenance => VehicleState::NonOperational,
                ServiceStatus::Available => VehicleState::Available,
            };
            (kickboard_id, state, EventType::Maintenance, Some(*location), None, None)
        }
        DomainEvent::KickboardSilentWhileRented { kickboard_id, rental_id, location, .. } => {
            (kickboard_id, VehicleState::NonContactable, EventType::CommsLost, Some(*location), None, trip(rental_id))
        }
        DomainEvent::KickboardRetired { kickboard_id, location } => {
            (kickboard_id, VehicleState::Removed, EventType::Decommissioned, *location, None, None)
        }
        _ => return MdsUpdate::default(),
    };
    let Some(location) = location else { return MdsUpdate::default() };
    let event = MdsEvent {
        device_id: ids.device_id(board),
        provider_id: ids.provider_id(),
        event_id: ids.event_id(envelope),
        vehicle_state: state,
        event_types: vec![kind],
        timestamp: envelope.occurred_at.timestamp_millis(),
        location: location.into(),
        battery_percent: battery,
        trip_ids: trip_ids.clone(),
    };
    let point = MdsTelemetry {
        device_id: event.device_id,
        provider_id: event.provider_id,
        telemetry_id: ids.telemetry_id(envelope),
        timestamp: event.timestamp,
        journey_id: trip_ids.as_ref().and_then(|trips| trips.first().copied()),
        trip_ids,
        location: event.location,
        battery_percent: battery,
    };
    let device = MdsDevice {
        vehicle_id: board.clone(),
        status: MdsVehicleStatus {
            device_id: event.device_id,
            provider_id: event.provider_id,
            last_event: event.clone(),
            last_telemetry: point.clone(),
        },
    };
    let reported_trip = match (&envelope.event, &envelope.customer_id) {
        (DomainEvent::KickboardRented { rental_id, started_at, .. }, Some(customer)) => Some(ReportedTrip {
            trip_id: ids.trip_id(rental_id),
            month: CityMonth::of(*started_at, city),
            rider_id: ids.rider_id(customer),
            vehicle_type: MdsVehicleType::ScooterStanding,
            start_time: started_at.timestamp_millis(),
            start_location: location.into(),
        }),
        _ => None,
    };
    let mut records = vec![MdsRecord::Event(event), MdsRecord::Telemetry(point)];
    if let DomainEvent::KickboardReturned {
        kickboard_id,
        rental_id,
        started_at,
        ended_at,
        start_location: Some(start),
        end_location: Some(end),
        ridden_m,
        track,
        ..
    } = &envelope.event
    {
        // The ride's reported points: the trip's telemetry between its start and its end.
        let trip_id = ids.trip_id(rental_id);
        for point in track.points() {
            let timestamp = point.at.timestamp_millis();
            records.push(MdsRecord::Telemetry(MdsTelemetry {
                device_id: ids.device_id(kickboard_id),
                provider_id: ids.provider_id(),
                telemetry_id: ids.track_point_id(trip_id, timestamp),
                timestamp,
                trip_ids: Some(vec![trip_id]),
                journey_id: Some(trip_id),
                location: point.location.into(),
                battery_percent: None,
            }));
        }
        records.push(MdsRecord::Trip(MdsTrip {
            provider_id: ids.provider_id(),
            device_id: ids.device_id(kickboard_id),
            trip_id: ids.trip_id(rental_id),
            trip_type: vec![TripType::Rider],
            start_time: started_at.timestamp_millis(),
            end_time: ended_at.timestamp_millis(),
            start_location: (*start).into(),
            end_location: (*end).into(),
            duration: (*ended_at - *started_at).num_seconds().max(0),
            distance: ridden_m.map_or_else(|| start.distance_m(end).round() as i64, i64::from),
            parking_verification_url: None,
        }));
    }
    MdsUpdate { records, device: Some(device), reported_trip }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::events::EventEnvelope;
    use crate::domain::ids::PassId;
    use crate::domain::pass::{PassBalance, PassStatus};
    use crate::domain::track::{RideTrack, TrackPoint};

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    #[test]
    fn an_hour_is_read_exactly_and_names_itself_back() {
        let hour = MdsHour::parse("2026-12-06T13").unwrap();
        assert_eq!((hour.start(), hour.end()), (at("2026-12-06T13:00:00Z"), at("2026-12-06T14:00:00Z")));
        assert_eq!(hour.to_string(), "2026-12-06T13");
        assert_eq!(MdsHour::of(at("2026-12-06T13:59:59.999Z")), hour);
        assert_eq!(hour.next().to_string(), "2026-12-06T14");
        for bad in ["2026-12-06T13:30", "2026-13-01T00", "2026-02-30T00", "2026-12-06T24", "2026-12-6T13", "", "x"] {
            assert_eq!(MdsHour::parse(bad), Err(NotAnHour), "{bad}");
        }
        assert!(!hour.is_over(at("2026-12-06T13:59:00Z")));
        assert!(hour.is_over(at("2026-12-06T14:00:00Z")) && !hour.is_settled(at("2026-12-06T14:04:00Z")));
        assert!(hour.is_settled(at("2026-12-06T14:05:00Z")));
    }

    #[test]
    fn an_hour_waits_for_the_rides_that_were_on_the_road_in_it_for_a_day_at_most() {
        let hour = MdsHour::parse("2026-12-06T13").unwrap();
        let now = at("2026-12-06T15:00:00Z");
        assert_eq!(hour.awaits_trip_from([], now), None);
        assert_eq!(hour.awaits_trip_from([at("2026-12-06T14:00:00Z")], now), None, "began after the hour");
        let open = [at("2026-12-06T13:59:00Z"), at("2026-12-06T11:00:00Z"), at("2026-12-05T14:00:00Z")];
        assert_eq!(
            hour.awaits_trip_from(open, now),
            Some(at("2026-12-06T11:00:00Z")),
            "the oldest, not a lost board's"
        );
    }

    #[test]
    fn ids_are_stable_distinct_and_not_the_internal_ones() {
        let ids = MdsIds::new(Uuid::new_v4());
        let board = KickboardId::try_from("kb-1").unwrap();
        assert_eq!(ids.device_id(&board), ids.device_id(&board));
        assert_ne!(ids.device_id(&board), MdsIds::new(Uuid::new_v4()).device_id(&board), "per provider");
        let rental = RentalId::try_from("kb-1").unwrap();
        assert_ne!(ids.trip_id(&rental), ids.device_id(&board), "a trip and a device never share an id");
    }

    fn returned(start: Option<Coordinates>) -> EventEnvelope {
        returned_with(start, RideTrack::default())
    }

    fn returned_with(start: Option<Coordinates>, track: RideTrack) -> EventEnvelope {
        let balance = PassBalance {
            pass_id: PassId::try_from("p-1").unwrap(),
            status: PassStatus::Active,
            minutes_total: 60,
            minutes_left: 50,
            minutes_used: 10,
            overage_minutes: 0,
            version: 3,
            expires_at: Some(at("2026-12-31T00:00:00Z")),
        };
        EventEnvelope::new(
            at("2026-12-06T13:10:00Z"),
            "r-1".into(),
            2,
            None,
            DomainEvent::KickboardReturned {
                rental_id: RentalId::try_from("r-1").unwrap(),
                pass_id: PassId::try_from("p-1").unwrap(),
                kickboard_id: KickboardId::try_from("kb-1").unwrap(),
                started_at: at("2026-12-06T12:55:00Z"),
                ended_at: at("2026-12-06T13:10:00Z"),
                minutes_billed: 15,
                overage_minutes: 0,
                balance,
                start_location: start,
                end_location: Some(Coordinates::new(37.5702, 126.983).unwrap()),
                ridden_m: None,
                track,
            },
        )
    }

    #[test]
    fn a_return_is_a_trip_end_and_a_trip_in_the_hour_it_ended() {
        let ids = MdsIds::new(Uuid::new_v4());
        let update =
            mds_update(&returned(Some(Coordinates::new(37.5665, 126.978).unwrap())), &ids, chrono_tz::Asia::Seoul);
        let records = &update.records;
        let [MdsRecord::Event(event), MdsRecord::Telemetry(point), MdsRecord::Trip(trip)] = &records[..] else {
            panic!("{records:?}")
        };
        assert_eq!(
            (point.timestamp, point.location, point.journey_id),
            (event.timestamp, event.location, Some(trip.trip_id))
        );
        assert_eq!(point.trip_ids, event.trip_ids);
        let device = update.device.as_ref().unwrap();
        assert_eq!((&device.status.last_event, &device.status.last_telemetry), (event, point));
        assert_eq!((event.vehicle_state, &event.event_types[..]), (VehicleState::Available, &[EventType::TripEnd][..]));
        assert_eq!(event.trip_ids, Some(vec![trip.trip_id]));
        assert_eq!((trip.duration, trip.end_time), (900, at("2026-12-06T13:10:00Z").timestamp_millis()));
        assert!((600..700).contains(&trip.distance), "{}", trip.distance);
        assert_eq!(records[2].hour().to_string(), "2026-12-06T13", "the hour it ended, not began");
        let again =
            mds_update(&returned(Some(Coordinates::new(37.5665, 126.978).unwrap())), &ids, chrono_tz::Asia::Seoul);
        assert_eq!(again.records[2], records[2], "a trip is the same trip however often it is made");
    }

    #[test]
    fn a_returns_track_is_its_trips_telemetry_once_each() {
        let ids = MdsIds::new(Uuid::new_v4());
        let point = |at: &str, lat: f64| TrackPoint {
            at: at.parse().unwrap(),
            location: Coordinates::new(lat, 126.98).unwrap(),
        };
        let track = RideTrack::default()
            .with(point("2026-12-06T13:00:00Z", 37.567))
            .with(point("2026-12-06T13:00:30Z", 37.568));
        let start = Some(Coordinates::new(37.5665, 126.978).unwrap());
        let update = mds_update(&returned_with(start, track.clone()), &ids, chrono_tz::Asia::Seoul);
        let MdsRecord::Trip(trip) = update.records.last().unwrap() else { panic!("{:?}", update.records) };
        let reported: Vec<&MdsTelemetry> = update.records[2..update.records.len() - 1]
            .iter()
            .map(|record| match record {
                MdsRecord::Telemetry(point) => point,
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(reported.len(), 2);
        for (point, from) in reported.iter().zip(track.points()) {
            assert_eq!((point.timestamp, point.location), (from.at.timestamp_millis(), from.location.into()));
            assert_eq!((&point.trip_ids, point.journey_id), (&Some(vec![trip.trip_id]), Some(trip.trip_id)));
        }
        assert_ne!(reported[0].telemetry_id, reported[1].telemetry_id);
        let again = mds_update(&returned_with(start, track), &ids, chrono_tz::Asia::Seoul);
        // (The envelope made again has a new event id: the event's own point differs.)
        assert_eq!(again.records[2..], update.records[2..], "the same points however often the return arrives");
    }

    #[test]
    fn a_return_that_never_said_where_it_began_makes_no_trip() {
        let records = mds_update(&returned(None), &MdsIds::new(Uuid::new_v4()), chrono_tz::Asia::Seoul).records;
        assert!(
            matches!(&records[..], [MdsRecord::Event(_), MdsRecord::Telemetry(_)]),
            "no invented start: {records:?}"
        );
    }
}
