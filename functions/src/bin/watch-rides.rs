//! `watch-rides`: every minute (an EventBridge schedule), tells the crew of each rented board
//! that said nothing for ten minutes, once per silence. One DynamoDB client.

use kickboard_common::handlers::fleet::watch_rides;
use kickboard_common::ports::SystemClock;
use kickboard_common::settings::Settings;
use kickboard_functions::{aws_config, dynamo_store, finish_invocation, init_observability};
use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_observability();
    let settings = Settings::from_env()?;
    let store = dynamo_store(&aws_config().await, &settings)?;
    let store = &store;
    lambda_runtime::run(service_fn(|_: LambdaEvent<serde_json::Value>| async move {
        let watched = watch_rides(store, &SystemClock).await;
        finish_invocation();
        watched.map_err(Error::from)
    }))
    .await
}
