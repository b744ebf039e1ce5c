//! What every Lambda `main` shares: building the AWS clients once per cold start and running
//! a handler. Each binary in `src/bin/` is one function of `template.yaml`.

use kickboard_common::adapters::aws::{DynamoStore, Tables, load_config};
use lambda_http::{Body, Error, Request, Response, service_fn};
use std::convert::Infallible;
use std::future::Future;

/// The region, credentials and endpoint of the function's environment.
pub async fn aws_config() -> aws_config::SdkConfig {
    load_config(None).await
}

/// The DynamoDB store on the tables named in the environment: one client.
pub fn dynamo_store(config: &aws_config::SdkConfig) -> Result<DynamoStore, Error> {
    Ok(DynamoStore::new(aws_sdk_dynamodb::Client::new(config), Tables::from_env()?))
}

/// Serves API Gateway requests with `handler`, which answers every request itself
/// (problems included), so the runtime never sees an error.
pub async fn run_http<H, F>(handler: H) -> Result<(), Error>
where
    H: Fn(Request) -> F,
    F: Future<Output = Response<Body>> + Send,
{
    lambda_http::tracing::init_default_subscriber();
    lambda_http::run(service_fn(move |request| {
        let response = handler(request);
        async move { Ok::<_, Infallible>(response.await) }
    }))
    .await
}
