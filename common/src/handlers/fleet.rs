//! Fleet routes: admins register, service and retire boards; vehicles report where they are
//! and how charged; customers find available ones.

use super::city_rules::{CapWatch, watch_caps};
use super::views::KickboardView;
use crate::domain::commands::{Command, speed_cap_change};
use crate::domain::geo::{Area, Coordinates, GeoError, MAX_LAT, MAX_LON, MAX_RADIUS_M};
use crate::domain::ids::{KickboardId, VehicleTypeId};
use crate::domain::kickboard::{Kickboard, KickboardStatus, Model, ServiceStatus};
use crate::domain::vehicle::{
    BatteryPct, BatteryRules, Telemetry, VehicleType, default_vehicle_type_id, find_vehicle_type, vehicle_types,
};
use crate::domain::zones::ZoneMap;
use crate::http::contract::Contract;
use crate::http::endpoint::{Admin, Anyone, Customer, Endpoint, Handle, Vehicle};
use crate::http::request::{json_body, path_id, query_param};
use crate::http::response::{json, no_content};
use crate::http::{HandlerResult, Problem, ProblemType};
use crate::ports::{Clock, CommandedRides, FleetStore, PortError, PortResult, RentalStore, ReportOutcome, RideWatch};
use crate::services::Services;
use chrono::{DateTime, Utc};
use lambda_http::Request;
use lambda_http::http::{Method, StatusCode};
use schemars::JsonSchema;
use serde::Deserialize;
use std::sync::Arc;

/// A coordinate error, named by the field it is about.
pub(crate) fn invalid_position(error: GeoError) -> Problem {
    let field = match error {
        GeoError::Longitude => "lon",
        _ => "lat",
    };
    Problem::invalid_field(field, error.to_string())
}

/// The search radius when `near` is given without `radiusM`.
const DEFAULT_RADIUS_M: u32 = 500;
/// The most boards one listing returns.
const MAX_LISTED: usize = 200;

#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RegisterBody {
    kickboard_id: Option<KickboardId>,
    model: Model,
    /// A vehicle type of GET /vehicle-types; the first of them if absent.
    vehicle_type_id: Option<VehicleTypeId>,
    #[schemars(range(min = -MAX_LAT, max = MAX_LAT))]
    lat: f64,
    #[schemars(range(min = -MAX_LON, max = MAX_LON))]
    lon: f64,
}

/// `POST /kickboards` (admin)
pub struct RegisterKickboard;

impl Endpoint for RegisterKickboard {
    const METHOD: Method = Method::POST;
    const PATH: &'static str = "/kickboards";
    const FUNCTION: &'static str = "register-kickboard";
    fn contract() -> Contract {
        Contract::new("Register a kickboard (admin)")
            .body::<RegisterBody>()
            .answers::<KickboardView>(StatusCode::CREATED, "The kickboard")
            .refuses(&[ProblemType::KickboardIdTaken])
    }
    type Caller = Admin;
}

impl<S: Services> Handle<S> for RegisterKickboard {
    async fn handle(app: &S, _: Admin, request: Request) -> HandlerResult {
        let body: RegisterBody = json_body(&request)?;
        let location = Coordinates::new(body.lat, body.lon).map_err(invalid_position)?;
        let vehicle_type_id = body.vehicle_type_id.unwrap_or_else(default_vehicle_type_id);
        if find_vehicle_type(&vehicle_type_id).is_none() {
            return Err(Problem::invalid_field("vehicleTypeId", "is not a vehicle type of GET /vehicle-types"));
        }
        let kickboard_id = body.kickboard_id.unwrap_or_else(KickboardId::random);
        let (board, event) =
            Kickboard::register(kickboard_id, body.model, vehicle_type_id, location, app.clock().now());
        app.fleet().register_kickboard(&board, &event).await?;
        Ok(json(StatusCode::CREATED, &KickboardView::new(&board)))
    }
}

/// `DELETE /kickboards/{kickboardId}` (admin): retires the board, keeping its history.
pub struct DeleteKickboard;

impl Endpoint for DeleteKickboard {
    const METHOD: Method = Method::DELETE;
    const PATH: &'static str = "/kickboards/{kickboardId}";
    const FUNCTION: &'static str = "delete-kickboard";
    fn contract() -> Contract {
        Contract::new("Retire a kickboard (admin)")
            .path::<KickboardId>()
            .answers_nothing(StatusCode::NO_CONTENT, "Retired")
            .refuses(&[ProblemType::KickboardNotFound, ProblemType::KickboardRented])
    }
    type Caller = Admin;
}

impl<S: Services> Handle<S> for DeleteKickboard {
    async fn handle(app: &S, _: Admin, request: Request) -> HandlerResult {
        let kickboard_id: KickboardId = path_id(&request, "kickboardId")?;
        app.fleet().retire_kickboard(&kickboard_id, app.clock().now()).await?;
        Ok(no_content())
    }
}

/// The query of `GET /kickboards`, as given; [`parse_area`] checks it.
#[derive(JsonSchema)]
#[serde(rename_all = "camelCase")]
struct KickboardsQuery {
    /// `lat,lon`: only boards within radiusM of it, nearest first.
    #[schemars(regex(pattern = r"^-?[0-9.]+,-?[0-9.]+$"))]
    near: Option<String>,
    /// Metres around near.
    #[schemars(with = "Option<u32>", range(min = 1, max = MAX_RADIUS_M), extend("default" = DEFAULT_RADIUS_M))]
    radius_m: Option<String>,
}

impl KickboardsQuery {
    fn of(request: &Request) -> Self {
        Self { near: query_param(request, "near"), radius_m: query_param(request, "radiusM") }
    }
}

fn parse_area(KickboardsQuery { near, radius_m: radius }: KickboardsQuery) -> Result<Option<Area>, Problem> {
    let Some(near) = near else {
        return match radius {
            Some(_) => Err(Problem::invalid_field("radiusM", "needs near=lat,lon")),
            None => Ok(None),
        };
    };
    let bad_near = || Problem::invalid_field("near", "must be lat,lon");
    let (lat, lon) = near.split_once(',').ok_or_else(bad_near)?;
    let lat: f64 = lat.trim().parse().map_err(|_| bad_near())?;
    let lon: f64 = lon.trim().parse().map_err(|_| bad_near())?;
    let centre = Coordinates::new(lat, lon).map_err(|error| Problem::invalid_field("near", error.to_string()))?;
    let radius_m = match radius {
        None => DEFAULT_RADIUS_M,
        Some(radius) => {
            radius.parse().map_err(|_| Problem::invalid_field("radiusM", "must be a whole number of metres"))?
        }
    };
    Area::new(centre, radius_m).map(Some).map_err(|error| Problem::invalid_field("radiusM", error.to_string()))
}

/// `GET /kickboards[?near=lat,lon&radiusM=]`: boards a customer can rent (not in
/// maintenance, charged enough), nearest first when `near` is given.
pub struct ListKickboards;

impl Endpoint for ListKickboards {
    const METHOD: Method = Method::GET;
    const PATH: &'static str = "/kickboards";
    const FUNCTION: &'static str = "list-kickboards";
    fn contract() -> Contract {
        Contract::new("Available kickboards, nearest first with near")
            .query::<KickboardsQuery>()
            .answers::<Vec<KickboardView>>(StatusCode::OK, "Kickboards")
    }
    type Caller = Customer;
}

impl<S: Services> Handle<S> for ListKickboards {
    async fn handle(app: &S, _: Customer, request: Request) -> HandlerResult {
        let area = parse_area(KickboardsQuery::of(&request))?;
        let boards = app.fleet().available_kickboards(area, &app.settings().battery, MAX_LISTED).await?;
        let views: Vec<_> = boards.iter().map(KickboardView::new).collect();
        Ok(json(StatusCode::OK, &views))
    }
}

/// `GET /vehicle-types` (anyone): the catalogue of vehicle types.
pub struct ListVehicleTypes;

impl Endpoint for ListVehicleTypes {
    const METHOD: Method = Method::GET;
    const PATH: &'static str = "/vehicle-types";
    const FUNCTION: &'static str = "list-vehicle-types";
    fn contract() -> Contract {
        Contract::new("The vehicle type catalogue")
            .stateless()
            .answers::<Vec<VehicleType>>(StatusCode::OK, "Vehicle types")
    }
    type Caller = Anyone;
}

impl<S: Sync> Handle<S> for ListVehicleTypes {
    async fn handle(_: &S, _: Anyone, _: Request) -> HandlerResult {
        Ok(json(StatusCode::OK, &vehicle_types()))
    }
}

/// What a vehicle reports, over HTTP or MQTT.
#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TelemetryBody {
    #[schemars(range(min = -MAX_LAT, max = MAX_LAT))]
    lat: f64,
    #[schemars(range(min = -MAX_LON, max = MAX_LON))]
    lon: f64,
    battery_pct: BatteryPct,
    /// When the vehicle measured it; now if absent, at most 5 minutes ahead.
    reported_at: Option<DateTime<Utc>>,
}

impl TelemetryBody {
    fn telemetry(self, now: DateTime<Utc>) -> Result<Telemetry, Problem> {
        let location = Coordinates::new(self.lat, self.lon).map_err(invalid_position)?;
        Telemetry::new(location, self.battery_pct, self.reported_at, now)
            .map_err(|error| Problem::invalid_field("reportedAt", error.to_string()))
    }
}

/// `PUT /kickboards/{kickboardId}/telemetry` (the vehicle itself, or an admin): the board's
/// position and battery. An older report than the stored one changes nothing and answers the
/// stored board.
pub struct ReportTelemetry;

impl Endpoint for ReportTelemetry {
    const METHOD: Method = Method::PUT;
    const PATH: &'static str = "/kickboards/{kickboardId}/telemetry";
    const FUNCTION: &'static str = "report-telemetry";
    fn contract() -> Contract {
        Contract::new(
            "A vehicle reports its position and battery (group vehicle or admin); an older report than the stored one is ignored",
        )
        .path::<KickboardId>()
        .body::<TelemetryBody>()
        .answers::<KickboardView>(StatusCode::OK, "The kickboard (as stored, when the report was older)")
        .refuses(&[ProblemType::KickboardNotFound])
    }
    type Caller = Vehicle;
}

impl<S: Services> Handle<S> for ReportTelemetry {
    async fn handle(app: &S, caller: Vehicle, request: Request) -> HandlerResult {
        let kickboard_id: KickboardId = path_id(&request, "kickboardId")?;
        // A vehicle's credentials are its own (its `sub` is its id), as on MQTT, where
        // each vehicle may publish only on its own topic.
        if let Vehicle::Board(id) = &caller
            && id.as_str() != kickboard_id.as_str()
        {
            return Err(Problem::new(ProblemType::Forbidden).with_detail("a vehicle reports only for itself"));
        }
        let now = app.clock().now();
        let telemetry = json_body::<TelemetryBody>(&request)?.telemetry(now)?;
        let zones = app.geofence().map(now).await?;
        let outcome = app.fleet().report_telemetry(&kickboard_id, &telemetry, &app.settings().battery, &zones).await?;
        follow_speed_caps(app, &zones, &outcome).await?;
        Ok(json(StatusCode::OK, &KickboardView::new(&outcome.board)))
    }
}

/// What became of a report that came over MQTT, where nobody reads an answer but the log.
#[derive(Debug, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Ingested {
    pub applied: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
}

/// A report from AWS IoT Core's topic rule: the vehicle's message plus the `kickboardId` the
/// rule took from the topic. A report that is wrong, stale or for no board is logged and
/// dropped (sending it again cannot help); only a busy or failing store fails the call. A
/// rented board the report took across a zone's speed limit is sent its cap
/// ([`follow_speed_caps`]); a cap that could not be sent is logged, the report stands.
pub async fn ingest_telemetry(app: &impl Services, message: serde_json::Value) -> Result<Ingested, PortError> {
    let rules = app.settings().battery;
    let zones = app.geofence().map(app.clock().now()).await?;
    let outcome = match ingest_report(app.fleet(), app.clock(), &rules, &zones, message).await? {
        Ok(outcome) => outcome,
        Err(reason) => return Ok(Ingested { applied: false, refused: Some(reason) }),
    };
    if let Err(error) = follow_speed_caps(app, &zones, &outcome).await {
        tracing::warn!(kickboard = %outcome.board.kickboard_id, %error, "a speed cap was not sent");
    }
    Ok(Ingested { applied: outcome.applied, refused: None })
}

/// [`ingest_telemetry`], answering what the report left stored, or why it was dropped.
pub async fn ingest_report(
    fleet: &dyn FleetStore,
    clock: &dyn Clock,
    rules: &BatteryRules,
    zones: &Arc<ZoneMap>,
    mut message: serde_json::Value,
) -> Result<Result<ReportOutcome, String>, PortError> {
    let refused = |reason: String| {
        tracing::warn!(%reason, "telemetry dropped");
        Ok(Err(reason))
    };
    let kickboard_id = message.as_object_mut().and_then(|fields| fields.remove("kickboardId"));
    let Some(kickboard_id) = kickboard_id.and_then(|id| serde_json::from_value::<KickboardId>(id).ok()) else {
        return refused("no valid kickboardId".into());
    };
    // The error names the field at fault, as the HTTP route's 400 does.
    let telemetry = match serde_path_to_error::deserialize::<_, TelemetryBody>(message) {
        Ok(body) => body.telemetry(clock.now()),
        Err(error) => return refused(format!("{kickboard_id}: {error}")),
    };
    let telemetry = match telemetry {
        Ok(telemetry) => telemetry,
        Err(problem) => return refused(format!("{kickboard_id}: {}", problem.detail.unwrap_or_default())),
    };
    match fleet.report_telemetry(&kickboard_id, &telemetry, rules, zones).await {
        Ok(outcome) => Ok(Ok(outcome)),
        Err(PortError::Rule(violation)) => refused(format!("{kickboard_id}: {violation}")),
        Err(error) => Err(error),
    }
}

/// Sends a rented board its new speed cap when its report took it across a zone's limit:
/// once on entering, the fleet's cap again once on leaving, never once per report. The
/// command is not waited for; a lost one is sent again at the next crossing.
pub async fn follow_speed_caps(app: &impl Services, zones: &ZoneMap, outcome: &ReportOutcome) -> PortResult<()> {
    let Some(vehicles) = app.vehicles() else { return Ok(()) };
    if !outcome.applied || outcome.board.status() != KickboardStatus::Rented {
        return Ok(());
    }
    let fleet_cap = app.settings().max_speed;
    let Some(cap) = speed_cap_change(zones, fleet_cap, &outcome.previous_location, &outcome.board.location) else {
        return Ok(());
    };
    let command = Command::SetMaxSpeed { kph: cap };
    vehicles.send(app.settings(), app.clock(), &outcome.board.kickboard_id, command).await.map(|_| ())
}

#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct StatusBody {
    status: ServiceStatus,
}

/// `PUT /kickboards/{kickboardId}/status` (admin): into maintenance, or back into service.
pub struct SetKickboardStatus;

impl Endpoint for SetKickboardStatus {
    const METHOD: Method = Method::PUT;
    const PATH: &'static str = "/kickboards/{kickboardId}/status";
    const FUNCTION: &'static str = "set-kickboard-status";
    fn contract() -> Contract {
        Contract::new("Take a kickboard into maintenance or put it back in service (admin)")
            .path::<KickboardId>()
            .body::<StatusBody>()
            .answers::<KickboardView>(StatusCode::OK, "The kickboard")
            .refuses(&[ProblemType::KickboardNotFound, ProblemType::KickboardRented])
    }
    type Caller = Admin;
}

impl<S: Services> Handle<S> for SetKickboardStatus {
    async fn handle(app: &S, _: Admin, request: Request) -> HandlerResult {
        let kickboard_id: KickboardId = path_id(&request, "kickboardId")?;
        let body: StatusBody = json_body(&request)?;
        let board = app.fleet().set_service(&kickboard_id, body.status, app.clock().now()).await?;
        Ok(json(StatusCode::OK, &KickboardView::new(&board)))
    }
}

#[cfg(all(test, feature = "sqlite"))]
mod tests {
    use super::*;
    use crate::adapters::sqlite::SqliteStore;
    use crate::ports::SystemClock;
    use serde_json::json;

    #[tokio::test]
    async fn mqtt_reports_are_taken_or_dropped_with_the_reason() {
        let store = SqliteStore::open_in_memory().unwrap();
        let rules = BatteryRules::default();
        let now = SystemClock.now() - chrono::Duration::seconds(5);
        let place = Coordinates::new(37.5665, 126.978).unwrap();
        let model = Model::try_from("Ninebot".to_owned()).unwrap();
        let (board, event) =
            Kickboard::register(KickboardId::try_from("kb-1").unwrap(), model, default_vehicle_type_id(), place, now);
        store.register_kickboard(&board, &event).await.unwrap();
        let zones = Arc::new(ZoneMap::default());
        let ingest = |message| ingest_report(&store, &SystemClock, &rules, &zones, message);

        let taken = ingest(json!({"kickboardId": "kb-1", "lat": 37.5, "lon": 127.0, "batteryPct": 55})).await.unwrap();
        assert!(taken.unwrap().applied);
        let stale = json!({"kickboardId": "kb-1", "lat": 37.5, "lon": 127.0, "batteryPct": 5, "reportedAt": now});
        assert!(!ingest(stale).await.unwrap().unwrap().applied);
        for (bad, reason) in [
            (json!({"lat": 37.5, "lon": 127.0, "batteryPct": 5}), "no valid kickboardId"),
            (json!({"kickboardId": "kb-1", "lat": 37.5, "lon": 127.0, "batteryPct": 500}), "batteryPct"),
            (json!({"kickboardId": "kb-1", "lat": 97.5, "lon": 127.0, "batteryPct": 5}), "lat"),
            (json!({"kickboardId": "kb-9", "lat": 37.5, "lon": 127.0, "batteryPct": 5}), "no such kickboard"),
        ] {
            let dropped = ingest(bad).await.unwrap();
            assert!(dropped.as_ref().is_err_and(|why| why.contains(reason)), "{dropped:?}");
        }
        let stored = store.parked_kickboards().await.unwrap();
        assert_eq!(stored[0].battery_pct.get(), 55, "only the good report was taken");
    }
}

/// What one watch over the rides found.
#[derive(Debug, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WatchedRides {
    /// Boards taken by a rental (ridden, or held for an unlock).
    pub ridden: usize,
    /// Of those, the ones the crew was told now went silent.
    pub silent: usize,
    /// Holds left by rents that died, undone now.
    pub dead_holds: usize,
    /// The city's caps the crew was told now are over.
    pub caps_over: usize,
}

/// What the watch over the rides reads and writes.
pub struct WatchDeps<'a> {
    pub watch: &'a dyn RideWatch,
    pub rentals: &'a dyn RentalStore,
    /// Where held rentals are undone; `None` where no vehicle link holds them.
    pub rides: Option<&'a dyn CommandedRides>,
    pub clock: &'a dyn Clock,
    /// The city's fleet caps, watched in the same minute.
    pub caps: CapWatch<'a>,
}

/// `watch-rides`, every minute: tells the crew, once per silence, of each rented board that
/// said nothing for `SILENT_RIDE_AFTER` (stolen, broken down, out of coverage), and undoes
/// the holds that rents which died left and no later rent met (each taken board's rental is
/// read for it: one read per ride in progress per minute); then watches the city's caps
/// ([`watch_caps`]).
pub async fn watch_rides(deps: &WatchDeps<'_>) -> PortResult<WatchedRides> {
    let now = deps.clock.now();
    let rented = deps.watch.rented_kickboards().await?;
    let caps_over = watch_caps(&deps.caps, now).await?;
    let mut watched = WatchedRides { ridden: rented.len(), silent: 0, dead_holds: 0, caps_over };
    for board in &rented {
        if let (Some(rides), Some(rental_id)) = (deps.rides, board.rental_id())
            && super::rentals::undo_dead_hold(deps.rentals, rides, rental_id, now).await?
                == super::rentals::Hold::Undone
        {
            watched.dead_holds += 1;
            continue;
        }
        if board.silent_while_rented(now).is_some() && deps.watch.alert_silent_ride(&board.kickboard_id, now).await? {
            tracing::warn!(kickboard = %board.kickboard_id, "a rented board went silent");
            watched.silent += 1;
        }
    }
    Ok(watched)
}
