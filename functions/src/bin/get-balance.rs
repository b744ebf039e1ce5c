//! `get-balance`: `GET /passes/{passId}/balance`. One DynamoDB client, built once per cold start.

use kickboard_common::handlers::customers::GetBalance;
use kickboard_functions::serve;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    serve::<GetBalance>().await
}
