//! `cargo run --release -p kickboard-bench -- <figure> [options]`: runs one benchmark and
//! prints its table.
//!
//! Figures:
//!   fallback [--requests N] [--concurrency C]   payment answers while the breaker is open
//!   breaker-opens                               seconds and calls to open the breaker on a provider
//!                                               gone down after 5 and 50 payments/s, both stores
//!   throughput [--clients N] [--seconds S] [--in-memory] [--without-vehicles]
//!                                               rent + return pairs per second, local server
//!                                               (each rent waits for the board's unlock unless
//!                                               --without-vehicles)
//!   nearby [--queries Q]                        nearby search at 1k, 10k and 100k boards
//!   cold-start [--runs N] [--dir D] [--baseline B] [--only F,G]
//!                                               first answer under the Lambda RIE, in turns with
//!                                               hello-lambda (from B, default D); D defaults to
//!                                               .aws-sam/build (sam build's layout) or target/lambda
//!   size [--dir D]                              each bootstrap, zipped as sam build packages it
//!   hot-keys [--boards N] [--customers C] [--rides R] [--searches S] [--reports P]
//!                                               a city on DynamoDB (moto): writes and reads per key
//!   cost [--rides R] [--reports P]              AWS requests per ride and the cost of 1,000 rides
//!                                               (P reports of each rented board on its way, 3)
//!   nearby-aws [--queries Q]                    nearby search on DynamoDB at 1k, 10k, 100k boards
//!   zones [--zones Z] [--rides R] [--lookups L]  rent and return with Z zones against none
//!   fleet-aws [--boards N] [--requests R] [--reports P]
//!                                               GBFS vehicle_status and vehicle reports on DynamoDB
//!   mds-hour [--boards N] [--trips T]           a day of T trips in the MDS view; its busiest hour read

use kickboard_bench::city::{CityOptions, city, fleet_aws, nearby_aws, prices, ride_cost};
use kickboard_bench::{fallback, lambda, nearby, throughput};
use std::process::ExitCode;

fn option(args: &[String], name: &str, default: usize) -> Result<usize, String> {
    match args.iter().position(|arg| arg == name) {
        None => Ok(default),
        Some(at) => args.get(at + 1).and_then(|value| value.parse().ok()).ok_or(format!("{name} needs a number")),
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("fallback") => run_fallback(&args[1..]).await,
        Some("breaker-opens") => run_breaker_opens().await,
        Some("throughput") => run_throughput(&args[1..]).await,
        Some("nearby") => run_nearby(&args[1..]).await,
        Some("cold-start") => run_cold_start(&args[1..]),
        Some("size") => run_size(&args[1..]),
        Some("hot-keys") => run_hot_keys(&args[1..]).await,
        Some("cost") => run_cost(&args[1..]).await,
        Some("nearby-aws") => run_nearby_aws(&args[1..]).await,
        Some("fleet-aws") => run_fleet_aws(&args[1..]).await,
        Some("zones") => run_zones(&args[1..]).await,
        Some("mds-hour") => run_mds_hour(&args[1..]).await,
        _ => Err("usage: bench fallback|breaker-opens|throughput|nearby|cold-start|size|hot-keys|cost|nearby-aws|fleet-aws|zones|mds-hour [options] (see src/main.rs)"
            .to_owned()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("{error}");
            ExitCode::from(2)
        }
    }
}

async fn run_breaker_opens() -> Result<(), String> {
    println!("the breaker's default settings; a minute of good traffic, then the provider fails every call");
    println!("(simulated time: one payment each 1/rate s; every outcome through the store)");
    println!("| store | payments/s before and during | seconds to open | calls to the dead provider |");
    println!("|---|---|---|---|");
    for (store, opened) in kickboard_bench::breaker::openings(&[5, 50]).await {
        println!("| {store} | {} | {:.1} | {} |", opened.rate, opened.seconds_to_open, opened.calls_wasted);
    }
    Ok(())
}

async fn run_fallback(args: &[String]) -> Result<(), String> {
    let requests = option(args, "--requests", 5_000)?;
    let concurrency = option(args, "--concurrency", 8)?;
    let report = fallback(requests, concurrency).await;
    let latencies = &report.latencies;
    println!("payment fallback while the breaker is open ({requests} requests, {concurrency} concurrent, loopback)");
    println!("| requests | p50 ms | p90 ms | p99 ms | max ms | other answers | provider calls |");
    println!("|---|---|---|---|---|---|---|");
    println!(
        "| {} | {:.2} | {:.2} | {:.2} | {:.2} | {} | {} |",
        latencies.count,
        latencies.p50,
        latencies.p90,
        latencies.p99,
        latencies.max,
        report.other_answers,
        report.provider_calls_while_open
    );
    Ok(())
}

async fn run_throughput(args: &[String]) -> Result<(), String> {
    let clients = option(args, "--clients", 64)?;
    let seconds = option(args, "--seconds", 10)?;
    let in_memory = args.iter().any(|arg| arg == "--in-memory");
    let vehicles = !args.iter().any(|arg| arg == "--without-vehicles");
    // A database file, as the server keeps by default, in a directory of its own.
    let data_dir = std::env::temp_dir().join(format!("kickboard-bench-{}", std::process::id()));
    let report = throughput(
        clients,
        std::time::Duration::from_secs(seconds as u64),
        (!in_memory).then(|| data_dir.clone()),
        vehicles,
    )
    .await;
    if !in_memory {
        std::fs::remove_dir_all(&data_dir).map_err(|error| format!("cannot remove {}: {error}", data_dir.display()))?;
    }
    let latencies = &report.latencies;
    let store = if in_memory { "SQLite in memory" } else { "SQLite file, WAL" };
    let unlock = if vehicles { "each rent waits for the simulated board's unlock over MQTT" } else { "no vehicles" };
    println!("rent + return on the local server ({store}; {unlock}), {clients} clients on loopback, {seconds} s");
    println!(
        "| clients | pairs | pairs/s | ops/s | conflicts (409) | p50 ms | p99 ms | double rentals | relays behind s | sustained ops/s |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    println!(
        "| {} | {} | {:.0} | {:.0} | {} | {:.2} | {:.2} | {} | {:.1} | {:.0} |",
        report.clients,
        report.pairs,
        report.ops_per_second() / 2.0,
        report.ops_per_second(),
        report.conflicts,
        latencies.p50,
        latencies.p99,
        report.double_rentals,
        report.relays_behind,
        report.sustained_ops_per_second()
    );
    Ok(())
}

async fn run_nearby(args: &[String]) -> Result<(), String> {
    let queries = option(args, "--queries", 2_000)?;
    println!("GET /kickboards?near= at the SQLite store: 500 m searches, 100 boards per km2");
    println!("| boards | p50 µs | p99 µs | found per query |");
    println!("|---|---|---|---|");
    for boards in [1_000, 10_000, 100_000] {
        let row = nearby(boards, queries).await;
        println!(
            "| {} | {:.0} | {:.0} | {:.1} |",
            row.boards,
            row.latencies.p50 * 1000.0,
            row.latencies.p99 * 1000.0,
            row.found
        );
    }
    Ok(())
}

fn text_option<'a>(args: &'a [String], name: &str) -> Option<&'a String> {
    args.iter().position(|arg| arg == name).and_then(|at| args.get(at + 1))
}

/// Where the functions' builds are: `.aws-sam/build` (what `sam build` leaves) by default.
fn lambda_dir(args: &[String]) -> std::path::PathBuf {
    text_option(args, "--dir").map_or_else(|| std::path::PathBuf::from(".aws-sam/build"), std::path::PathBuf::from)
}

/// The functions in `--dir`, or only those `--only a,b` names.
fn selected(args: &[String], dir: &std::path::Path) -> Vec<lambda::Artifact> {
    let only: Option<Vec<&str>> = text_option(args, "--only").map(|names| names.split(',').collect());
    lambda::artifacts(dir)
        .into_iter()
        .filter(|artifact| artifact.function != lambda::BASELINE)
        .filter(|artifact| only.as_ref().is_none_or(|names| names.contains(&artifact.function.as_str())))
        .collect()
}

fn run_cold_start(args: &[String]) -> Result<(), String> {
    let runs = option(args, "--runs", 10)?;
    let dir = lambda_dir(args);
    // hello-lambda is no function of the template: `sam build` leaves none, cargo-lambda does.
    let baseline_dir = text_option(args, "--baseline").map_or_else(|| dir.clone(), std::path::PathBuf::from);
    let baseline = lambda::artifacts(&baseline_dir).into_iter().find(|artifact| artifact.function == lambda::BASELINE);
    let baseline = baseline.ok_or(format!("no {} build in {}", lambda::BASELINE, baseline_dir.display()))?;
    let functions = selected(args, &dir);
    if functions.is_empty() {
        return Err(format!("no function builds in {}", dir.display()));
    }
    let (rows, lost) = lambda::paired_cold_starts(&functions, &baseline, runs);
    println!(
        "cold start under the Lambda RIE, builds in {}, {} in {}: {runs} starts of each function, each in turn with one of {}",
        dir.display(),
        lambda::BASELINE,
        baseline_dir.display(),
        lambda::BASELINE
    );
    println!("| function | median ms | {} median ms (same turns) | × {} |", lambda::BASELINE, lambda::BASELINE);
    println!("|---|---|---|---|");
    for row in &rows {
        println!("| {} | {:.1} | {:.1} | {:.2} |", row.function, row.median_ms, row.baseline_median_ms, row.ratio());
    }
    println!("starts the emulator lost to its own race (not measured, tried again): {lost}");
    Ok(())
}

fn run_size(args: &[String]) -> Result<(), String> {
    let dir = lambda_dir(args);
    println!("bootstrap sizes, builds in {}", dir.display());
    println!("| function | bootstrap MiB | zip MiB |");
    println!("|---|---|---|");
    for (function, bytes, zipped) in lambda::artifact_sizes(&dir) {
        let mib = |bytes: u64| bytes as f64 / (1024.0 * 1024.0);
        println!("| {function} | {:.2} | {:.2} |", mib(bytes), mib(zipped));
    }
    Ok(())
}

/// A city's peak, for the rate of the hottest key: 10,000 boards, a fifth of them out at a
/// time on 15-minute rides, is about 2 rides starting a second; this is more than twice that.
const PEAK_RIDES_PER_SECOND: f64 = 5.0;

async fn run_hot_keys(args: &[String]) -> Result<(), String> {
    let options = CityOptions {
        boards: option(args, "--boards", 10_000)?,
        customers: option(args, "--customers", 100)?,
        rides: option(args, "--rides", 400)?,
        searches: option(args, "--searches", 200)?,
        vehicles: false,
        ride_reports: option(args, "--reports", 3)?,
    };
    let report = city(options).await;
    let tally = &report.tally;
    println!(
        "a city on the AWS adapters (moto): {} boards over 10 km × 10 km, {} customers, {} rides, {} searches ({:.0} s)",
        options.boards, options.customers, report.rides, report.searches, report.seconds
    );
    let writes_per_ride = tally.total_writes() as f64 / report.rides.max(1) as f64;
    println!("| | total | hottest key | its count | its share | its writes/s at {PEAK_RIDES_PER_SECOND} rides/s |");
    println!("|---|---|---|---|---|---|");
    for (what, total, hottest) in
        [("writes", tally.total_writes(), tally.hottest_write()), ("reads", tally.total_reads(), tally.hottest_read())]
    {
        let (key, count) = hottest.unwrap_or(("-", 0));
        let share = count as f64 / total.max(1) as f64;
        let per_ride = total as f64 / report.rides.max(1) as f64;
        println!(
            "| {what} | {total} | `{}` | {count} | {:.2} % | {:.1} |",
            report.key(key),
            share * 100.0,
            share * per_ride * PEAK_RIDES_PER_SECOND
        );
    }
    let mut top: Vec<(&String, &u64)> = tally.writes.iter().collect();
    top.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    println!("\nmost written keys ({writes_per_ride:.1} writes a ride):");
    println!("| key | writes | share |");
    println!("|---|---|---|");
    for (key, count) in top.iter().take(5) {
        println!(
            "| `{}` | {count} | {:.2} % |",
            report.key(key),
            **count as f64 / tally.total_writes().max(1) as f64 * 100.0
        );
    }
    let cells = tally.writes.keys().filter(|key| key.starts_with("available:")).count();
    println!("\n`available` index partitions written: {cells}");
    println!(
        "payment breaker: {} writes for {} payments (one per outcome; no state change)",
        report.breaker_writes(),
        report.rides
    );
    Ok(())
}

async fn run_cost(args: &[String]) -> Result<(), String> {
    let rides = option(args, "--rides", 200)?;
    let ride_reports = option(args, "--reports", 3)?;
    let report =
        city(CityOptions { boards: 500, customers: 20, rides, searches: 0, vehicles: true, ride_reports }).await;
    let events_per_ride = report.tally.events_put as f64 / report.rides.max(1) as f64;
    let cost = ride_cost(&report, events_per_ride);
    println!(
        "AWS requests per ride (buy, pay, search, rent, return, and the events they cause), {} rides on moto",
        report.rides
    );
    println!("| request | per ride |");
    println!("|---|---|");
    for (name, count) in &cost.per_ride {
        println!("| {name} | {count:.2} |");
    }
    println!("| DynamoDB write units | {:.1} |", report.tally.write_units / report.rides.max(1) as f64);
    println!("| DynamoDB read units | {:.1} |", report.tally.read_units / report.rides.max(1) as f64);
    println!("\ncost of 1,000 rides, USD, ap-northeast-2 list prices as of {}", prices::AS_OF);
    println!("| part | with SMS alerts | with push alerts |");
    println!("|---|---|---|");
    for (part, sms, push) in &cost.per_thousand {
        println!("| {part} | {sms:.4} | {push:.4} |");
    }
    Ok(())
}

async fn run_nearby_aws(args: &[String]) -> Result<(), String> {
    let queries = option(args, "--queries", 20)?;
    println!("GET /kickboards?near= at the DynamoDB store (moto): 500 m searches, 100 boards per km2");
    println!("| boards | index queries per search | items read per search | found per search |");
    println!("|---|---|---|---|");
    for boards in [1_000, 10_000, 100_000] {
        let row = nearby_aws(boards, queries).await;
        println!(
            "| {} | {:.1} | {:.1} | {:.1} |",
            row.boards, row.queries_per_search, row.items_read_per_search, row.found_per_search
        );
    }
    Ok(())
}

async fn run_mds_hour(args: &[String]) -> Result<(), String> {
    let boards = option(args, "--boards", 10_000)?;
    let trips = option(args, "--trips", 40_000)?;
    let row = kickboard_bench::mds::mds_hour(boards, trips).await;
    println!(
        "a day of {} trips of {boards} boards in the MDS view (moto); /mds/trips of the busiest hour",
        row.trips_in_day
    );
    println!("| trips in the hour | DynamoDB queries | read units | answer bytes | document bytes | time (moto) |");
    println!("|---|---|---|---|---|---|");
    println!(
        "| {} | {} | {:.1} | {} | {} | {:.0} ms |",
        row.trips_in_hour, row.queries, row.read_units, row.answer_bytes, row.document_bytes, row.millis
    );
    Ok(())
}

async fn run_fleet_aws(args: &[String]) -> Result<(), String> {
    let boards = option(args, "--boards", 10_000)?;
    let requests = option(args, "--requests", 100)?;
    let reports = option(args, "--reports", 200)?;
    let row = fleet_aws(boards, requests, reports).await;
    println!("GBFS vehicle_status.json at the DynamoDB store (moto), {} boards in a 10 km city", row.boards);
    println!("| read | time (moto) | DynamoDB requests | read units | document |");
    println!("|---|---|---|---|---|");
    println!(
        "| snapshot of the fleet (once per ttl per instance) | {:.0} ms | {} Scan | {:.0} | {} KB |",
        row.snapshot_ms,
        row.snapshot_scans,
        row.snapshot_read_units,
        row.document_bytes / 1024
    );
    println!(
        "| answer from the snapshot, gzipped (mean of {requests}) | {:.0} µs | {} | 0 | |",
        row.cached_ms * 1000.0,
        row.cached_requests
    );
    println!();
    // Lambda's limit on a synchronous answer: 6 MB, counted here as 6 MiB.
    const LAMBDA_ANSWER_LIMIT: f64 = 6.0 * 1024.0 * 1024.0;
    println!("the Lambda answer (API Gateway payload) for vehicle_status.json");
    println!("| coding | payload | per board | boards under the 6 MB limit |");
    println!("|---|---|---|---|");
    for (coding, bytes) in [("identity", row.payload_bytes), ("gzip (base64 in the payload)", row.gzip_payload_bytes)] {
        let per_board = bytes as f64 / row.boards.max(1) as f64;
        println!("| {coding} | {} KB | {per_board:.0} B | {:.0} |", bytes / 1024, LAMBDA_ANSWER_LIMIT / per_board);
    }
    println!("gzipping the file (once per snapshot): {:.0} ms", row.gzip_ms);
    println!();
    println!("vehicle reports ({reports} of each kind)");
    println!("| report | DynamoDB requests | write units | index writes |");
    println!("|---|---|---|---|");
    let kinds = [
        ("battery only, in place", row.report_in_place),
        ("moved across the city", row.report_moved),
        ("unchanged, within the 2 min heartbeat", row.report_unchanged),
    ];
    for (kind, cost) in kinds {
        println!("| {kind} | {:.2} | {:.2} | {:.2} |", cost.requests, cost.write_units, cost.index_writes);
    }
    Ok(())
}

async fn run_zones(args: &[String]) -> Result<(), String> {
    let zones = option(args, "--zones", 1_000)?;
    let rides = option(args, "--rides", 300)?;
    let lookups = option(args, "--lookups", 100_000)?;
    println!("rent and return over HTTP, local server (SQLite in memory), {rides} rides each, 10 km city");
    println!("| zones | rent p50 ms | rent p99 ms | return p50 ms | return p99 ms | returns refused by a zone |");
    println!("|---|---|---|---|---|---|");
    for row in kickboard_bench::zones::local_rides(zones, rides).await {
        println!(
            "| {} | {:.2} | {:.2} | {:.2} | {:.2} | {} |",
            row.zones, row.rent.p50, row.rent.p99, row.give_back.p50, row.give_back.p99, row.refused_returns
        );
    }
    let (indexed, scanned) = kickboard_bench::zones::lookups(zones, lookups);
    println!();
    println!("which rules hold at a place, {zones} zones, mean of {lookups} lookups");
    println!("| through the R-tree | scanning every zone |");
    println!("|---|---|");
    println!("| {:.2} µs | {:.2} µs |", indexed.as_secs_f64() * 1e6, scanned.as_secs_f64() * 1e6);
    println!();
    println!("DynamoDB requests per command on moto (20 rides each)");
    println!("| zones | per rent | per return |");
    println!("|---|---|---|");
    for row in kickboard_bench::zones::dynamo_requests(zones, 20).await {
        println!("| {} | {:.2} | {:.2} |", row.zones, row.per_rent, row.per_return);
    }
    Ok(())
}
