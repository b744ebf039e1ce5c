//! `mds-vehicle-status`: `GET /mds/vehicles/status/{device_id}` (MDS 2.0, agency group). One DynamoDB client, built once per cold start.

use kickboard_common::handlers::mds::MdsVehicleStatusOne;
use kickboard_functions::serve;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    serve::<MdsVehicleStatusOne>().await
}
