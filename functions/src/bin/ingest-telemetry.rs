//! `ingest-telemetry`: vehicles' MQTT reports, from the AWS IoT Core topic rule on
//! `kickboard/+/telemetry`. The same report rules as `PUT /kickboards/{id}/telemetry`. One
//! DynamoDB client.

use kickboard_common::handlers::fleet::ingest_telemetry;
use kickboard_common::ports::SystemClock;
use kickboard_common::settings::Settings;
use kickboard_functions::{aws_config, dynamo_store, finish_invocation, init_observability};
use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_observability();
    let settings = Settings::from_env()?;
    let store = dynamo_store(&aws_config().await, &settings)?;
    let (store, rules) = (&store, &settings.battery);
    lambda_runtime::run(service_fn(|event: LambdaEvent<serde_json::Value>| async move {
        let ingested = ingest_telemetry(store, &SystemClock, rules, event.payload).await;
        finish_invocation();
        ingested.map_err(Error::from)
    }))
    .await
}
