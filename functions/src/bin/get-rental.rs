//! `get-rental`: `GET /rentals/{rentalId}`. One DynamoDB client, built once per cold start.

use kickboard_common::handlers::rentals::get_rental;

use kickboard_functions::{aws_config, dynamo_store, run_http};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    let store = dynamo_store(&aws_config().await)?;
    run_http(|request| get_rental(&store, request)).await
}
