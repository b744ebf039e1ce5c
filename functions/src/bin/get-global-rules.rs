//! `get-global-rules`: `GET /geofencing/global-rules`. One DynamoDB client, built once per cold start.

use kickboard_common::handlers::geofencing::GetGlobalRules;
use kickboard_functions::serve;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    serve::<GetGlobalRules>().await
}
