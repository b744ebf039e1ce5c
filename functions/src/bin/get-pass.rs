//! `get-pass`: `GET /passes/{passId}`. One DynamoDB client, built once per cold start.

use kickboard_common::handlers::passes::GetPass;
use kickboard_functions::serve;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    serve::<GetPass>().await
}
