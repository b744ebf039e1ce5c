//! `delete-zone`: `DELETE /geofencing/zones/{zoneId}`. One DynamoDB client, built once per cold start.

use kickboard_common::handlers::geofencing::DeleteZone;
use kickboard_functions::serve;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    serve::<DeleteZone>().await
}
