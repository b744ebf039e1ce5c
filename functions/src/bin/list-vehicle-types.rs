//! `list-vehicle-types`: `GET /vehicle-types`. The catalogue is in code, so no AWS client at all.

use kickboard_common::handlers::fleet::list_vehicle_types;
use kickboard_functions::run_http;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    run_http(list_vehicle_types).await
}
