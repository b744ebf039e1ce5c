//! `ingest-telemetry`: vehicles' MQTT reports, from the AWS IoT Core topic rule on
//! `kickboard/+/telemetry`. The same report rules as `PUT /kickboards/{id}/telemetry`. One
//! DynamoDB client.

use kickboard_common::handlers::fleet::{battery_rules_from_env, ingest_telemetry};
use kickboard_common::ports::SystemClock;
use kickboard_functions::{aws_config, dynamo_store};
use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let rules = battery_rules_from_env()?;
    let store = dynamo_store(&aws_config().await)?;
    let (store, rules) = (&store, &rules);
    lambda_runtime::run(service_fn(|event: LambdaEvent<serde_json::Value>| async move {
        ingest_telemetry(store, &SystemClock, rules, event.payload).await.map_err(Error::from)
    }))
    .await
}
