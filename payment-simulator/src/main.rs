//! `payment-simulator`: a payment provider on loopback for local runs and tests.
//!
//! payment-simulator [--addr HOST:PORT] [--latency-ms MS] [--failure-rate R] [--decline-rate R]
//!                   [--failure-kind error|timeout|reset]

use payment_simulator::{FailureKind, Settings, start};
use std::net::SocketAddr;

fn parse(args: Vec<String>) -> Result<(SocketAddr, Settings), String> {
    let mut addr: SocketAddr = "127.0.0.1:4000".parse().expect("a valid address");
    let mut settings = Settings::default();
    let mut args = args.into_iter();
    while let Some(flag) = args.next() {
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let bad = || format!("{flag}: cannot use {value:?}");
        match flag.as_str() {
            "--addr" => addr = value.parse().map_err(|_| bad())?,
            "--latency-ms" => settings.latency_ms = value.parse().map_err(|_| bad())?,
            "--failure-rate" => settings.failure_rate = value.parse().map_err(|_| bad())?,
            "--decline-rate" => settings.decline_rate = value.parse().map_err(|_| bad())?,
            "--failure-kind" => {
                settings.failure_kind = match value.as_str() {
                    "error" => FailureKind::Error,
                    "timeout" => FailureKind::Timeout,
                    "reset" => FailureKind::Reset,
                    _ => return Err(bad()),
                }
            }
            _ => return Err(format!("unknown argument {flag:?}")),
        }
    }
    Ok((addr, settings))
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let (addr, settings) = match parse(std::env::args().skip(1).collect()) {
        Ok(parsed) => parsed,
        Err(error) => {
            eprintln!(
                "error: {error}\nusage: payment-simulator [--addr HOST:PORT] [--latency-ms MS] [--failure-rate R] [--decline-rate R] [--failure-kind error|timeout|reset]"
            );
            return std::process::ExitCode::from(2);
        }
    };
    let running = match start(addr, settings).await {
        Ok(running) => running,
        Err(error) => {
            eprintln!("error: {error}");
            return std::process::ExitCode::FAILURE;
        }
    };
    println!("payment simulator on {}", running.url());
    let _ = tokio::signal::ctrl_c().await;
    running.stop();
    std::process::ExitCode::SUCCESS
}
