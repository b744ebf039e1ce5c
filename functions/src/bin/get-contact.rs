//! `get-contact`: `GET /me/contact`. One DynamoDB client, built once per cold start.

use kickboard_common::handlers::customers::GetContact;
use kickboard_functions::serve;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    serve::<GetContact>().await
}
