//! `rent-kickboard`: `POST /rentals`. One DynamoDB client, built once per cold start; the
//! zones are kept between invocations and read again when their version moves.

use kickboard_common::handlers::rentals::RentKickboard;
use kickboard_functions::serve;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    serve::<RentKickboard>().await
}
