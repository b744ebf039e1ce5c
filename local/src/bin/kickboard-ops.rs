//! `kickboard-ops`: what an operator runs against a deployed stack (or an emulator).
//!
//! - `kickboard-ops redrive QUEUE`: sends what a dead-letter or failure queue (URL or name)
//!   holds back onto the event bus, and says how many messages it moved.
//! - `kickboard-ops migrate`: moves stored items to the shapes this version writes (run
//!   once after deploying it; safe to run again).
//!
//! Both take the stack's names from `KICKBOARD_STATE_TABLE`, `KICKBOARD_VIEW_TABLE` and
//! `KICKBOARD_EVENT_BUS`, and AWS credentials and region as the AWS CLI does.

use kickboard_common::adapters::aws::load_config;
use kickboard_common::settings::Settings;
use kickboard_local::migrate;
use kickboard_local::redrive::Redrive;
use std::process::ExitCode;

const USAGE: &str = "usage: kickboard-ops redrive QUEUE_URL_OR_NAME | kickboard-ops migrate";

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let settings = Settings::from_env().map(|settings| settings.aws);
    let (tables, bus) = match settings.and_then(|aws| Ok((aws.tables()?, aws.event_bus()?))) {
        Ok((tables, bus)) => (tables, bus),
        Err(error) => {
            eprintln!("error: {error}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let config = load_config(None).await;
    let outcome = match args.as_slice() {
        ["redrive", queue] => match Redrive::new(&config, &tables, &bus).queue(queue).await {
            Ok(done) => {
                Ok(format!("moved {} message(s) from {queue}: {} event(s) back on {bus}", done.messages, done.events))
            }
            Err(error) => Err(error.to_string()),
        },
        ["migrate"] => migrate::migrate(&config, &tables).await.map_err(|e| e.to_string()).map(|done| {
            format!(
                "{} board(s) looked at: {} given their area cell, {} moved to their cell in the available index; \
                     {} rental(s) put in the ride history",
                done.boards, done.cells_added, done.moved, done.rentals_indexed
            )
        }),
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match outcome {
        Ok(report) => {
            println!("{report}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}
