//! `kickboard-ops`: what an operator runs against a deployed stack (or an emulator).
//!
//! `kickboard-ops redrive QUEUE`: sends what a dead-letter or failure queue (URL or name)
//! holds back onto the event bus, and says how many messages it moved. Needs
//! `KICKBOARD_STATE_TABLE`, `KICKBOARD_VIEW_TABLE` and `KICKBOARD_EVENT_BUS` (the stack's
//! outputs), and AWS credentials and region as the AWS CLI takes them.

use kickboard_common::adapters::aws::{EventBridgePublisher, Tables, load_config};
use kickboard_local::redrive::Redrive;
use std::process::ExitCode;

const USAGE: &str = "usage: kickboard-ops redrive QUEUE_URL_OR_NAME";

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [command, queue] = args.as_slice() else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    if command != "redrive" {
        eprintln!("unknown command {command}\n{USAGE}");
        return ExitCode::from(2);
    }
    let (tables, bus) = match (Tables::from_env(), EventBridgePublisher::bus_from_env()) {
        (Ok(tables), Ok(bus)) => (tables, bus),
        (Err(error), _) | (_, Err(error)) => {
            eprintln!("error: {error}");
            return ExitCode::from(2);
        }
    };
    let config = load_config(None).await;
    match Redrive::new(&config, &tables, &bus).queue(queue).await {
        Ok(done) => {
            println!("moved {} message(s) from {queue}: {} event(s) back on {bus}", done.messages, done.events);
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}
