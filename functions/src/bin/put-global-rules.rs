//! `put-global-rules`: `PUT /geofencing/global-rules`. One DynamoDB client, built once per cold start.

use kickboard_common::handlers::geofencing::put_global_rules;
use kickboard_common::ports::SystemClock;
use kickboard_functions::{aws_config, dynamo_store, run_http};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    let store = dynamo_store(&aws_config().await)?;
    run_http(|request| put_global_rules(&store, &SystemClock, request)).await
}
