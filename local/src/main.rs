//! `kickboard-local`: runs the whole service on 127.0.0.1 on the embedded store.

use kickboard_common::ports::SystemClock;
use kickboard_local::config::{Command, Storage, USAGE, parse_args};
use std::process::ExitCode;
use std::sync::Arc;

#[tokio::main]
async fn main() -> ExitCode {
    init_logs();
    let config = match parse_args(std::env::args().skip(1)) {
        Ok(Command::Run(config)) => *config,
        Ok(Command::Help) => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(error) => {
            eprintln!("error: {error}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let storage = match &config.storage {
        Storage::DataDir(dir) => format!("data dir {}", dir.display()),
        Storage::InMemory => "in memory (nothing is kept)".to_owned(),
        Storage::Aws(aws) => format!("AWS tables {} and {}", aws.tables.state, aws.tables.views),
    };
    let payments = match &config.payment_url {
        Some(url) => format!("payments go to the provider at {url}"),
        None => {
            "payments go to the built-in simulator, which approves them (--payment-url URL for a provider)".to_owned()
        }
    };
    let server = match kickboard_local::start(config, Arc::new(SystemClock)).await {
        Ok(server) => server,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::FAILURE;
        }
    };
    let customer = server.app.tokens.mint("customer-1", &[]);
    let admin = server.app.tokens.mint("admin-1", &["admin".to_owned()]);
    println!("Kickboard is running on http://{} ({storage})", server.addr);
    println!("customer token (sub customer-1):\n  {customer}");
    println!("admin token (sub admin-1, group admin):\n  {admin}");
    println!("{payments}");
    println!("Try: curl http://{}/plans", server.addr);
    wait_for_stop_signal().await;
    println!("stopping…");
    server.shutdown().await;
    ExitCode::SUCCESS
}

/// Logs at `RUST_LOG`'s levels; by default at info, the broker's at warn (it logs each
/// vehicle's connection, a fleet's worth of lines).
fn init_logs() {
    use lambda_http::tracing::subscriber::{EnvFilter, fmt};
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,rumqttd=warn"));
    fmt().with_env_filter(filter).init();
}

async fn wait_for_stop_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler installs");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
