//! `cargo run --release -p kickboard-bench -- <figure> [options]`: runs one benchmark and
//! prints its table.
//!
//! Figures:
//!   fallback [--requests N] [--concurrency C]   payment answers while the breaker is open

use kickboard_bench::fallback;
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
        _ => Err("usage: bench fallback [--requests N] [--concurrency C]".to_owned()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("{error}");
            ExitCode::from(2)
        }
    }
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
