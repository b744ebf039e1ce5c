//! `rent-kickboard`: `POST /rentals`. One DynamoDB client, built once per cold start.

use kickboard_common::handlers::fleet::battery_rules_from_env;
use kickboard_common::handlers::rentals::rent_kickboard;
use kickboard_common::ports::SystemClock;
use kickboard_functions::{aws_config, dynamo_store, run_http};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    let rules = battery_rules_from_env()?;
    let store = dynamo_store(&aws_config().await)?;
    run_http(|request| rent_kickboard(&store, &store, &SystemClock, &rules, request)).await
}
