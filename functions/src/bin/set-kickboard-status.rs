//! `set-kickboard-status`: `PUT /kickboards/{kickboardId}/status`. One DynamoDB client.

use kickboard_common::handlers::fleet::set_kickboard_status;
use kickboard_functions::{aws_config, dynamo_store, run_http};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    let store = dynamo_store(&aws_config().await)?;
    run_http(|request| set_kickboard_status(&store, request)).await
}
