//! `delete-zone`: `DELETE /geofencing/zones/{zoneId}`. One DynamoDB client, built once per cold start.

use kickboard_common::handlers::geofencing::delete_zone;
use kickboard_common::ports::SystemClock;
use kickboard_functions::{aws_config, dynamo_store, run_http};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    let store = dynamo_store(&aws_config().await)?;
    run_http(|request| delete_zone(&store, &SystemClock, request)).await
}
