//! `report-telemetry`: `PUT /kickboards/{kickboardId}/telemetry`, for vehicles and tools that
//! speak HTTP (vehicles on MQTT reach `ingest-telemetry`). One DynamoDB client.

use kickboard_common::handlers::fleet::{battery_rules_from_env, report_telemetry};
use kickboard_common::ports::SystemClock;
use kickboard_functions::{aws_config, dynamo_store, run_http};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    let rules = battery_rules_from_env()?;
    let store = dynamo_store(&aws_config().await)?;
    run_http(|request| report_telemetry(&store, &SystemClock, &rules, request)).await
}
