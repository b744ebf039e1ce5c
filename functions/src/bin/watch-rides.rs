//! `watch-rides`: every minute (an EventBridge schedule), tells the crew of each rented board
//! that said nothing for ten minutes, once per silence, undoes the holds left by rents that
//! died, and tells the crew once each time a city's fleet cap goes over. One DynamoDB client.

use kickboard_common::handlers::city_rules::CapWatch;
use kickboard_common::handlers::fleet::{WatchDeps, watch_rides};
use kickboard_common::ports::SystemClock;
use kickboard_common::settings::Settings;
use kickboard_functions::{aws_config, dynamo_store, finish_invocation, init_observability};
use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_observability();
    let settings = Settings::from_env()?;
    let store = dynamo_store(&aws_config().await, &settings)?;
    // Holds exist only where rents unlock boards (IotDataEndpoint set).
    let holds = settings.aws.iot_data_endpoint.is_some();
    let caps = CapWatch { zones: &store, fleet: &store, marks: &store, city: settings.city_context() };
    let deps =
        WatchDeps { watch: &store, rentals: &store, rides: holds.then_some(&store as _), clock: &SystemClock, caps };
    let deps = &deps;
    lambda_runtime::run(service_fn(|_: LambdaEvent<serde_json::Value>| async move {
        let watched = watch_rides(deps).await;
        finish_invocation();
        watched.map_err(Error::from)
    }))
    .await
}
