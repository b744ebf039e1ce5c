//! `kickboard-ops`: what an operator runs against a deployed stack (or an emulator).
//!
//! - `kickboard-ops redrive QUEUE`: sends what a dead-letter or failure queue (URL or name)
//!   holds back onto the event bus, and says how many messages it moved.
//! - `kickboard-ops migrate`: moves stored items to the shapes this version writes (run
//!   once after deploying it; safe to run again).
//! - `kickboard-ops provision-thing KICKBOARD_ID [DIR]`: makes the board's IoT Core thing and
//!   an active certificate with the stack's vehicle policy (`KICKBOARD_VEHICLE_POLICY`, the
//!   stack's `VehiclePolicyName` output), and writes the certificate and its private key into
//!   DIR (default `.`) for the board's firmware.
//!
//! The first two take the stack's names from `KICKBOARD_STATE_TABLE`, `KICKBOARD_VIEW_TABLE`
//! and `KICKBOARD_EVENT_BUS`; all take AWS credentials and region as the AWS CLI does.

use kickboard_common::adapters::aws::load_config;
use kickboard_common::domain::ids::KickboardId;
use kickboard_common::settings::Settings;
use kickboard_local::migrate;
use kickboard_local::provision::provision_thing;
use kickboard_local::redrive::Redrive;
use std::process::ExitCode;

const USAGE: &str = "usage: kickboard-ops redrive QUEUE_URL_OR_NAME | kickboard-ops migrate | \
                     kickboard-ops provision-thing KICKBOARD_ID [DIR]";

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let usage = |error: &str| {
        eprintln!("error: {error}\n{USAGE}");
        ExitCode::from(2)
    };
    let outcome = match args.as_slice() {
        ["provision-thing", board, dir @ ..] if dir.len() <= 1 => {
            let board = match KickboardId::try_from(board.to_string()) {
                Ok(board) => board,
                Err(error) => return usage(&format!("{board} is not a kickboard id: {error}")),
            };
            let Some(policy) = std::env::var("KICKBOARD_VEHICLE_POLICY").ok().filter(|policy| !policy.is_empty())
            else {
                return usage("KICKBOARD_VEHICLE_POLICY (the stack's VehiclePolicyName output) is not set");
            };
            let dir = std::path::Path::new(dir.first().copied().unwrap_or("."));
            let config = load_config(None).await;
            provision_thing(&config, &policy, &board, dir)
                .await
                .map(|made| made.report(&board))
                .map_err(|e| e.to_string())
        }
        ["redrive", _] | ["migrate"] => {
            let settings = Settings::from_env().map(|settings| settings.aws);
            let (tables, bus) = match settings.and_then(|aws| Ok((aws.tables()?, aws.event_bus()?))) {
                Ok((tables, bus)) => (tables, bus),
                Err(error) => return usage(&error),
            };
            let config = load_config(None).await;
            match args.as_slice() {
                ["redrive", queue] => match Redrive::new(&config, &tables, &bus).queue(queue).await {
                    Ok(done) => Ok(format!(
                        "moved {} message(s) from {queue}: {} event(s) back on {bus}",
                        done.messages, done.events
                    )),
                    Err(error) => Err(error.to_string()),
                },
                _ => migrate::migrate(&config, &tables).await.map_err(|e| e.to_string()).map(|done| {
                    format!(
                        "{} board(s) looked at: {} given their area cell, {} moved to their cell in the available \
                         index; {} rental(s) put in the ride history",
                        done.boards, done.cells_added, done.moved, done.rentals_indexed
                    )
                }),
            }
        }
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
