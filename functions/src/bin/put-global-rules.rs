//! `put-global-rules`: `PUT /geofencing/global-rules`. One DynamoDB client, built once per cold start.

use kickboard_common::handlers::geofencing::PutGlobalRules;
use kickboard_functions::serve;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    serve::<PutGlobalRules>().await
}
