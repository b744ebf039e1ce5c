//! `list-rentals`: `GET /me/rentals`, the caller's rides newest first. One DynamoDB client,
//! built once per cold start; the cursor key from `KICKBOARD_CURSOR_KEY`.

use kickboard_common::handlers::rentals::ListRentals;
use kickboard_functions::serve;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    serve::<ListRentals>().await
}
