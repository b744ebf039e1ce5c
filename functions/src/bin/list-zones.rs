//! `list-zones`: `GET /geofencing/zones`. One DynamoDB client, built once per cold start.

use kickboard_common::handlers::geofencing::ListZones;
use kickboard_functions::serve;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    serve::<ListZones>().await
}
