//! `list-active-rentals`: GET /admin/rentals?status=ACTIVE, the rides on the road. One DynamoDB client, built once per cold start.

use kickboard_common::handlers::operations::ListActiveRentals;
use kickboard_functions::serve;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    serve::<ListActiveRentals>().await
}
