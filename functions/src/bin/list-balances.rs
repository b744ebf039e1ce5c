//! `list-balances`: `GET /me/passes`. One DynamoDB client, built once per cold start.

use kickboard_common::handlers::customers::list_balances;
use kickboard_common::ports::SystemClock;
use kickboard_functions::{aws_config, dynamo_store, run_http};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    let store = dynamo_store(&aws_config().await)?;
    run_http(|request| list_balances(&store, &SystemClock, request)).await
}
