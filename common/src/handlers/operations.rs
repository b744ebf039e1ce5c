//! The operators' read routes, for the console: the whole fleet for the map, the rides on the
//! road, the crew's alerts, and the day's figures with the payment breaker's state.

use crate::domain::alerts::{CrewAlert, CrewAlertKind};
use crate::domain::breaker::BreakerState;
use crate::domain::geo::{MAX_LAT, MAX_LON};
use crate::domain::ids::{EventId, KickboardId, RentalId};
use crate::domain::kickboard::Kickboard;
use crate::domain::vehicle::BatteryPct;
use crate::handlers::views::KickboardView;
use crate::http::contract::Contract;
use crate::http::encoding::gzipped_json;
use crate::http::endpoint::{Admin, Endpoint, Handle};
use crate::http::request::query_param;
use crate::http::response::{JSON, json};
use crate::http::{HandlerResult, Problem};
use crate::payments::PAYMENT_BREAKER;
use crate::services::Services;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use lambda_http::Request;
use lambda_http::http::{Method, StatusCode};
use schemars::JsonSchema;
use serde::Serialize;

/// How far back the crew's alerts are listed.
const ALERTS_WINDOW: Duration = Duration::hours(24);
/// The most alerts one answer lists.
const MAX_ALERTS: usize = 200;

/// A board as the operators see it: what riders see of it, and what the map and the board's
/// panel add.
#[derive(Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
struct FleetBoard {
    #[serde(flatten)]
    board: KickboardView,
    /// Below the operator's low mark: the crew should charge it.
    battery_low: bool,
    /// The ride on it, while rented.
    #[serde(skip_serializing_if = "Option::is_none")]
    rental_id: Option<RentalId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rented_at: Option<DateTime<Utc>>,
}

impl FleetBoard {
    fn new(board: &Kickboard, low: BatteryPct) -> Self {
        Self {
            board: KickboardView::new(board),
            battery_low: board.battery_pct < low,
            rental_id: board.rental_id().cloned(),
            rented_at: board.rented_at,
        }
    }
}

/// The fleet as read at `readAt`: the console shows its age.
#[derive(Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
struct Fleet {
    read_at: DateTime<Utc>,
    kickboards: Vec<FleetBoard>,
}

/// `GET /admin/kickboards` (admin): every board in service or ridden, wherever it is.
pub struct ListFleet;

impl Endpoint for ListFleet {
    const METHOD: Method = Method::GET;
    const PATH: &'static str = "/admin/kickboards";
    const FUNCTION: &'static str = "list-fleet";
    fn contract() -> Contract {
        Contract::new("The whole fleet: parked, in maintenance and ridden (admin)")
            .answers::<Fleet>(StatusCode::OK, "Every board not retired")
            .gzipped_when_large()
    }
    type Caller = Admin;
}

impl<S: Services> Handle<S> for ListFleet {
    async fn handle(app: &S, _: Admin, request: Request) -> HandlerResult {
        let read_at = app.clock().now();
        let (parked, ridden) = tokio::try_join!(app.fleet().parked_kickboards(), app.ride_watch().rented_kickboards())?;
        let low = app.settings().battery.low;
        let mut boards: Vec<&Kickboard> = parked.iter().chain(&ridden).collect();
        boards.sort_by(|a, b| a.kickboard_id.cmp(&b.kickboard_id));
        // A board returned between the two reads is in both: once is enough.
        boards.dedup_by(|a, b| a.kickboard_id == b.kickboard_id);
        let kickboards = boards.into_iter().map(|board| FleetBoard::new(board, low)).collect();
        Ok(gzipped_json(&request, &Fleet { read_at, kickboards }, JSON))
    }
}

/// Which rentals `GET /admin/rentals` lists.
#[derive(JsonSchema)]
#[allow(dead_code, clippy::upper_case_acronyms)]
enum RentalListing {
    /// The rides on the road now.
    ACTIVE,
}

/// The query of `GET /admin/rentals`, as given (empty when absent).
#[derive(JsonSchema)]
struct AdminRentalsQuery {
    #[schemars(with = "RentalListing")]
    status: String,
}

impl AdminRentalsQuery {
    fn of(request: &Request) -> Self {
        Self { status: query_param(request, "status").unwrap_or_default() }
    }
}

/// A ride on the road, where its board last said it was.
#[derive(Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
struct ActiveRental {
    rental_id: RentalId,
    kickboard_id: KickboardId,
    /// When the board was taken (absent for rides from before this was kept).
    #[serde(skip_serializing_if = "Option::is_none")]
    rented_at: Option<DateTime<Utc>>,
    #[schemars(range(min = -MAX_LAT, max = MAX_LAT))]
    lat: f64,
    #[schemars(range(min = -MAX_LON, max = MAX_LON))]
    lon: f64,
    battery_pct: BatteryPct,
    last_reported_at: DateTime<Utc>,
}

#[derive(Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
struct ActiveRentals {
    read_at: DateTime<Utc>,
    rentals: Vec<ActiveRental>,
}

/// `GET /admin/rentals?status=ACTIVE` (admin): the rides on the road, oldest first.
pub struct ListActiveRentals;

impl Endpoint for ListActiveRentals {
    const METHOD: Method = Method::GET;
    const PATH: &'static str = "/admin/rentals";
    const FUNCTION: &'static str = "list-active-rentals";
    fn contract() -> Contract {
        Contract::new("The rides on the road now (admin)")
            .query::<AdminRentalsQuery>()
            .answers::<ActiveRentals>(StatusCode::OK, "The rides, oldest first")
            .gzipped_when_large()
    }
    type Caller = Admin;
}

impl<S: Services> Handle<S> for ListActiveRentals {
    async fn handle(app: &S, _: Admin, request: Request) -> HandlerResult {
        match AdminRentalsQuery::of(&request).status.as_str() {
            "ACTIVE" => {}
            "" => return Err(Problem::invalid_field("status", "is required: ACTIVE")),
            _ => return Err(Problem::invalid_field("status", "only ACTIVE rentals are listed")),
        }
        let read_at = app.clock().now();
        let ridden = app.ride_watch().rented_kickboards().await?;
        let mut rentals: Vec<ActiveRental> = ridden
            .iter()
            .filter_map(|board| {
                Some(ActiveRental {
                    rental_id: board.rental_id()?.clone(),
                    kickboard_id: board.kickboard_id.clone(),
                    rented_at: board.rented_at,
                    lat: board.location.lat(),
                    lon: board.location.lon(),
                    battery_pct: board.battery_pct,
                    last_reported_at: board.last_reported_at(),
                })
            })
            .collect();
        rentals.sort_by(|a, b| (a.rented_at, &a.rental_id).cmp(&(b.rented_at, &b.rental_id)));
        Ok(gzipped_json(&request, &ActiveRentals { read_at, rentals }, JSON))
    }
}

/// A crew alert as the console lists it.
#[derive(Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
struct CrewAlertView {
    alert_id: EventId,
    kind: CrewAlertKind,
    kickboard_id: KickboardId,
    occurred_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = -MAX_LAT, max = MAX_LAT))]
    lat: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = -MAX_LON, max = MAX_LON))]
    lon: Option<f64>,
    /// What the crew was sent, in Korean.
    text: String,
}

impl From<CrewAlert> for CrewAlertView {
    fn from(alert: CrewAlert) -> Self {
        Self {
            alert_id: alert.alert_id,
            kind: alert.kind,
            kickboard_id: alert.kickboard_id,
            occurred_at: alert.occurred_at,
            lat: alert.location.map(|at| at.lat()),
            lon: alert.location.map(|at| at.lon()),
            text: alert.text,
        }
    }
}

#[derive(Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
struct CrewAlerts {
    read_at: DateTime<Utc>,
    alerts: Vec<CrewAlertView>,
}

/// `GET /admin/alerts` (admin): the crew's alerts of the last 24 hours, newest first.
pub struct ListCrewAlerts;

impl Endpoint for ListCrewAlerts {
    const METHOD: Method = Method::GET;
    const PATH: &'static str = "/admin/alerts";
    const FUNCTION: &'static str = "list-crew-alerts";
    fn contract() -> Contract {
        Contract::new("The crew's alerts of the last 24 hours, newest first (admin)")
            .answers::<CrewAlerts>(StatusCode::OK, "Up to 200 alerts")
    }
    type Caller = Admin;
}

impl<S: Services> Handle<S> for ListCrewAlerts {
    async fn handle(app: &S, _: Admin, _: Request) -> HandlerResult {
        let read_at = app.clock().now();
        let alerts = app.crew_log().crew_alerts(read_at - ALERTS_WINDOW, read_at, MAX_ALERTS).await?;
        Ok(json(StatusCode::OK, &CrewAlerts { read_at, alerts: alerts.into_iter().map(CrewAlertView::from).collect() }))
    }
}

/// A circuit breaker's state as of now: an open one whose time is up lets the next call probe.
#[derive(Serialize, JsonSchema)]
#[allow(clippy::upper_case_acronyms)]
enum BreakerNow {
    CLOSED,
    OPEN,
    #[serde(rename = "HALF_OPEN")]
    HalfOpen,
}

impl BreakerNow {
    fn of(state: &BreakerState, now: DateTime<Utc>) -> Self {
        match state {
            BreakerState::Closed { .. } => BreakerNow::CLOSED,
            BreakerState::Open { until } if now < *until => BreakerNow::OPEN,
            BreakerState::Open { .. } | BreakerState::HalfOpen { .. } => BreakerNow::HalfOpen,
        }
    }
}

/// Today's figures in the city, and what may stop riders now.
#[derive(Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
struct Summary {
    read_at: DateTime<Utc>,
    /// The city's calendar day the figures are of.
    day: NaiveDate,
    /// The city's time zone (IANA).
    time_zone: String,
    rides_ended: u64,
    minutes_billed: u64,
    /// Passes paid today, in won.
    revenue_won: u64,
    payment_breaker: BreakerNow,
}

/// `GET /admin/summary` (admin): today's rides, minutes and revenue, and the payment breaker.
pub struct GetSummary;

impl Endpoint for GetSummary {
    const METHOD: Method = Method::GET;
    const PATH: &'static str = "/admin/summary";
    const FUNCTION: &'static str = "get-summary";
    fn contract() -> Contract {
        Contract::new("Today's rides, minutes and revenue, and the payment breaker (admin)")
            .answers::<Summary>(StatusCode::OK, "The day so far")
    }
    type Caller = Admin;
}

impl<S: Services> Handle<S> for GetSummary {
    async fn handle(app: &S, _: Admin, _: Request) -> HandlerResult {
        let read_at = app.clock().now();
        let city = app.settings().city_time_zone;
        let day = read_at.with_timezone(&city).date_naive();
        let (figures, breaker) =
            tokio::try_join!(app.days().day_figures(day), app.breakers().load_breaker(PAYMENT_BREAKER))?;
        Ok(json(
            StatusCode::OK,
            &Summary {
                read_at,
                day,
                time_zone: city.name().to_owned(),
                rides_ended: figures.rides_ended,
                minutes_billed: figures.minutes_billed,
                revenue_won: figures.revenue_won,
                payment_breaker: BreakerNow::of(&breaker.value, read_at),
            },
        ))
    }
}
