//! `put-zone`: `PUT /geofencing/zones/{zoneId}`. One DynamoDB client, built once per cold start.

use kickboard_common::handlers::geofencing::put_zone;
use kickboard_common::ports::SystemClock;
use kickboard_functions::{aws_config, dynamo_store, run_http};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    let store = dynamo_store(&aws_config().await)?;
    run_http(|request| put_zone(&store, &SystemClock, request)).await
}
