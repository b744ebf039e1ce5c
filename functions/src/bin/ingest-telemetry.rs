//! `ingest-telemetry`: vehicles' MQTT reports, from the AWS IoT Core topic rule on
//! `kickboard/+/telemetry`. The same report rules as `PUT /kickboards/{id}/telemetry`, and
//! the same speed caps sent to a rented board crossing a zone's limit. A DynamoDB client, and
//! the IoT data plane's at the first cap sent.

use kickboard_common::aws_services::AwsServices;
use kickboard_common::handlers::fleet::ingest_telemetry;
use kickboard_common::settings::Settings;
use kickboard_functions::{aws_config, finish_invocation, init_observability};
use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_observability();
    let services = AwsServices::new(Settings::from_env()?, aws_config().await)?;
    let services = &services;
    lambda_runtime::run(service_fn(|event: LambdaEvent<serde_json::Value>| async move {
        let ingested = ingest_telemetry(services, event.payload).await;
        finish_invocation();
        ingested.map_err(Error::from)
    }))
    .await
}
