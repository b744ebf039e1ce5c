//! `get-rental`: `GET /rentals/{rentalId}`. One DynamoDB client, built once per cold start.

use kickboard_common::handlers::rentals::GetRental;
use kickboard_functions::serve;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    serve::<GetRental>().await
}
