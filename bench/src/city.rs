//! A synthetic city on the AWS adapters against moto, every AWS request counted by the tap
//! under the SDK: where the writes and reads land (hot keys), what a ride costs, and what a
//! nearby search reads as the fleet grows.

use chrono::Duration;
use hyper::{Method, StatusCode};
use kickboard_common::adapters::aws::DynamoStore;
use kickboard_common::adapters::aws::items::{AVAILABLE_INDEX, BoardItem, Item};
use kickboard_common::aws_services::AwsServices;
use kickboard_common::domain::geo::{Area, Coordinates};
use kickboard_common::domain::ids::KickboardId;
use kickboard_common::domain::kickboard::{Kickboard, Model};
use kickboard_common::domain::vehicle::{BatteryPct, BatteryRules, Telemetry, default_vehicle_type_id};
use kickboard_common::handlers::gbfs::GbfsFeed;
use kickboard_common::http::endpoint::call;
use kickboard_common::ports::{Clock, FleetStore};
use kickboard_common::services::Services;
use kickboard_common::settings::Settings;
use kickboard_tests::tap::{Tally, Tap};
use kickboard_tests::{TestServer, Xorshift};
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::Mutex;

/// The city: 10 km × 10 km from here (south-west corner, in Seoul).
const CITY_SW: (f64, f64) = (37.50, 126.92);
const CITY_KM: f64 = 10.0;

fn city_point(random: &mut Xorshift) -> Coordinates {
    let lat_span = CITY_KM / 111.32;
    let lon_span = CITY_KM / (111.32 * CITY_SW.0.to_radians().cos());
    Coordinates::new(CITY_SW.0 + random.unit() * lat_span, CITY_SW.1 + random.unit() * lon_span).expect("in range")
}

#[derive(Debug, Clone, Copy)]
pub struct CityOptions {
    pub boards: usize,
    pub customers: usize,
    pub rides: usize,
    /// Nearby searches besides the one before each ride.
    pub searches: usize,
    /// With the simulated vehicles (one MQTT session a board): rents wait for the unlock and
    /// returns for the lock, as on AWS with IoT Core. Without, the fleet is written to the
    /// table directly (a 10,000-board fleet of sessions is more sockets than the machine
    /// allows), and rents do not wait.
    pub vehicles: bool,
    /// Reports a rented board sends on its way.
    pub ride_reports: usize,
}

/// What driving the city cost, counted by the tap after the fleet was registered.
pub struct CityReport {
    pub options: CityOptions,
    pub tally: Tally,
    /// Rides that were bought, paid, rented and returned.
    pub rides: usize,
    /// Passes paid (a ride whose boards were all taken meanwhile pays but does not ride).
    pub payments: usize,
    /// Nearby searches made, the rides' included.
    pub searches: usize,
    /// Wall-clock seconds the rides and searches took on the emulator.
    pub seconds: f64,
    /// The table names of the deployment, to print keys without them.
    pub tables: (String, String),
}

impl CityReport {
    /// A partition key as printed: the deployment's table names replaced by `state`/`views`.
    pub fn key(&self, key: &str) -> String {
        key.replace(&self.tables.0, "state").replace(&self.tables.1, "views")
    }

    /// Writes to the breaker's items (its state and its counters).
    /// Writes to the payment breaker's items (its state and its counters).
    pub fn breaker_writes(&self) -> u64 {
        let payments = format!(":BREAKER#{}", kickboard_common::payments::PAYMENT_BREAKER);
        self.tally.writes.iter().filter(|(key, _)| key.contains(&payments)).map(|(_, count)| count).sum()
    }
}

async fn admin_register(kb: &TestServer, admin: &str, id: &str, at: Coordinates) {
    let body = json!({ "kickboardId": id, "model": "Ninebot Max", "lat": at.lat(), "lon": at.lon() });
    let reply = kb.post("/kickboards", admin, body).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{reply:?}");
}

/// How one customer's ride went.
#[derive(Default)]
struct RideOutcome {
    searches: usize,
    paid: bool,
    rode: bool,
}

/// One customer's ride: find boards nearby (searching again elsewhere when none is there),
/// buy and pay a pass, rent one of them, return it elsewhere in the city.
async fn ride(kb: &TestServer, token: &str, random: &Mutex<Xorshift>, reports: usize) -> RideOutcome {
    let mut outcome = RideOutcome::default();
    for _ in 0..10 {
        let (from, to) = {
            let mut random = random.lock().await;
            (city_point(&mut random), city_point(&mut random))
        };
        outcome.searches += 1;
        let near = format!("/kickboards?near={},{}&radiusM=500", from.lat(), from.lon());
        let found = kb.get(&near, token).await;
        let candidates: Vec<(String, Coordinates)> = found
            .body
            .as_array()
            .into_iter()
            .flatten()
            .take(3)
            .filter_map(|board| {
                let at = Coordinates::new(board["lat"].as_f64()?, board["lon"].as_f64()?).ok()?;
                Some((board["kickboardId"].as_str()?.to_owned(), at))
            })
            .collect();
        if candidates.is_empty() {
            continue;
        }
        let pass = kb.paid_pass(token, "basic-60").await;
        outcome.paid = true;
        for (board, start) in candidates {
            let rented = kb.rent(token, &pass, &board).await;
            if rented.status != StatusCode::CREATED {
                continue;
            }
            // The rented board reports its way to where it is left. A second apart, not its
            // vehicle's 30 s: the clock is shared, and a long jump would time out the unlocks
            // other riders are waiting for.
            for step in 1..=reports {
                kb.clock.advance(Duration::seconds(1));
                let share = step as f64 / (reports + 1) as f64;
                let (lat, lon) =
                    (start.lat() + (to.lat() - start.lat()) * share, start.lon() + (to.lon() - start.lon()) * share);
                let at = kb.clock.now().to_rfc3339();
                let sent = kb.report(&board, json!({"lat": lat, "lon": lon, "batteryPct": 80, "reportedAt": at})).await;
                assert_eq!(sent.status, StatusCode::OK, "{sent:?}");
            }
            kb.clock.advance(Duration::seconds(1));
            let path = format!("/rentals/{}/return", rented.text("rentalId"));
            let body = json!({ "lat": to.lat(), "lon": to.lon() });
            let returned = kb.call(Method::POST, &path, Some(token), Some(body)).await;
            assert_eq!(returned.status, StatusCode::OK, "{returned:?}");
            outcome.rode = true;
            return outcome;
        }
        return outcome;
    }
    outcome
}

/// Registers the fleet through the API, then has `customers` riding `rides` times between
/// them, concurrently, and makes `searches` more nearby searches, counting what AWS is asked.
pub async fn city(options: CityOptions) -> CityReport {
    let tap = Tap::default();
    let http = tap.http_client();
    let kb = TestServer::start_on_moto_configured(
        true,
        |config| config.vehicles = options.vehicles,
        |config| config.into_builder().http_client(http).build(),
    )
    .await;
    let kb = Arc::new(kb);
    let aws = kb.aws.as_ref().expect("on moto");
    let tables = (aws.deployment.tables.state.clone(), aws.deployment.tables.views.clone());
    let random = Arc::new(Mutex::new(Xorshift(0x9e37_79b9_7f4a_7c15)));
    if options.vehicles {
        let admin = kb.admin_token();
        let mut registering = tokio::task::JoinSet::new();
        for worker in 0..8 {
            let (kb, admin, random) = (Arc::clone(&kb), admin.clone(), Arc::clone(&random));
            registering.spawn(async move {
                for board in (worker..options.boards).step_by(8) {
                    let at = city_point(&mut *random.lock().await);
                    admin_register(&kb, &admin, &format!("kb-{board:05}"), at).await;
                }
            });
        }
        registering.join_all().await;
        kb.settle_within(std::time::Duration::from_secs(600)).await;
    } else {
        let client = aws_sdk_dynamodb::Client::new(&aws.config);
        let mut random = random.lock().await;
        seed_fleet(&client, &tables.0, options.boards, &mut || city_point(&mut random), kb.clock.now()).await;
    }
    tap.reset();

    let started = Instant::now();
    let mut riders = tokio::task::JoinSet::new();
    for customer in 0..options.customers {
        let (kb, random) = (Arc::clone(&kb), Arc::clone(&random));
        let rides = (customer..options.rides).step_by(options.customers.max(1)).count();
        riders.spawn(async move {
            let token = kb.customer_token(&format!("rider-{customer}"));
            kb.set_phone(&token, &format!("+8210{:08}", 40_000_000 + customer)).await;
            // A rider's licence is verified once, before the first ride (one alert).
            kb.verify_licence(&token).await;
            let mut total = (0, 0, 0);
            for _ in 0..rides {
                let outcome = ride(&kb, &token, &random, options.ride_reports).await;
                total.0 += usize::from(outcome.rode);
                total.1 += usize::from(outcome.paid);
                total.2 += outcome.searches;
            }
            total
        });
    }
    let (mut rides, mut payments, mut searches) = (0, 0, 0);
    for (rode, paid, made) in riders.join_all().await {
        rides += rode;
        payments += paid;
        searches += made;
    }
    let token = kb.customer_token("looker");
    for _ in 0..options.searches {
        let at = city_point(&mut *random.lock().await);
        kb.get(&format!("/kickboards?near={},{}&radiusM=500", at.lat(), at.lon()), &token).await;
        searches += 1;
    }
    kb.settle_within(std::time::Duration::from_secs(600)).await;
    let seconds = started.elapsed().as_secs_f64();
    let tally = tap.tally();
    Arc::into_inner(kb).expect("riders are done").stop().await;
    CityReport { options, tally, rides, payments, searches, seconds, tables }
}

/// One row of the nearby search on DynamoDB.
pub struct NearbyAwsRow {
    pub boards: usize,
    pub queries_per_search: f64,
    pub items_read_per_search: f64,
    pub found_per_search: f64,
}

/// Writes `boards` boards at the places `point` gives, with batch puts of the items the store
/// writes (the fleet is the setting, not what is measured).
async fn seed_fleet(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    boards: usize,
    point: &mut impl FnMut() -> Coordinates,
    registered_at: chrono::DateTime<chrono::Utc>,
) -> Vec<Kickboard> {
    let model = Model::try_from("Ninebot".to_owned()).expect("a valid model");
    let fleet: Vec<Kickboard> = (0..boards)
        .map(|board| {
            let id = KickboardId::try_from(format!("kb-{board}")).expect("a valid id");
            Kickboard::register(id, model.clone(), default_vehicle_type_id(), point(), registered_at).0
        })
        .collect();
    batch_put(client, table, fleet.iter().map(BoardItem::from)).await;
    fleet
}

/// Writes `items` to `table` with batch puts, 25 a request (a bench's setting, not what it
/// measures).
pub(crate) async fn batch_put<T: serde::Serialize>(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    items: impl IntoIterator<Item = T>,
) {
    let items: Vec<_> = items.into_iter().map(|item| serde_dynamo::to_item(item).expect("an item")).collect();
    for chunk in items.chunks(25) {
        let puts = chunk.iter().map(|item: &Item| {
            let put = aws_sdk_dynamodb::types::PutRequest::builder().set_item(Some(item.clone())).build().unwrap();
            aws_sdk_dynamodb::types::WriteRequest::builder().put_request(put).build()
        });
        client.batch_write_item().request_items(table, puts.collect()).send().await.expect("seeded");
    }
}

/// A fresh moto with the deployment's tables, every request through a tap.
pub(crate) struct TappedMoto {
    pub tap: Tap,
    pub deployment: kickboard_tests::moto::Deployment,
    pub client: aws_sdk_dynamodb::Client,
    pub config: aws_config::SdkConfig,
    /// Kept for the server's life: dropping it stops moto.
    pub _moto: kickboard_tests::moto::Moto,
}

impl TappedMoto {
    pub async fn start() -> Self {
        let tap = Tap::default();
        let moto = kickboard_tests::moto::Moto::start();
        let config = moto.sdk_config().await.into_builder().http_client(tap.http_client()).build();
        let deployment = kickboard_tests::moto::deploy(&config).await;
        let client = aws_sdk_dynamodb::Client::new(&config);
        Self { tap, deployment, client, config, _moto: moto }
    }
}

/// `GET /kickboards?near=` at the DynamoDB store on moto: `boards` boards at 100 per km²
/// (the area grows with the fleet), `queries` searches of 500 m; counts the index queries
/// and the items they read.
pub async fn nearby_aws(boards: usize, queries: usize) -> NearbyAwsRow {
    let TappedMoto { tap, deployment, client, _moto, .. } = TappedMoto::start().await;
    let side_km = (boards as f64 / 100.0).sqrt();
    let (lat_span, lon_span) = (side_km / 111.32, side_km / (111.32 * 37.5f64.to_radians().cos()));
    let mut random = Xorshift(0x2545_f491_4f6c_dd1d);
    let mut point = || Coordinates::new(37.4 + random.unit() * lat_span, 126.8 + random.unit() * lon_span).unwrap();
    seed_fleet(&client, &deployment.tables.state, boards, &mut point, chrono::Utc::now()).await;
    tap.reset();
    let store = DynamoStore::new(client, deployment.tables.clone());
    let mut found = 0;
    for _ in 0..queries {
        let area = Area::new(point(), 500).expect("a valid area");
        found += store.available_kickboards(Some(area), &BatteryRules::default(), 200).await.expect("a search").len();
    }
    let tally = tap.tally();
    let per = |count: u64| count as f64 / queries.max(1) as f64;
    NearbyAwsRow {
        boards,
        queries_per_search: per(tally.index_queries),
        items_read_per_search: per(tally.index_items_read),
        found_per_search: per(found as u64),
    }
}

/// List prices in USD, ap-northeast-2 (Seoul), on-demand, as AWS published them after the
/// 2024-11-01 DynamoDB on-demand price cut. Not fetched from this machine (it reaches no
/// AWS page): check them against the pricing pages and edit here before relying on them.
pub mod prices {
    pub const DYNAMODB_PER_MILLION_WRU: f64 = 0.7068;
    pub const DYNAMODB_PER_MILLION_RRU: f64 = 0.1414;
    pub const LAMBDA_PER_MILLION_REQUESTS: f64 = 0.20;
    /// arm64, per GB-second.
    pub const LAMBDA_PER_GB_SECOND: f64 = 0.000_013_333_4;
    pub const HTTP_API_PER_MILLION: f64 = 1.29;
    pub const EVENTBRIDGE_PER_MILLION_EVENTS: f64 = 1.00;
    /// One transactional SMS to a Korean number.
    pub const SNS_SMS_KOREA: f64 = 0.0177;
    pub const SNS_PUSH_PER_MILLION: f64 = 0.50;
    /// What one invocation is billed for: 128 MB for 20 ms (the functions answer in a few).
    pub const LAMBDA_GB_SECONDS_PER_INVOCATION: f64 = 0.125 * 0.020;
    /// The date these figures are from.
    pub const AS_OF: &str = "2024-11 (DynamoDB on-demand after the 2024-11-01 cut), unverified here";
}

/// The cost of 1,000 rides, by part, from a city run's counts.
pub struct RideCost {
    /// Per ride: AWS requests by `service.operation` (what the tap counted), plus the API
    /// requests and Lambda invocations they imply.
    pub per_ride: BTreeMap<String, f64>,
    /// USD per 1,000 rides: `(part, with SMS, with push)`.
    pub per_thousand: Vec<(String, f64, f64)>,
}

pub fn ride_cost(report: &CityReport, outbox_events_per_ride: f64) -> RideCost {
    use prices::*;
    let rides = report.rides.max(1) as f64;
    let mut per_ride: BTreeMap<String, f64> =
        report.tally.requests.iter().map(|(name, count)| (name.clone(), *count as f64 / rides)).collect();
    // Each ride is 5 API calls (a search, buy, pay, rent, return), each one Lambda invocation;
    // its events invoke event-relay (at most once per write: batched under load), the notifier
    // (paid, rented, returned), the balance view (bought, paid, returned) and the cities' view
    // (rented, returned).
    let api_calls = report.searches as f64 / rides + 4.0;
    let relay = outbox_events_per_ride;
    let notifier = 3.0;
    let balance_view = 3.0;
    let mds_view = 2.0;
    let invocations = api_calls + relay + notifier + balance_view + mds_view;
    per_ride.insert("API Gateway requests".into(), api_calls);
    per_ride.insert("Lambda invocations".into(), invocations);
    // Each rider's one licence alert is the rider's, not a ride's.
    let alerts = report.tally.sms.saturating_sub(report.options.customers as u64) as f64 / rides;
    let thousand = 1_000.0;
    let dynamodb = (report.tally.write_units * DYNAMODB_PER_MILLION_WRU
        + report.tally.read_units * DYNAMODB_PER_MILLION_RRU)
        / 1e6
        / rides
        * thousand;
    let lambda = invocations
        * (LAMBDA_PER_MILLION_REQUESTS / 1e6 + LAMBDA_GB_SECONDS_PER_INVOCATION * LAMBDA_PER_GB_SECOND)
        * thousand;
    let api = api_calls * HTTP_API_PER_MILLION / 1e6 * thousand;
    let events = report.tally.events_put as f64 / rides * EVENTBRIDGE_PER_MILLION_EVENTS / 1e6 * thousand;
    let sms = alerts * SNS_SMS_KOREA * thousand;
    let push = alerts * SNS_PUSH_PER_MILLION / 1e6 * thousand;
    let parts = vec![
        ("DynamoDB (on-demand)".to_owned(), dynamodb, dynamodb),
        ("Lambda (requests + 128 MB × 20 ms)".to_owned(), lambda, lambda),
        ("API Gateway HTTP API".to_owned(), api, api),
        ("EventBridge events".to_owned(), events, events),
        ("SNS alerts (3 a ride)".to_owned(), sms, push),
    ];
    let total = parts.iter().fold((0.0, 0.0), |(sms, push), (_, a, b)| (sms + a, push + b));
    let mut per_thousand = parts;
    per_thousand.push(("total".to_owned(), total.0, total.1));
    RideCost { per_ride, per_thousand }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_small_city_runs_and_its_counts_add_up() {
        let report =
            city(CityOptions { boards: 400, customers: 3, rides: 6, searches: 3, vehicles: false, ride_reports: 3 })
                .await;
        assert!(report.rides >= 4, "most rides found a board: {}", report.rides);
        assert!(report.searches >= report.rides + 3);
        assert_eq!(report.breaker_writes(), report.payments as u64, "one counter addition a payment, no state change");
        let cells: Vec<&String> = report.tally.writes.keys().filter(|key| key.starts_with("available:")).collect();
        assert!(!cells.is_empty() && cells.iter().all(|key| key.len() == "available:".len() + 6), "{cells:?}");
        let alerts = report.options.customers + report.payments + 2 * report.rides;
        assert_eq!(report.tally.sms, alerts as u64, "licence, paid, rented and returned alerts");
        let cost = ride_cost(&report, 4.0);
        assert!(cost.per_thousand.iter().all(|(_, sms, push)| *sms >= *push && *push >= 0.0));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_nearby_search_on_dynamodb_reads_a_few_cells() {
        let row = nearby_aws(300, 5).await;
        assert!((1.0..=48.0).contains(&row.queries_per_search), "{}", row.queries_per_search);
        assert!(row.items_read_per_search >= row.found_per_search);
    }
}

/// What serving `vehicle_status.json` and taking vehicle reports cost a fleet on DynamoDB.
pub struct FleetRow {
    pub boards: usize,
    /// Reading the fleet into a snapshot (once per ttl per instance): wall time on moto,
    /// `Scan` requests, read units, and the document's size.
    pub snapshot_ms: f64,
    pub snapshot_scans: u64,
    pub snapshot_read_units: f64,
    pub document_bytes: usize,
    /// The Lambda answer API Gateway receives for the file (what the 6 MB limit counts), as
    /// it is and gzipped, and the time to gzip it (once per snapshot).
    pub payload_bytes: usize,
    pub gzip_payload_bytes: usize,
    pub gzip_ms: f64,
    /// Requests answered from the snapshot: mean time (building the document) and the
    /// DynamoDB requests they made.
    pub cached_ms: f64,
    pub cached_requests: u64,
    /// Per vehicle report: DynamoDB requests, write units and `available` index writes, for a
    /// report that only changes the battery and for one that moves the board across the city.
    pub report_in_place: ReportCost,
    pub report_moved: ReportCost,
    /// A report that says what is stored (standing still, a steady battery) within the
    /// heartbeat: read, not written.
    pub report_unchanged: ReportCost,
}

#[derive(Debug, Default, Clone, Copy)]
pub struct ReportCost {
    pub requests: f64,
    pub write_units: f64,
    pub index_writes: f64,
}

fn gbfs_request(file: &str, accept_encoding: &str) -> lambda_http::Request {
    use lambda_http::RequestExt;
    let request = lambda_http::http::Request::builder()
        .uri(format!("https://gbfs.example/gbfs/v3/{file}"))
        .header("accept-encoding", accept_encoding)
        .body(lambda_http::Body::Empty)
        .expect("a request");
    request.with_path_parameters(std::collections::HashMap::from([("feed".to_owned(), file.to_owned())]))
}

/// The size of the JSON payload the function returns to API Gateway (HTTP API, payload v2)
/// for `response`, built as `lambda_http` builds it: a binary body goes base64-encoded.
fn lambda_payload_bytes(response: lambda_http::Response<lambda_http::Body>) -> usize {
    use lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpResponse;
    let (parts, body) = response.into_parts();
    let mut payload = ApiGatewayV2httpResponse::default();
    payload.status_code = i64::from(parts.status.as_u16());
    payload.is_base64_encoded = matches!(body, lambda_http::Body::Binary(_));
    payload.headers = parts.headers;
    payload.body = Some(body);
    serde_json::to_vec(&payload).expect("a payload").len()
}

fn report_cost(tally: &Tally, reports: usize) -> ReportCost {
    let index_writes: u64 =
        tally.writes.iter().filter(|(key, _)| key.starts_with(AVAILABLE_INDEX)).map(|(_, count)| count).sum();
    let per = |count: f64| count / reports.max(1) as f64;
    ReportCost {
        requests: per(tally.requests.values().sum::<u64>() as f64),
        write_units: per(tally.write_units),
        index_writes: per(index_writes as f64),
    }
}

/// `vehicle_status.json` for `boards` boards in the 10 km city on moto: the snapshot read,
/// `requests` answers from it, and `reports` vehicle reports of each kind.
pub async fn fleet_aws(boards: usize, requests: usize, reports: usize) -> FleetRow {
    let TappedMoto { tap, deployment, client, config, _moto } = TappedMoto::start().await;
    let mut random = Xorshift(0x9e37_79b9_7f4a_7c15);
    let fleet =
        seed_fleet(&client, &deployment.tables.state, boards, &mut || city_point(&mut random), chrono::Utc::now())
            .await;
    let mut settings = Settings::default();
    settings.aws.tables = Some(deployment.tables.clone());
    let services = AwsServices::new(settings, config.clone()).expect("the tables are named");
    let gbfs_feed = |request| call::<AwsServices, GbfsFeed>(&services, request);

    tap.reset();
    let started = Instant::now();
    let first = gbfs_feed(gbfs_request("vehicle_status.json", "identity")).await;
    let snapshot_ms = started.elapsed().as_secs_f64() * 1000.0;
    let snapshot = tap.tally();
    let document_bytes = match first.body() {
        lambda_http::Body::Text(text) => text.len(),
        _ => 0,
    };
    let payload_bytes = lambda_payload_bytes(first);
    let started = Instant::now();
    let zipped = gbfs_feed(gbfs_request("vehicle_status.json", "gzip")).await;
    let gzip_ms = started.elapsed().as_secs_f64() * 1000.0;
    assert_eq!(zipped.headers().get("content-encoding").map(|coding| coding.as_bytes()), Some(&b"gzip"[..]));
    let gzip_payload_bytes = lambda_payload_bytes(zipped);

    tap.reset();
    let started = Instant::now();
    for _ in 0..requests {
        let answer = gbfs_feed(gbfs_request("vehicle_status.json", "gzip")).await;
        assert_eq!(answer.status(), StatusCode::OK);
    }
    let cached_ms = started.elapsed().as_secs_f64() * 1000.0 / requests.max(1) as f64;
    let cached_requests = tap.tally().requests.values().sum();

    // Reports: the battery only, then a move to another place in the city.
    let mut at = chrono::Utc::now();
    let mut report = |place: Coordinates, battery: u8| {
        at += Duration::milliseconds(1);
        Telemetry::new(place, BatteryPct::new(battery).expect("a percentage"), Some(at), at).expect("a report")
    };
    let reporting = &fleet[..reports.min(fleet.len())];
    // No zones: a report's cost is the store's.
    let zones = std::sync::Arc::new(kickboard_common::domain::zones::ZoneMap::default());
    tap.reset();
    for board in reporting {
        let telemetry = report(board.location, 80);
        services
            .fleet()
            .report_telemetry(&board.kickboard_id, &telemetry, &services.settings().battery, &zones)
            .await
            .expect("a report");
    }
    let report_in_place = report_cost(&tap.tally(), reporting.len());
    tap.reset();
    let mut places = Vec::new();
    for board in reporting {
        let telemetry = report(city_point(&mut random), 79);
        services
            .fleet()
            .report_telemetry(&board.kickboard_id, &telemetry, &services.settings().battery, &zones)
            .await
            .expect("a report");
        places.push(telemetry.location);
    }
    let report_moved = report_cost(&tap.tally(), reporting.len());
    tap.reset();
    for (board, place) in reporting.iter().zip(places) {
        let telemetry = report(place, 79);
        services
            .fleet()
            .report_telemetry(&board.kickboard_id, &telemetry, &services.settings().battery, &zones)
            .await
            .expect("a report");
    }
    let report_unchanged = report_cost(&tap.tally(), reporting.len());

    FleetRow {
        boards,
        snapshot_ms,
        snapshot_scans: snapshot.requests.get("DynamoDB.Scan").copied().unwrap_or(0),
        snapshot_read_units: snapshot.read_units,
        document_bytes,
        payload_bytes,
        gzip_payload_bytes,
        gzip_ms,
        cached_ms,
        cached_requests,
        report_in_place,
        report_moved,
        report_unchanged,
    }
}
