//! `list-fleet`: GET /admin/kickboards, the whole fleet for the operators' map. One DynamoDB client, built once per cold start.

use kickboard_common::handlers::operations::ListFleet;
use kickboard_functions::serve;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    serve::<ListFleet>().await
}
