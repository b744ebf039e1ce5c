//! `list-balances`: `GET /me/passes`. One DynamoDB client, built once per cold start.

use kickboard_common::handlers::customers::ListBalances;
use kickboard_functions::serve;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    serve::<ListBalances>().await
}
