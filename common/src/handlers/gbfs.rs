//! The public GBFS v3.0 feed (`GET /gbfs/v3/{feed}`, no token): what trip planners and city
//! regulators read; `geofencing_zones.json` once there are zones. The fleet is read from the
//! store at most once per `ttl` per instance (a snapshot of the parked boards), never per
//! request, and every file says truthfully how old it is: `last_updated` is when its data was
//! read, it is read again `ttl` seconds later, and `Cache-Control` lets a cache keep it only
//! for what is left of that. Files are gzipped for clients that take it, which is what lets a
//! city's `vehicle_status.json` fit in a Lambda answer.

use crate::domain::kickboard::Kickboard;
use crate::domain::plan::catalogue;
use crate::domain::vehicle::{BatteryRules, vehicle_types};
use crate::domain::zones::{ZoneMap, ZoneRules};
use crate::http::contract::Contract;
use crate::http::encoding::{MIN_GZIP_BYTES, accepts_gzip, gzip};
use crate::http::endpoint::{Anyone, Endpoint, Handle};
use crate::http::request::path_id;
use crate::http::response::JSON;
use crate::http::{HandlerResult, Problem, ProblemType};
use crate::ports::{FleetStore, PortResult};
use crate::services::Services;
use chrono::{DateTime, SecondsFormat, Utc};
use lambda_http::http::{HeaderValue, Method, StatusCode, header};
use lambda_http::{Body, Request, Response};
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde_json::{Value, json};
use std::borrow::Cow;
use std::sync::{Arc, OnceLock};
use tokio::sync::Mutex;

/// The GBFS version every file conforms to.
pub const GBFS_VERSION: &str = "3.0";

/// The files this feed publishes, as `gbfs.json` lists them (`geofencing_zones` once there
/// are zones).
const FEEDS: [&str; 5] = ["system_information", "vehicle_types", "vehicle_status", "system_pricing_plans", "gbfs"];
const GEOFENCING_ZONES: &str = "geofencing_zones";

/// A file name of `GET /gbfs/v3/{feed}`, as the document gives it.
struct FeedFile;

impl JsonSchema for FeedFile {
    fn schema_name() -> Cow<'static, str> {
        "GbfsFileName".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        let names: Vec<String> = FEEDS.iter().chain([&GEOFENCING_ZONES]).map(|feed| format!("{feed}.json")).collect();
        json_schema!({"type": "string", "enum": names})
    }
}

/// Any GBFS file: the envelope every one shares; its `data` is checked against MobilityData's
/// schemas by the tests, not here.
struct GbfsFile;

impl JsonSchema for GbfsFile {
    fn schema_name() -> Cow<'static, str> {
        "GbfsFile".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "object",
            "required": ["last_updated", "ttl", "version", "data"],
            "properties": {
                "last_updated": {"type": "string", "format": "date-time"},
                "ttl": {"type": "integer", "minimum": 0},
                "version": {"const": GBFS_VERSION},
                "data": {"type": "object"},
            },
        })
    }
}

/// What the operator says about the system, from configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GbfsSettings {
    pub system_id: String,
    pub name_ko: String,
    pub name_en: String,
    pub timezone: String,
    pub feed_contact_email: String,
    /// Seconds a file's data is kept before it is read again.
    pub ttl_secs: u32,
}

impl Default for GbfsSettings {
    fn default() -> Self {
        Self {
            system_id: "kickboard".into(),
            name_ko: "킥보드".into(),
            name_en: "Kickboard".into(),
            timezone: "Asia/Seoul".into(),
            feed_contact_email: "feeds@kickboard.example".into(),
            ttl_secs: 60,
        }
    }
}

/// The parked boards as read at one time.
#[derive(Debug)]
pub struct FleetSnapshot {
    pub taken_at: DateTime<Utc>,
    pub boards: Vec<Kickboard>,
    /// `vehicle_status.json` of these boards, rendered by the first request that needs it:
    /// the same bytes answer every request until the next read (a city's file is megabytes).
    vehicle_status: OnceLock<Rendered>,
}

/// This instance's latest snapshot of the fleet, read again once it is `ttl` old. One reader
/// at a time: requests arriving during a read wait for it instead of reading too.
#[derive(Default)]
pub struct FleetSnapshots {
    latest: Mutex<Option<Arc<FleetSnapshot>>>,
}

impl FleetSnapshots {
    /// The snapshot to answer with at `now`: the kept one while younger than `ttl_secs`,
    /// else a new read.
    pub async fn current(
        &self,
        fleet: &dyn FleetStore,
        now: DateTime<Utc>,
        ttl_secs: u32,
    ) -> PortResult<Arc<FleetSnapshot>> {
        let mut latest = self.latest.lock().await;
        if let Some(snapshot) = latest.as_ref().filter(|snapshot| age_secs(snapshot.taken_at, now) < ttl_secs) {
            return Ok(Arc::clone(snapshot));
        }
        let boards = fleet.parked_kickboards().await?;
        let snapshot = Arc::new(FleetSnapshot { taken_at: now, boards, vehicle_status: OnceLock::new() });
        *latest = Some(Arc::clone(&snapshot));
        Ok(snapshot)
    }
}

fn age_secs(since: DateTime<Utc>, now: DateTime<Utc>) -> u32 {
    u32::try_from((now - since).num_seconds().max(0)).unwrap_or(u32::MAX)
}

fn timestamp(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// One GBFS file: the common envelope around `data`, read at `last_updated` and fresh until
/// `ttl` seconds after that.
fn document(data: Value, last_updated: DateTime<Utc>, ttl: u32) -> String {
    let document = json!({
        "last_updated": timestamp(last_updated),
        "ttl": ttl,
        "version": GBFS_VERSION,
        "data": data,
    });
    document.to_string()
}

/// A GBFS file as served: its JSON, and the gzip of it, made when a client first takes it.
#[derive(Debug)]
struct Rendered {
    json: String,
    gzipped: OnceLock<Vec<u8>>,
}

impl Rendered {
    fn new(json: String) -> Self {
        Self { json, gzipped: OnceLock::new() }
    }

    /// The answer to `request`, which caches may keep for `max_age` seconds: gzipped when the
    /// client takes it and the file is worth it.
    fn answer(&self, request: &Request, max_age: u32) -> Response<Body> {
        let gzipped = (self.json.len() >= MIN_GZIP_BYTES && accepts_gzip(request))
            .then(|| self.gzipped.get_or_init(|| gzip(self.json.as_bytes())));
        let body = gzipped.map_or_else(|| Body::Text(self.json.clone()), |bytes| Body::Binary(bytes.clone()));
        let mut response = Response::new(body);
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(JSON));
        let cache = HeaderValue::from_str(&format!("public, max-age={max_age}")).expect("a number is a header value");
        headers.insert(header::CACHE_CONTROL, cache);
        // A cache in front keeps the two codings apart.
        headers.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
        if gzipped.is_some() {
            headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        }
        response
    }
}

fn localized(ko: &str, en: &str) -> Value {
    json!([{"text": ko, "language": "ko"}, {"text": en, "language": "en"}])
}

/// `gbfs.json`'s links: absolute, next to the file asked for, so they are right behind an API
/// Gateway stage and on the local server alike.
fn discovery(request: &Request, zones: &ZoneMap) -> Value {
    let uri = request.uri();
    let scheme = uri.scheme_str().unwrap_or("http");
    let authority = uri.authority().map(|authority| authority.as_str()).unwrap_or("localhost");
    let directory = uri.path().rsplit_once('/').map_or("", |(directory, _)| directory);
    let zoned = zones.zones().next().is_some() || zones.city_zones().next().is_some();
    let feeds: Vec<Value> = FEEDS
        .iter()
        .chain(zoned.then_some(&GEOFENCING_ZONES))
        .map(|name| json!({"name": name, "url": format!("{scheme}://{authority}{directory}/{name}.json")}))
        .collect();
    json!({"feeds": feeds})
}

/// A rule as GBFS spells it.
fn gbfs_rule(rules: &ZoneRules) -> Value {
    let mut rule = json!({
        "ride_start_allowed": rules.ride_start_allowed,
        "ride_end_allowed": rules.ride_end_allowed,
        "ride_through_allowed": rules.ride_through_allowed,
    });
    if let Some(speed) = rules.maximum_speed_kph {
        rule["maximum_speed_kph"] = json!(speed);
    }
    rule
}

/// The zones as a GeoJSON FeatureCollection in priority order (GBFS: where zones overlap the
/// first one listed wins, as the highest priority does here), and the global rules.
/// The zones in force: the city's rules first (GBFS reads the first zone listed where zones
/// overlap, and a city's rule is never loosened by an operator's zone), then the operator's.
fn geofencing_zones(zones: &ZoneMap) -> Value {
    let features: Vec<Value> = zones
        .city_zones()
        .map(|city| &city.zone)
        .chain(zones.zones())
        .map(|zone| {
            json!({
                "type": "Feature",
                "geometry": {"type": "MultiPolygon", "coordinates": zone.geometry.as_multi_polygon()},
                "properties": {
                    "name": localized(zone.name.as_str(), zone.name.as_str()),
                    "rules": [gbfs_rule(&zone.rules)],
                },
            })
        })
        .collect();
    json!({
        "geofencing_zones": {"type": "FeatureCollection", "features": features},
        "global_rules": [gbfs_rule(zones.global())],
    })
}

fn system_information(settings: &GbfsSettings) -> Value {
    json!({
        "system_id": settings.system_id,
        "languages": ["ko", "en"],
        "name": localized(&settings.name_ko, &settings.name_en),
        "opening_hours": "24/7",
        "feed_contact_email": settings.feed_contact_email,
        "timezone": settings.timezone,
    })
}

/// The plan a vehicle type is ridden on unless the rider chooses another.
fn default_plan_id() -> String {
    catalogue()[0].plan_id.to_string()
}

fn vehicle_types_data() -> Value {
    let types: Vec<Value> = vehicle_types()
        .iter()
        .map(|kind| {
            json!({
                "vehicle_type_id": kind.vehicle_type_id,
                "form_factor": kind.form_factor,
                "propulsion_type": kind.propulsion,
                "max_range_meters": kind.max_range_meters,
                "name": localized(&kind.name, &kind.name),
                "default_pricing_plan_id": default_plan_id(),
                "pricing_plan_ids": catalogue().iter().map(|plan| plan.plan_id.to_string()).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({"vehicle_types": types})
}

fn system_pricing_plans() -> Value {
    let plans: Vec<Value> = catalogue()
        .iter()
        .map(|plan| {
            json!({
                "plan_id": plan.plan_id,
                "name": localized(&format!("{}분 이용권", plan.minutes), &plan.name),
                "currency": "KRW",
                "price": plan.price_won.0,
                // Korean consumer prices include VAT.
                "is_taxable": false,
                "description": localized(
                    &format!("결제 후 {}일 동안 {}분 이용", plan.valid_days, plan.minutes),
                    &format!("{} minutes of riding within {} days of payment", plan.minutes, plan.valid_days),
                ),
            })
        })
        .collect();
    json!({"plans": plans})
}

/// Parked boards under their public ids: disabled when out of service or too empty to rent.
fn vehicle_status(snapshot: &FleetSnapshot, rules: &BatteryRules) -> Value {
    let vehicles: Vec<Value> = snapshot
        .boards
        .iter()
        .map(|board| {
            json!({
                "vehicle_id": board.public_id,
                "lat": board.location.lat(),
                "lon": board.location.lon(),
                "is_reserved": false,
                "is_disabled": !board.is_listed(rules),
                "vehicle_type_id": board.vehicle_type_id,
                "last_reported": timestamp(board.last_reported_at()),
                "current_range_meters": board.range_meters(),
                "current_fuel_percent": f64::from(board.battery_pct.get()) / 100.0,
            })
        })
        .collect();
    json!({"vehicles": vehicles})
}

/// `GET /gbfs/v3/{feed}` (anyone).
pub struct GbfsFeed;

impl Endpoint for GbfsFeed {
    const METHOD: Method = Method::GET;
    const PATH: &'static str = "/gbfs/v3/{feed}";
    const FUNCTION: &'static str = "gbfs-feed";
    fn contract() -> Contract {
        Contract::new("A public GBFS v3.0 file")
            .path::<FeedFile>()
            .answers::<GbfsFile>(
                StatusCode::OK,
                "The GBFS v3.0 file; it may be cached for ttl seconds. A large file is gzipped for a client that accepts gzip.",
            )
            .answer_header("Cache-Control", "How long a cache may keep it: what is left of its ttl", || {
                json!({"type": "string"})
            })
            .gzipped_when_large()
            .refuses(&[ProblemType::NotFound])
    }
    type Caller = Anyone;
}

impl<S: Services> Handle<S> for GbfsFeed {
    async fn handle(app: &S, _: Anyone, request: Request) -> HandlerResult {
        let feed: String = path_id(&request, "feed")?;
        let now = app.clock().now();
        let settings = app.settings();
        let ttl = settings.gbfs.ttl_secs;
        // The catalogues change only with a deployment: read now, as fresh as the fleet.
        let fresh = |data| Rendered::new(document(data, now, ttl)).answer(&request, ttl);
        Ok(match feed.strip_suffix(".json").unwrap_or_default() {
            "gbfs" => fresh(discovery(&request, &*app.geofence().map(now).await?)),
            "geofencing_zones" => {
                // Published until the city's rules next change, at the latest.
                let zones = app.geofence().map(now).await?;
                let until_change = zones.in_force_until().map(|until| (until - now).num_seconds().max(0));
                let ttl = until_change.map_or(ttl, |secs| ttl.min(u32::try_from(secs).unwrap_or(u32::MAX)));
                Rendered::new(document(geofencing_zones(&zones), now, ttl)).answer(&request, ttl)
            }
            "system_information" => fresh(system_information(&settings.gbfs)),
            "vehicle_types" => fresh(vehicle_types_data()),
            "system_pricing_plans" => fresh(system_pricing_plans()),
            "vehicle_status" => {
                let snapshot = app.snapshots().current(app.fleet(), now, ttl).await?;
                let rendered = snapshot.vehicle_status.get_or_init(|| {
                    Rendered::new(document(vehicle_status(&snapshot, &settings.battery), snapshot.taken_at, ttl))
                });
                rendered.answer(&request, ttl.saturating_sub(age_secs(snapshot.taken_at, now)))
            }
            _ => return Err(Problem::new(ProblemType::NotFound).with_detail("no such GBFS file")),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::vehicle::default_vehicle_type_id;

    #[test]
    fn every_vehicle_type_has_its_default_plan() {
        let data = vehicle_types_data();
        let plans = system_pricing_plans();
        let plan_ids: Vec<&Value> = plans["plans"].as_array().unwrap().iter().map(|plan| &plan["plan_id"]).collect();
        for kind in data["vehicle_types"].as_array().unwrap() {
            assert!(plan_ids.contains(&&kind["default_pricing_plan_id"]), "{kind}");
        }
        assert_eq!(data["vehicle_types"][0]["vehicle_type_id"], json!(default_vehicle_type_id()));
    }

    #[test]
    fn discovery_links_are_absolute_behind_an_api_gateway_stage() {
        let event = json!({
            "version": "2.0", "routeKey": "GET /gbfs/v3/{feed}", "rawPath": "/prod/gbfs/v3/gbfs.json",
            "rawQueryString": "", "headers": {"host": "api.kickboard.example", "x-forwarded-proto": "https"},
            "pathParameters": {"feed": "gbfs.json"},
            "requestContext": {"accountId": "1", "apiId": "a", "domainName": "api.kickboard.example",
                "http": {"method": "GET", "path": "/prod/gbfs/v3/gbfs.json", "protocol": "HTTP/1.1",
                    "sourceIp": "1.2.3.4", "userAgent": "x"},
                "requestId": "r", "routeKey": "GET /gbfs/v3/{feed}", "stage": "prod", "time": "", "timeEpoch": 0},
            "isBase64Encoded": false,
        });
        let request = lambda_http::request::from_str(&event.to_string()).unwrap();
        let feeds = discovery(&request, &ZoneMap::default());
        assert_eq!(feeds["feeds"][2]["url"], "https://api.kickboard.example/prod/gbfs/v3/vehicle_status.json");
    }
}
