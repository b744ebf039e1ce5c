//! `mds-vehicles-status`: `GET /mds/vehicles/status` (MDS 2.0, agency group). One DynamoDB client, built once per cold start.

use kickboard_common::handlers::mds::MdsVehiclesStatus;
use kickboard_functions::serve;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    serve::<MdsVehiclesStatus>().await
}
