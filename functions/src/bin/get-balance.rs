//! `get-balance`: `GET /passes/{passId}/balance`. One DynamoDB client, built once per cold start.

use kickboard_common::handlers::customers::get_balance;
use kickboard_common::ports::SystemClock;
use kickboard_functions::{aws_config, dynamo_store, run_http};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    let store = dynamo_store(&aws_config().await)?;
    run_http(|request| get_balance(&store, &SystemClock, request)).await
}
