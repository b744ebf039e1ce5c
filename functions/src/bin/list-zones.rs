//! `list-zones`: `GET /geofencing/zones`. One DynamoDB client, built once per cold start.

use kickboard_common::handlers::geofencing::list_zones;
use kickboard_functions::{aws_config, dynamo_store, run_http};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    let store = dynamo_store(&aws_config().await)?;
    run_http(|request| list_zones(&store, request)).await
}
