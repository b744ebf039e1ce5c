//! `return-kickboard`: `POST /rentals/{rentalId}/return`. One DynamoDB client, built once per
//! cold start; the zones are kept between invocations and read again when their version moves.

use kickboard_common::handlers::rentals::ReturnKickboard;
use kickboard_functions::serve;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    serve::<ReturnKickboard>().await
}
