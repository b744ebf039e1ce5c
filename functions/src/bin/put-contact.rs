//! `put-contact`: `PUT /me/contact`. Two clients, built once per cold start: DynamoDB (the
//! contact) and SNS (the push endpoint, in the platform applications named by
//! `PUSH_PLATFORM_APPLICATION_FCM_ARN` / `PUSH_PLATFORM_APPLICATION_APNS_ARN`).

use kickboard_common::adapters::aws::{PushApplications, SnsPushRegistry};
use kickboard_common::handlers::customers::put_contact;

use kickboard_functions::{aws_config, dynamo_store, run_http};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    let config = aws_config().await;
    let store = dynamo_store(&config)?;
    let push = SnsPushRegistry::new(aws_sdk_sns::Client::new(&config), PushApplications::from_env());
    run_http(|request| put_contact(&store, &push, request)).await
}
