//! `get-global-rules`: `GET /geofencing/global-rules`. One DynamoDB client, built once per cold start.

use kickboard_common::handlers::geofencing::get_global_rules;
use kickboard_functions::{aws_config, dynamo_store, run_http};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    let store = dynamo_store(&aws_config().await)?;
    run_http(|request| get_global_rules(&store, request)).await
}
