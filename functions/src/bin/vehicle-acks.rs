//! `vehicle-acks`: vehicles' acknowledgements of commands, from the AWS IoT Core topic rule
//! on `kickboard/+/acks`; each settles its command once, and the function that sent it sees
//! that at its next read. One DynamoDB client.

use kickboard_common::handlers::commands::ingest_ack;
use kickboard_common::ports::{Clock, SystemClock};
use kickboard_common::settings::Settings;
use kickboard_functions::{aws_config, dynamo_store, finish_invocation, init_observability};
use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_observability();
    let settings = Settings::from_env()?;
    let store = dynamo_store(&aws_config().await, &settings)?;
    let store = &store;
    lambda_runtime::run(service_fn(|event: LambdaEvent<serde_json::Value>| async move {
        let taken = ingest_ack(store, &SystemClock, event.payload).await;
        finish_invocation();
        let settled = taken?.map(|command| command.status_at(SystemClock.now()));
        Ok::<_, Error>(serde_json::json!({ "settled": settled }))
    }))
    .await
}
