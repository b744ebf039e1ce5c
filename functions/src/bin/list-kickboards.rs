//! `list-kickboards`: `GET /kickboards`. One DynamoDB client, built once per cold start.

use kickboard_common::handlers::fleet::{battery_rules_from_env, list_kickboards};
use kickboard_functions::{aws_config, dynamo_store, run_http};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    let rules = battery_rules_from_env()?;
    let store = dynamo_store(&aws_config().await)?;
    run_http(|request| list_kickboards(&store, &rules, request)).await
}
