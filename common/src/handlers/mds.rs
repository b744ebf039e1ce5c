//! The MDS 2.0 Provider API, for the cities that license the fleet (group `agency`): trips,
//! vehicle events and telemetry by the UTC hour, recent events by range, the vehicles and
//! their latest states. All of it is read from the MDS view, which the event bus feeds
//! ([`project_mds`]) like the balance view. Documents are gzipped for an agency that accepts
//! it: `/trips` may not be paged, and an hour of a big city's trips is megabytes.

use super::events::{KickboardEvent, event_span, record_lag};
use crate::domain::mds::{
    HOUR_SETTLES_AFTER, MDS_VERSION, MdsDevice, MdsEvent, MdsHour, MdsTelemetry, MdsTrip, MdsVehicle, MdsVehicleStatus,
    RECENT_EVENTS_REACH, VEHICLES_PAGE, mds_update,
};
use crate::domain::mds_reports::{CityMonth, NotAMonth, monthly_report, report_csv};
use crate::http::contract::Contract;
use crate::http::encoding::gzipped_json;
use crate::http::endpoint::{Agency, Endpoint, Handle};
use crate::http::request::{path_id, query_param};
use crate::http::{HandlerResult, Problem, ProblemType};
use crate::ports::{Clock, MdsView, PortResult};
use crate::services::Services;
use crate::settings::Settings;
use chrono::{DateTime, Utc};
use lambda_http::http::{HeaderValue, Method, StatusCode, header};
use lambda_http::{Request, Response};
use schemars::JsonSchema;
use serde::Serialize;
use tracing::Instrument;
use uuid::Uuid;

/// What every MDS answer is, and what a client asks for in `Accept`.
pub const MDS_MEDIA_TYPE: &str = "application/vnd.mds+json;version=2.0";
const MDS_TYPE: &str = "application/vnd.mds+json";
/// What a report is (MDS: reports are CSV in MDS's own text type).
pub const MDS_CSV_MEDIA_TYPE: &str = "text/vnd.mds+csv;version=2.0";
const MDS_CSV_TYPE: &str = "text/vnd.mds+csv";

/// The most events one page of `/events/recent` gathers before it links to the next, and the
/// most hours it reads for them.
const RECENT_PAGE_EVENTS: usize = 1000;
const RECENT_PAGE_HOURS: usize = 6;

/// Keeps what an event means to the cities: its vehicle event and telemetry point, a return's
/// trip, and the vehicle's latest state. Kept records are kept once and a state only replaces
/// an earlier one, so a redelivery or a replay changes nothing.
pub async fn project_mds(
    view: &dyn MdsView,
    settings: &Settings,
    clock: &dyn Clock,
    event: KickboardEvent,
) -> PortResult<()> {
    let span = event_span(&event.detail);
    async {
        record_lag(&event.detail, clock.now());
        let update = mds_update(&event.detail, &settings.mds, settings.city_time_zone);
        if !update.records.is_empty() {
            view.keep_mds(&update).await?;
        }
        tracing::debug!(records = update.records.len(), "MDS view updated");
        Ok(())
    }
    .instrument(span)
    .await
}

/// Refuses an `Accept` that admits no MDS 2.0 (another MDS version, or another type): none,
/// `*/*`, `application/json` and `application/vnd.mds+json` of version 2.0 (or of none) do.
fn ensure_accepts_mds(request: &Request) -> Result<(), Problem> {
    ensure_accepts(request, MDS_TYPE, &["*/*", "application/*", "application/json"])
}

/// The same for a report: `text/vnd.mds+csv` of version 2.0 (or of none), `text/csv`, `text/*`
/// or `*/*`.
fn ensure_accepts_mds_csv(request: &Request) -> Result<(), Problem> {
    ensure_accepts(request, MDS_CSV_TYPE, &["*/*", "text/*", "text/csv"])
}

fn ensure_accepts(request: &Request, mds_type: &str, also: &[&str]) -> Result<(), Problem> {
    let Some(accept) = request.headers().get(header::ACCEPT) else { return Ok(()) };
    let accept = accept.to_str().unwrap_or_default();
    let admits = accept.split(',').any(|range| {
        let mut parts = range.split(';').map(str::trim);
        let media = parts.next().unwrap_or_default().to_ascii_lowercase();
        let version = parts.filter_map(|param| param.split_once('=')).find(|(name, _)| name.trim() == "version");
        if media == mds_type {
            return version.is_none_or(|(_, version)| matches!(version.trim().trim_matches('"'), "2.0" | "2.0.0"));
        }
        also.contains(&media.as_str())
    });
    match admits {
        true => Ok(()),
        false => Err(Problem::new(ProblemType::MdsVersionNotAcceptable).with_detail(format!("Accept was {accept:?}"))),
    }
}

/// The hour `given` as `name`, once it is over and what happened in it has arrived.
fn settled_hour(given: Option<String>, name: &str, now: DateTime<Utc>) -> Result<MdsHour, Problem> {
    let given = given.ok_or_else(|| Problem::invalid_field(name, "is required: the UTC hour as YYYY-MM-DDTHH"))?;
    let hour = MdsHour::parse(&given).map_err(|error| Problem::invalid_field(name, error.to_string()))?;
    if !hour.is_over(now) {
        return Err(Problem::new(ProblemType::HourNotOver).with_detail(format!("{hour} ends at {}", hour.end())));
    }
    if !hour.is_settled(now) {
        return Err(Problem::new(ProblemType::HourNotReady)
            .with_detail(format!("{hour} is served from {}", hour.end() + HOUR_SETTLES_AFTER))
            .retry_after_until(hour.end() + HOUR_SETTLES_AFTER, now));
    }
    Ok(hour)
}

/// The query of the hourly trips, as given; the handler checks it.
#[derive(JsonSchema)]
struct TripsQuery {
    /// The UTC hour the trips ended in.
    #[schemars(with = "MdsHour")]
    end_time: Option<String>,
}

#[derive(Serialize, JsonSchema)]
#[schemars(rename = "MdsTrips")]
struct TripsDocument {
    version: &'static str,
    trips: Vec<MdsTrip>,
}

/// `GET /mds/trips?end_time=YYYY-MM-DDTHH`: every ride that ended in the hour, once each.
pub struct MdsTrips;

impl Endpoint for MdsTrips {
    const METHOD: Method = Method::GET;
    const PATH: &'static str = "/mds/trips";
    const FUNCTION: &'static str = "mds-trips";
    fn contract() -> Contract {
        Contract::new("MDS 2.0: the trips that ended in a past UTC hour")
            .query::<TripsQuery>()
            .answers::<TripsDocument>(StatusCode::OK, "The hour's trips")
            .answers_in(MDS_MEDIA_TYPE)
            .gzipped_when_large()
            .refuses(&[
                ProblemType::HourNotOver,
                ProblemType::NoOperations,
                ProblemType::HourNotReady,
                ProblemType::MdsVersionNotAcceptable,
            ])
    }
    type Caller = Agency;
}

impl<S: Services> Handle<S> for MdsTrips {
    async fn handle(app: &S, _: Agency, request: Request) -> HandlerResult {
        ensure_accepts_mds(&request)?;
        let query = TripsQuery { end_time: query_param(&request, "end_time") };
        let hour = settled_hour(query.end_time, "end_time", app.clock().now())?;
        let trips = app.mds().trips_ended(hour).await?;
        if trips.is_empty() && app.mds().events_of(hour).await?.is_empty() {
            return Err(
                Problem::new(ProblemType::NoOperations).with_detail(format!("no vehicle did anything in {hour}"))
            );
        }
        Ok(gzipped_json(&request, &TripsDocument { version: MDS_VERSION, trips }, MDS_MEDIA_TYPE))
    }
}

/// The query of the hourly events, as given; the handler checks it.
#[derive(JsonSchema)]
struct HistoricalQuery {
    /// The UTC hour the events happened in.
    #[schemars(with = "MdsHour")]
    event_time: Option<String>,
}

#[derive(Serialize, JsonSchema)]
#[schemars(rename = "MdsEvents")]
struct EventsDocument {
    version: &'static str,
    events: Vec<MdsEvent>,
}

/// `GET /mds/events/historical?event_time=YYYY-MM-DDTHH`: the vehicles' state changes in the hour.
pub struct MdsEventsHistorical;

impl Endpoint for MdsEventsHistorical {
    const METHOD: Method = Method::GET;
    const PATH: &'static str = "/mds/events/historical";
    const FUNCTION: &'static str = "mds-events-historical";
    fn contract() -> Contract {
        Contract::new("MDS 2.0: the vehicles' state changes in a past UTC hour")
            .query::<HistoricalQuery>()
            .answers::<EventsDocument>(StatusCode::OK, "The hour's events, by time")
            .answers_in(MDS_MEDIA_TYPE)
            .gzipped_when_large()
            .refuses(&[
                ProblemType::HourNotOver,
                ProblemType::NoOperations,
                ProblemType::HourNotReady,
                ProblemType::MdsVersionNotAcceptable,
            ])
    }
    type Caller = Agency;
}

impl<S: Services> Handle<S> for MdsEventsHistorical {
    async fn handle(app: &S, _: Agency, request: Request) -> HandlerResult {
        ensure_accepts_mds(&request)?;
        let query = HistoricalQuery { event_time: query_param(&request, "event_time") };
        let hour = settled_hour(query.event_time, "event_time", app.clock().now())?;
        let events = app.mds().events_of(hour).await?;
        if events.is_empty() {
            return Err(
                Problem::new(ProblemType::NoOperations).with_detail(format!("no vehicle did anything in {hour}"))
            );
        }
        Ok(gzipped_json(&request, &EventsDocument { version: MDS_VERSION, events }, MDS_MEDIA_TYPE))
    }
}

/// The query of the recent events, as given: a range in milliseconds since the epoch.
#[derive(JsonSchema)]
struct RecentQuery {
    /// Events at or after this time (milliseconds since the epoch), at most two weeks back.
    #[schemars(with = "i64")]
    start_time: Option<String>,
    /// Events before this time (milliseconds since the epoch).
    #[schemars(with = "i64")]
    end_time: Option<String>,
}

/// JSON:API paging: where the next page is, `null` on the last.
#[derive(Serialize, JsonSchema)]
struct Links {
    next: Option<String>,
}

#[derive(Serialize, JsonSchema)]
#[schemars(rename = "MdsRecentEvents")]
struct RecentDocument {
    version: &'static str,
    events: Vec<MdsEvent>,
    links: Links,
}

/// `GET /mds/events/recent?start_time=&end_time=`: the state changes in a range at most two
/// weeks old, a few hours a page.
pub struct MdsEventsRecent;

impl Endpoint for MdsEventsRecent {
    const METHOD: Method = Method::GET;
    const PATH: &'static str = "/mds/events/recent";
    const FUNCTION: &'static str = "mds-events-recent";
    fn contract() -> Contract {
        Contract::new("MDS 2.0: the vehicles' state changes in a range of the last two weeks")
            .query::<RecentQuery>()
            .answers::<RecentDocument>(StatusCode::OK, "The range's events, by time, a few hours a page")
            .answers_in(MDS_MEDIA_TYPE)
            .gzipped_when_large()
            .refuses(&[ProblemType::MdsVersionNotAcceptable])
    }
    type Caller = Agency;
}

/// A time in milliseconds `given` as `name`.
fn millis(given: Option<String>, name: &str) -> Result<DateTime<Utc>, Problem> {
    let given = given.ok_or_else(|| Problem::invalid_field(name, "is required: milliseconds since the epoch"))?;
    given
        .parse::<i64>()
        .ok()
        .and_then(DateTime::from_timestamp_millis)
        .ok_or_else(|| Problem::invalid_field(name, "must be whole milliseconds since the epoch"))
}

/// Where this request was sent, so a page can link to the next one.
fn origin(request: &Request) -> String {
    let uri = request.uri();
    match (uri.scheme_str(), uri.authority()) {
        (Some(scheme), Some(authority)) => format!("{scheme}://{authority}"),
        _ => {
            let host = request.headers().get(header::HOST).and_then(|host| host.to_str().ok()).unwrap_or("localhost");
            format!("http://{host}")
        }
    }
}

impl<S: Services> Handle<S> for MdsEventsRecent {
    async fn handle(app: &S, _: Agency, request: Request) -> HandlerResult {
        ensure_accepts_mds(&request)?;
        let query = RecentQuery {
            start_time: query_param(&request, "start_time"),
            end_time: query_param(&request, "end_time"),
        };
        let (start, end) = (millis(query.start_time, "start_time")?, millis(query.end_time, "end_time")?);
        let now = app.clock().now();
        if end <= start {
            return Err(Problem::invalid_field("end_time", "must be after start_time"));
        }
        if end - start > RECENT_EVENTS_REACH {
            return Err(Problem::invalid_field("end_time", "the range may be at most two weeks wide"));
        }
        if start < now - RECENT_EVENTS_REACH {
            return Err(Problem::invalid_field("start_time", "is more than two weeks back: ask /events/historical"));
        }
        let (mut events, mut hour, mut hours) = (Vec::new(), MdsHour::of(start), 0);
        while hour.start() < end && hours < RECENT_PAGE_HOURS && events.len() < RECENT_PAGE_EVENTS {
            let in_range =
                |event: &MdsEvent| (start.timestamp_millis()..end.timestamp_millis()).contains(&event.timestamp);
            events.extend(app.mds().events_of(hour).await?.into_iter().filter(in_range));
            hour = hour.next();
            hours += 1;
        }
        let next = (hour.start() < end).then(|| {
            format!(
                "{}{}?start_time={}&end_time={}",
                origin(&request),
                Self::PATH,
                hour.start().timestamp_millis(),
                end.timestamp_millis()
            )
        });
        Ok(gzipped_json(
            &request,
            &RecentDocument { version: MDS_VERSION, events, links: Links { next } },
            MDS_MEDIA_TYPE,
        ))
    }
}

/// The query of the hourly telemetry, as given; the handler checks it.
#[derive(JsonSchema)]
struct TelemetryQuery {
    /// The UTC hour the points were taken in.
    #[schemars(with = "MdsHour")]
    telemetry_time: Option<String>,
}

#[derive(Serialize, JsonSchema)]
#[schemars(rename = "MdsTelemetryDocument")]
struct TelemetryDocument {
    version: &'static str,
    telemetry: Vec<MdsTelemetry>,
}

/// `GET /mds/telemetry?telemetry_time=YYYY-MM-DDTHH`: the vehicles' points in the hour: the
/// point of each event, and the points rented boards reported, which come with their trip's end
/// (MDS lets in-trip telemetry be delayed).
pub struct MdsTelemetryOfHour;

/// How long an agency is asked to wait for a ride still on the road.
const OPEN_TRIP_RETRY_AFTER_SECS: u64 = 300;

impl Endpoint for MdsTelemetryOfHour {
    const METHOD: Method = Method::GET;
    const PATH: &'static str = "/mds/telemetry";
    const FUNCTION: &'static str = "mds-telemetry";
    fn contract() -> Contract {
        Contract::new("MDS 2.0: the vehicles' telemetry in a past UTC hour")
            .query::<TelemetryQuery>()
            .answers::<TelemetryDocument>(StatusCode::OK, "The hour's points, by time (none is an empty list)")
            .answers_in(MDS_MEDIA_TYPE)
            .gzipped_when_large()
            .refuses(&[ProblemType::HourNotOver, ProblemType::HourNotReady, ProblemType::MdsVersionNotAcceptable])
    }
    type Caller = Agency;
}

impl<S: Services> Handle<S> for MdsTelemetryOfHour {
    async fn handle(app: &S, _: Agency, request: Request) -> HandlerResult {
        ensure_accepts_mds(&request)?;
        let query = TelemetryQuery { telemetry_time: query_param(&request, "telemetry_time") };
        let now = app.clock().now();
        let hour = settled_hour(query.telemetry_time, "telemetry_time", now)?;
        // A ride on the road during the hour brings its points when it ends: until then the
        // hour is not complete, and is not served as if it were.
        let riding = app.ride_watch().rented_kickboards().await?;
        if let Some(started) = hour.awaits_trip_from(riding.iter().filter_map(|board| board.rented_at), now) {
            return Err(Problem::new(ProblemType::HourNotReady)
                .with_detail(format!("a trip on the road since {started} has not ended: its points come with its end"))
                .retry_after(OPEN_TRIP_RETRY_AFTER_SECS));
        }
        let telemetry = app.mds().telemetry_of(hour).await?;
        Ok(gzipped_json(&request, &TelemetryDocument { version: MDS_VERSION, telemetry }, MDS_MEDIA_TYPE))
    }
}

/// The paging query of the vehicle lists.
#[derive(JsonSchema)]
struct VehiclesQuery {
    /// The page after this device id (the `next` link gives it).
    #[schemars(with = "Uuid")]
    after: Option<String>,
}

/// A page of vehicles: up to [`VEHICLES_PAGE`] after the query's `after`, and the link to the
/// next page when this one is full.
async fn vehicles_page<S: Services>(
    app: &S,
    request: &Request,
    path: &str,
) -> Result<(Vec<MdsDevice>, Links), Problem> {
    ensure_accepts_mds(request)?;
    let query = VehiclesQuery { after: query_param(request, "after") };
    let after = match query.after {
        Some(after) => {
            Some(Uuid::parse_str(&after).map_err(|_| Problem::invalid_field("after", "must be a device id"))?)
        }
        None => None,
    };
    let devices = app.mds().devices(after, VEHICLES_PAGE).await?;
    let next = match devices.last() {
        Some(last) if devices.len() == VEHICLES_PAGE => {
            Some(format!("{}{path}?after={}", origin(request), last.device_id()))
        }
        _ => None,
    };
    Ok((devices, Links { next }))
}

/// The device of the path's `device_id`.
async fn the_device<S: Services>(app: &S, request: &Request) -> Result<MdsDevice, Problem> {
    ensure_accepts_mds(request)?;
    let given: String = path_id(request, "device_id")?;
    let device_id = Uuid::parse_str(&given).map_err(|_| Problem::invalid_field("device_id", "must be a UUID"))?;
    app.mds().device(device_id).await?.ok_or_else(|| {
        Problem::new(ProblemType::VehicleNotFound).with_detail(format!("no vehicle has device_id {device_id}"))
    })
}

// How fresh a `/vehicles` document is (flattened into each: a doc comment here would be
// taken as each document's description).
#[derive(Serialize, JsonSchema)]
struct Freshness {
    /// Milliseconds since the epoch.
    last_updated: i64,
    /// Milliseconds until the data may change: 0, it changes with every event.
    ttl: u32,
}

impl Freshness {
    /// The view changes with every event: an agency may ask again at once.
    fn now(app: &impl Services) -> Self {
        Self { last_updated: app.clock().now().timestamp_millis(), ttl: 0 }
    }
}

#[derive(Serialize, JsonSchema)]
#[schemars(rename = "MdsVehicles")]
struct VehiclesDocument {
    version: &'static str,
    vehicles: Vec<MdsVehicle>,
    links: Links,
    #[serde(flatten)]
    freshness: Freshness,
}

/// `GET /mds/vehicles`: every vehicle the city has seen, a thousand a page.
pub struct MdsVehicles;

impl Endpoint for MdsVehicles {
    const METHOD: Method = Method::GET;
    const PATH: &'static str = "/mds/vehicles";
    const FUNCTION: &'static str = "mds-vehicles";
    fn contract() -> Contract {
        Contract::new("MDS 2.0: the vehicles, with what does not change often")
            .query::<VehiclesQuery>()
            .answers::<VehiclesDocument>(StatusCode::OK, "A page of vehicles, by device id")
            .answers_in(MDS_MEDIA_TYPE)
            .gzipped_when_large()
            .refuses(&[ProblemType::MdsVersionNotAcceptable])
    }
    type Caller = Agency;
}

impl<S: Services> Handle<S> for MdsVehicles {
    async fn handle(app: &S, _: Agency, request: Request) -> HandlerResult {
        let (devices, links) = vehicles_page(app, &request, Self::PATH).await?;
        let cap = u32::from(app.settings().max_speed.kph());
        let vehicles = devices.iter().map(|device| device.vehicle(cap)).collect();
        Ok(gzipped_json(
            &request,
            &VehiclesDocument { version: MDS_VERSION, vehicles, links, freshness: Freshness::now(app) },
            MDS_MEDIA_TYPE,
        ))
    }
}

#[derive(Serialize, JsonSchema)]
#[schemars(rename = "MdsVehicleDocument")]
struct VehicleDocument {
    version: &'static str,
    vehicles: Vec<MdsVehicle>,
    #[serde(flatten)]
    freshness: Freshness,
}

/// `GET /mds/vehicles/{device_id}`: one vehicle.
pub struct MdsVehicleOne;

impl Endpoint for MdsVehicleOne {
    const METHOD: Method = Method::GET;
    const PATH: &'static str = "/mds/vehicles/{device_id}";
    const FUNCTION: &'static str = "mds-vehicle";
    fn contract() -> Contract {
        Contract::new("MDS 2.0: one vehicle")
            .path::<Uuid>()
            .answers::<VehicleDocument>(StatusCode::OK, "The vehicle")
            .answers_in(MDS_MEDIA_TYPE)
            .gzipped_when_large()
            .refuses(&[ProblemType::VehicleNotFound, ProblemType::MdsVersionNotAcceptable])
    }
    type Caller = Agency;
}

impl<S: Services> Handle<S> for MdsVehicleOne {
    async fn handle(app: &S, _: Agency, request: Request) -> HandlerResult {
        let device = the_device(app, &request).await?;
        let vehicles = vec![device.vehicle(u32::from(app.settings().max_speed.kph()))];
        Ok(gzipped_json(
            &request,
            &VehicleDocument { version: MDS_VERSION, vehicles, freshness: Freshness::now(app) },
            MDS_MEDIA_TYPE,
        ))
    }
}

#[derive(Serialize, JsonSchema)]
#[schemars(rename = "MdsVehiclesStatus")]
struct StatusesDocument {
    version: &'static str,
    vehicles_status: Vec<MdsVehicleStatus>,
    links: Links,
    #[serde(flatten)]
    freshness: Freshness,
}

/// `GET /mds/vehicles/status`: every vehicle's last event and where it was, a thousand a page.
pub struct MdsVehiclesStatus;

impl Endpoint for MdsVehiclesStatus {
    const METHOD: Method = Method::GET;
    const PATH: &'static str = "/mds/vehicles/status";
    const FUNCTION: &'static str = "mds-vehicles-status";
    fn contract() -> Contract {
        Contract::new("MDS 2.0: the vehicles' latest states")
            .query::<VehiclesQuery>()
            .answers::<StatusesDocument>(StatusCode::OK, "A page of states, by device id")
            .answers_in(MDS_MEDIA_TYPE)
            .gzipped_when_large()
            .refuses(&[ProblemType::MdsVersionNotAcceptable])
    }
    type Caller = Agency;
}

impl<S: Services> Handle<S> for MdsVehiclesStatus {
    async fn handle(app: &S, _: Agency, request: Request) -> HandlerResult {
        let (devices, links) = vehicles_page(app, &request, Self::PATH).await?;
        let vehicles_status = devices.into_iter().map(|device| device.status).collect();
        Ok(gzipped_json(
            &request,
            &StatusesDocument { version: MDS_VERSION, vehicles_status, links, freshness: Freshness::now(app) },
            MDS_MEDIA_TYPE,
        ))
    }
}

#[derive(Serialize, JsonSchema)]
#[schemars(rename = "MdsVehicleStatusDocument")]
struct StatusDocument {
    version: &'static str,
    vehicles_status: Vec<MdsVehicleStatus>,
    #[serde(flatten)]
    freshness: Freshness,
}

/// `GET /mds/vehicles/status/{device_id}`: one vehicle's latest state.
pub struct MdsVehicleStatusOne;

impl Endpoint for MdsVehicleStatusOne {
    const METHOD: Method = Method::GET;
    const PATH: &'static str = "/mds/vehicles/status/{device_id}";
    const FUNCTION: &'static str = "mds-vehicle-status";
    fn contract() -> Contract {
        Contract::new("MDS 2.0: one vehicle's latest state")
            .path::<Uuid>()
            .answers::<StatusDocument>(StatusCode::OK, "The vehicle's state")
            .answers_in(MDS_MEDIA_TYPE)
            .gzipped_when_large()
            .refuses(&[ProblemType::VehicleNotFound, ProblemType::MdsVersionNotAcceptable])
    }
    type Caller = Agency;
}

impl<S: Services> Handle<S> for MdsVehicleStatusOne {
    async fn handle(app: &S, _: Agency, request: Request) -> HandlerResult {
        let device = the_device(app, &request).await?;
        Ok(gzipped_json(
            &request,
            &StatusDocument {
                version: MDS_VERSION,
                vehicles_status: vec![device.status],
                freshness: Freshness::now(app),
            },
            MDS_MEDIA_TYPE,
        ))
    }
}

/// A report's file name, `YYYY-MM.csv`: the month (the city's) it counts.
struct ReportName(CityMonth);

impl TryFrom<String> for ReportName {
    type Error = NotAMonth;
    fn try_from(name: String) -> Result<Self, NotAMonth> {
        CityMonth::from_report_name(&name).map(ReportName)
    }
}

crate::domain::validated_schema!(ReportName, {
    "type": "string",
    "description": "A month in the city's time zone, YYYY-MM.csv",
    "pattern": "^[0-9]{4}-[0-9]{2}\\.csv$",
    "examples": ["2026-11.csv"],
});

/// `GET /mds/reports/{filename}`: a past month's trips and riders, counted per special group
/// (counts under ten redacted as `-1`).
pub struct MdsReport;

impl Endpoint for MdsReport {
    const METHOD: Method = Method::GET;
    const PATH: &'static str = "/mds/reports/{filename}";
    const FUNCTION: &'static str = "mds-report";
    fn contract() -> Contract {
        Contract::new("MDS 2.0: a past month's report of trips and riders, as CSV")
            .path::<ReportName>()
            .answers::<String>(StatusCode::OK, "The month's report: a header and a row per special group")
            .answers_in(MDS_CSV_MEDIA_TYPE)
            .refuses(&[ProblemType::MonthNotOver, ProblemType::MdsVersionNotAcceptable])
    }
    type Caller = Agency;
}

impl<S: Services> Handle<S> for MdsReport {
    async fn handle(app: &S, _: Agency, request: Request) -> HandlerResult {
        ensure_accepts_mds_csv(&request)?;
        let ReportName(month) = path_id(&request, "filename")?;
        let (now, city) = (app.clock().now(), app.settings().city_time_zone);
        if !month.is_settled(now, city) {
            return Err(Problem::new(ProblemType::MonthNotOver)
                .with_detail(format!("{month}'s report is made from {}", month.end(city) + HOUR_SETTLES_AFTER)));
        }
        let trips = app.mds().trips_started(month).await?;
        let csv = report_csv(&monthly_report(app.settings().mds.provider_id(), month, &trips));
        let mut response = Response::new(lambda_http::Body::Text(csv));
        response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(MDS_CSV_MEDIA_TYPE));
        Ok(response)
    }
}
