//! Benchmarks, each a function that runs a measured scenario on loopback and returns its
//! figures; `src/main.rs` turns them into the tables of BENCHMARKS.md.

pub mod breaker;
pub mod city;
pub mod lambda;
pub mod mds;
pub mod zones;

use chrono::Duration;
use hyper::{Method, StatusCode};
use kickboard_common::domain::breaker::BreakerPolicy;
use kickboard_common::domain::vehicle::{BatteryRules, default_vehicle_type_id};
use kickboard_local::config::{LocalConfig, Storage};
use kickboard_tests::{ManualClock, TestServer, Xorshift};
use payment_simulator::Settings;
use std::sync::Arc;
use std::time::Instant;

/// Latency percentiles of a run, in milliseconds.
#[derive(Debug, Clone, PartialEq)]
pub struct Latencies {
    pub count: usize,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
}

impl Latencies {
    pub fn of(mut samples: Vec<std::time::Duration>) -> Self {
        samples.sort();
        let at = |quantile: f64| {
            let index = ((samples.len() as f64 * quantile).ceil() as usize).clamp(1, samples.len()) - 1;
            samples[index].as_secs_f64() * 1000.0
        };
        Self { count: samples.len(), p50: at(0.50), p90: at(0.90), p99: at(0.99), max: at(1.0) }
    }
}

/// What the fallback benchmark measured.
#[derive(Debug, Clone, PartialEq)]
pub struct FallbackReport {
    pub latencies: Latencies,
    /// Answers that were not "503, pay later" (must be 0).
    pub other_answers: usize,
    /// Provider calls made while the breaker was open (must be 0).
    pub provider_calls_while_open: u64,
}

/// Payment requests while the breaker is open: how fast the "pay later" fallback answers.
/// The provider is down; the breaker opens after its first few failures and stays open.
pub async fn fallback(requests: usize, concurrency: usize) -> FallbackReport {
    let provider = payment_simulator::start(
        "127.0.0.1:0".parse().expect("an address"),
        Settings { failure_rate: 1.0, ..Settings::default() },
    )
    .await
    .expect("the simulator starts");
    let config = LocalConfig {
        addr: "127.0.0.1:0".parse().expect("an address"),
        storage: Storage::InMemory,
        payment_url: Some(provider.url()),
        payment_timeouts: kickboard_common::settings::Settings::default().payments.timeouts,
        breaker: BreakerPolicy {
            window: Duration::seconds(30),
            min_calls: 4,
            failure_rate: 0.5,
            cool_down: Duration::hours(1),
            probe_timeout: Duration::seconds(5),
        },
        ..LocalConfig::default()
    };
    let kb = Arc::new(TestServer::start_configured(config, ManualClock::new()).await);
    let token = kb.customer_token("bench");
    let pass = kb.unpaid_pass(&token, "basic-60").await;
    let path = format!("/passes/{pass}/payment");
    for _ in 0..4 {
        kb.call(Method::POST, &path, Some(&token), None).await;
    }
    let calls_before = provider.simulator.stats().requests;

    let per_worker = requests.div_ceil(concurrency.max(1));
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..concurrency.max(1) {
        let (kb, token, path) = (Arc::clone(&kb), token.clone(), path.clone());
        workers.spawn(async move {
            let mut samples = Vec::with_capacity(per_worker);
            let mut other = 0;
            for _ in 0..per_worker {
                let started = Instant::now();
                let reply = kb.call(Method::POST, &path, Some(&token), None).await;
                samples.push(started.elapsed());
                if reply.status != StatusCode::SERVICE_UNAVAILABLE || reply.retry_after.is_none() {
                    other += 1;
                }
            }
            (samples, other)
        });
    }
    let mut samples = Vec::new();
    let mut other_answers = 0;
    for (worker_samples, other) in workers.join_all().await {
        samples.extend(worker_samples);
        other_answers += other;
    }
    let report = FallbackReport {
        latencies: Latencies::of(samples),
        other_answers,
        provider_calls_while_open: provider.simulator.stats().requests - calls_before,
    };
    provider.stop();
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_fallback_bench_runs_on_a_tiny_input() {
        let report = fallback(20, 4).await;
        assert_eq!(report.latencies.count, 20);
        assert_eq!(report.other_answers, 0, "every answer is 503 with Retry-After");
        assert_eq!(report.provider_calls_while_open, 0);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_throughput_bench_runs_on_a_tiny_input() {
        let data_dir = std::env::temp_dir().join(format!("kickboard-bench-test-{}", std::process::id()));
        for (storage, vehicles) in [(None, true), (Some(data_dir.clone()), false)] {
            let report = throughput(4, std::time::Duration::from_millis(300), storage, vehicles).await;
            assert!(report.pairs > 0);
            assert_eq!(report.double_rentals, 0);
        }
        std::fs::remove_dir_all(data_dir).unwrap();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_nearby_bench_runs_on_a_tiny_input() {
        let row = nearby(200, 20).await;
        assert_eq!(row.latencies.count, 20);
    }

    #[test]
    fn double_rentals_are_counted_from_the_outbox_order() {
        use chrono::Utc;
        use kickboard_common::domain::ids::{CustomerId, KickboardId, PassId, RentalId};
        use kickboard_common::domain::rental::Rental;
        let rent = |board: &str| {
            let pass = PassId::random();
            let (_, event) = Rental::open(
                RentalId::for_pass(&pass),
                pass,
                KickboardId::try_from(board).unwrap(),
                CustomerId::try_from("c").unwrap(),
                None,
                Utc::now(),
            );
            event
        };
        assert_eq!(double_rentals(&[rent("a"), rent("b")]), 0);
        assert_eq!(double_rentals(&[rent("a"), rent("a")]), 1);
    }

    #[test]
    fn the_lambda_benches_run_on_the_debug_builds() {
        // ./scripts/test builds these (debug, for the host) before the tests run; laid out
        // here as cargo-lambda lays out its builds, a folder per function with its bootstrap.
        let debug = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/debug");
        let lambda_dir = std::env::temp_dir().join(format!("kickboard-lambda-{}", std::process::id()));
        for function in ["list-plans", "notifier", "event-relay", "rent-kickboard", lambda::BASELINE] {
            std::fs::create_dir_all(lambda_dir.join(function)).unwrap();
            std::os::unix::fs::symlink(debug.join(function), lambda_dir.join(function).join("bootstrap")).unwrap();
        }
        let artifacts = lambda::artifacts(&lambda_dir);
        let artifact = |name: &str| artifacts.iter().find(|artifact| artifact.function == name).unwrap().clone();
        for function in ["list-plans", "notifier", "event-relay"] {
            let (rows, _) = lambda::paired_cold_starts(&[artifact(function)], &artifact(lambda::BASELINE), 1);
            assert!(rows[0].median_ms > 0.0 && rows[0].baseline_median_ms > 0.0, "{rows:?}");
        }
        let sizes = lambda::artifact_sizes(&lambda_dir);
        std::fs::remove_dir_all(&lambda_dir).unwrap();
        assert!(sizes.iter().any(|(function, _, zipped)| function == "rent-kickboard" && *zipped > 0), "{sizes:?}");
    }

    #[test]
    fn percentiles_pick_the_right_samples() {
        let samples = (1..=100).map(std::time::Duration::from_millis).collect();
        let latencies = Latencies::of(samples);
        assert_eq!((latencies.p50, latencies.p99, latencies.max), (50.0, 99.0, 100.0));
    }
}

/// A small deterministic generator for benchmark inputs.
/// What the throughput benchmark measured.
#[derive(Debug, Clone, PartialEq)]
pub struct ThroughputReport {
    pub clients: usize,
    pub seconds: f64,
    /// Completed rent + return pairs.
    pub pairs: u64,
    /// Rents refused because another client had the board (409).
    pub conflicts: u64,
    pub latencies: Latencies,
    /// Boards rented twice at once, from the outbox's commit order (must be 0).
    pub double_rentals: usize,
    /// How long after the last answer the relays took to hand every event to the notifier,
    /// the balance view and the MDS view: work the window's ops/s does not pay for.
    pub relays_behind: f64,
}

impl ThroughputReport {
    /// Completed rents and returns per second of the window.
    pub fn ops_per_second(&self) -> f64 {
        2.0 * self.pairs as f64 / self.seconds
    }

    /// The same, counted until every event was delivered: what the server can keep up.
    pub fn sustained_ops_per_second(&self) -> f64 {
        2.0 * self.pairs as f64 / (self.seconds + self.relays_behind)
    }
}

/// Rent + return pairs on the local server: `clients` concurrent customers over loopback,
/// each renting a random board of a shared fleet (one board per client) and returning it.
/// `data_dir`: the database file's directory, as the server runs by default; `None`: in memory.
pub async fn throughput(
    clients: usize,
    duration: std::time::Duration,
    data_dir: Option<std::path::PathBuf>,
    vehicles: bool,
) -> ThroughputReport {
    let storage = data_dir.map_or(Storage::InMemory, Storage::DataDir);
    let config =
        LocalConfig { addr: "127.0.0.1:0".parse().expect("an address"), storage, vehicles, ..LocalConfig::default() };
    let kb = Arc::new(TestServer::start_configured(config, ManualClock::new()).await);
    for board in 0..clients {
        kb.register_board(&format!("kb-{board}")).await;
    }
    let deadline = Instant::now() + duration;
    let started = Instant::now();
    let mut workers = tokio::task::JoinSet::new();
    for client in 0..clients {
        let kb = Arc::clone(&kb);
        workers.spawn(async move {
            let token = kb.customer_token(&format!("rider-{client}"));
            let mut pass = kb.paid_pass(&token, "plus-120").await;
            let mut random = Xorshift(0x9e37_79b9_7f4a_7c15 ^ (client as u64 + 1));
            let (mut pairs, mut conflicts, mut samples) = (0u64, 0u64, Vec::new());
            while Instant::now() < deadline {
                let board = format!("kb-{}", random.next_u64() % clients as u64);
                let sent = Instant::now();
                let rented = kb.rent(&token, &pass, &board).await;
                samples.push(sent.elapsed());
                match (rented.status, rented.problem()) {
                    (StatusCode::CREATED, _) => {}
                    (StatusCode::CONFLICT, _) => {
                        conflicts += 1;
                        continue;
                    }
                    (_, "pass-exhausted") => {
                        pass = kb.paid_pass(&token, "plus-120").await;
                        continue;
                    }
                    other => panic!("unexpected rent answer {other:?}"),
                }
                let sent = Instant::now();
                let returned = kb.give_back(&token, &rented.text("rentalId")).await;
                samples.push(sent.elapsed());
                assert_eq!(returned.status, StatusCode::OK, "{returned:?}");
                pairs += 1;
            }
            (pairs, conflicts, samples)
        });
    }
    let (mut pairs, mut conflicts, mut samples) = (0, 0, Vec::new());
    for (worker_pairs, worker_conflicts, worker_samples) in workers.join_all().await {
        pairs += worker_pairs;
        conflicts += worker_conflicts;
        samples.extend(worker_samples);
    }
    let seconds = started.elapsed().as_secs_f64();
    let answered = Instant::now();
    kb.server.app.relayed().await.expect("the relays deliver every event");
    let relays_behind = answered.elapsed().as_secs_f64();
    let double_rentals = double_rentals(&kb.outbox_events().await);
    ThroughputReport {
        clients,
        seconds,
        pairs,
        conflicts,
        latencies: Latencies::of(samples),
        double_rentals,
        relays_behind,
    }
}

/// Boards the outbox shows rented again before being returned. The outbox is in commit order.
pub fn double_rentals(events: &[kickboard_common::domain::events::EventEnvelope]) -> usize {
    use kickboard_common::domain::events::DomainEvent;
    let mut rented = std::collections::HashSet::new();
    let mut doubles = 0;
    for event in events {
        match &event.event {
            DomainEvent::KickboardRented { kickboard_id, .. } if !rented.insert(kickboard_id.clone()) => doubles += 1,
            DomainEvent::KickboardReturned { kickboard_id, .. } => {
                rented.remove(kickboard_id);
            }
            _ => {}
        }
    }
    doubles
}

/// One line of the nearby-search benchmark.
#[derive(Debug, Clone, PartialEq)]
pub struct NearbyRow {
    pub boards: usize,
    pub latencies: Latencies,
    /// Boards found per query, on average.
    pub found: f64,
}

/// `GET /kickboards?near=` at the store: `boards` boards spread at a constant density (100
/// per km²) over an area that grows with their number, `queries` searches of 500 m. With an
/// index the cost follows what is found, not how many boards exist.
pub async fn nearby(boards: usize, queries: usize) -> NearbyRow {
    use kickboard_common::adapters::sqlite::SqliteStore;
    use kickboard_common::domain::geo::{Area, Coordinates};
    use kickboard_common::domain::ids::KickboardId;
    use kickboard_common::domain::kickboard::{Kickboard, Model};
    use kickboard_common::ports::FleetStore;

    const DENSITY_PER_KM2: f64 = 100.0;
    let side_km = (boards as f64 / DENSITY_PER_KM2).sqrt();
    let (lat_span, lon_span) = (side_km / 111.32, side_km / (111.32 * 37.5f64.to_radians().cos()));
    let store = SqliteStore::open_in_memory().expect("an in-memory store");
    let mut random = Xorshift(0x2545_f491_4f6c_dd1d);
    let point = |random: &mut Xorshift| {
        Coordinates::new(37.4 + random.unit() * lat_span, 126.8 + random.unit() * lon_span).expect("in range")
    };
    let model = Model::try_from("Ninebot".to_owned()).expect("a valid model");
    for board in 0..boards {
        let id = KickboardId::try_from(format!("kb-{board}")).expect("a valid id");
        let (board, event) =
            Kickboard::register(id, model.clone(), default_vehicle_type_id(), point(&mut random), chrono::Utc::now());
        store.register_kickboard(&board, &event).await.expect("registered");
    }
    let (mut samples, mut found) = (Vec::with_capacity(queries), 0usize);
    for _ in 0..queries {
        let area = Area::new(point(&mut random), 500).expect("a valid area");
        let started = Instant::now();
        found += store.available_kickboards(Some(area), &BatteryRules::default(), 200).await.expect("a query").len();
        samples.push(started.elapsed());
    }
    NearbyRow { boards, latencies: Latencies::of(samples), found: found as f64 / queries.max(1) as f64 }
}
