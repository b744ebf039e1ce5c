//! `register-kickboard`: `POST /kickboards`. One DynamoDB client, built once per cold start.

use kickboard_common::handlers::fleet::RegisterKickboard;
use kickboard_functions::serve;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    serve::<RegisterKickboard>().await
}
