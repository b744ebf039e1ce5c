//! `list-vehicle-types`: `GET /vehicle-types`. The catalogue is in code, so no AWS client at all.

use kickboard_common::handlers::fleet::ListVehicleTypes;
use kickboard_functions::serve_stateless;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    serve_stateless::<ListVehicleTypes>().await
}
