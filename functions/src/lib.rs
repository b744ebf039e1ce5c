//! What every Lambda `main` shares: building the AWS clients once per cold start and running
//! a handler. Each binary in `src/bin/` is one function of `template.yaml`.

use kickboard_common::adapters::aws::{DynamoStore, load_config};
use kickboard_common::aws_services::AwsServices;
use kickboard_common::http::endpoint::{Handle, call};
use kickboard_common::metrics;
use kickboard_common::settings::Settings;
use lambda_http::request::RequestContext;
use lambda_http::{Body, Error, Request, RequestExt, Response, service_fn};
use std::convert::Infallible;
use std::future::Future;
use tracing::Instrument;

/// The region, credentials and endpoint of the function's environment.
pub async fn aws_config() -> aws_config::SdkConfig {
    load_config(None).await
}

/// The DynamoDB store on the tables the settings name: one client.
pub fn dynamo_store(config: &aws_config::SdkConfig, settings: &Settings) -> Result<DynamoStore, Error> {
    Ok(DynamoStore::new(aws_sdk_dynamodb::Client::new(config), settings.aws.tables()?))
}

/// The function's name as its metrics give it: the deployed function's (Lambda sets it), or
/// the binary's when run elsewhere.
pub fn function_name() -> String {
    std::env::var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_else(|_| {
        let binary = std::env::args().next().unwrap_or_default();
        binary.rsplit('/').next().unwrap_or_default().to_owned()
    })
}

/// Logs as JSON when Lambda's log format says so, and keeps each invocation's metrics for
/// [`finish_invocation`].
pub fn init_observability() {
    lambda_runtime::tracing::init_default_subscriber();
    metrics::emit_per_invocation();
}

/// Writes the invocation's metrics (Embedded Metric Format lines on stdout).
pub fn finish_invocation() {
    metrics::flush_invocation(&function_name());
}

/// Serves endpoint `E` on the AWS adapters: the `main` of every HTTP function that reads or
/// writes state.
pub async fn serve<E: Handle<AwsServices>>() -> Result<(), Error> {
    let services = AwsServices::new(Settings::from_env()?, aws_config().await)?;
    run_http(|request| call::<AwsServices, E>(&services, request)).await
}

/// Serves endpoint `E`, which needs no services: its function links no AWS SDK.
pub async fn serve_stateless<E: Handle<()>>() -> Result<(), Error> {
    run_http(|request| call::<(), E>(&(), request)).await
}

/// Serves API Gateway requests with `handler`, which answers every request itself
/// (problems included), so the runtime never sees an error. Every log line of a request
/// carries its route (the runtime's span adds the request id and the X-Ray trace).
async fn run_http<H, F>(handler: H) -> Result<(), Error>
where
    H: Fn(Request) -> F,
    F: Future<Output = Response<Body>> + Send,
{
    init_observability();
    lambda_http::run(service_fn(move |request: Request| {
        let route = match request.request_context_ref() {
            Some(RequestContext::ApiGatewayV2(context)) => context.route_key.clone().unwrap_or_default(),
            _ => String::new(),
        };
        let response = handler(request).instrument(tracing::info_span!("request", route));
        async move {
            let response = response.await;
            finish_invocation();
            Ok::<_, Infallible>(response)
        }
    }))
    .await
}
