//! `get-licence`: `GET /me/licence`. One DynamoDB client, built once per cold start.

use kickboard_common::handlers::licences::GetLicence;
use kickboard_functions::serve;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    serve::<GetLicence>().await
}
