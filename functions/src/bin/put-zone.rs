//! `put-zone`: `PUT /geofencing/zones/{zoneId}`. One DynamoDB client, built once per cold start.

use kickboard_common::handlers::geofencing::PutZone;
use kickboard_functions::serve;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    serve::<PutZone>().await
}
