//! `balance-view`: EventBridge events → the balance read model, newest pass version wins,
//! and the operators' day figures, each event counted once. One DynamoDB client.

use kickboard_common::handlers::balance_view::{BalanceDeps, project_balance};
use kickboard_common::handlers::events::KickboardEvent;
use kickboard_common::ports::SystemClock;
use kickboard_common::settings::Settings;
use kickboard_functions::{aws_config, dynamo_store, finish_invocation, init_observability};
use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_observability();
    let settings = Settings::from_env()?;
    let store = dynamo_store(&aws_config().await, &settings)?;
    let deps = BalanceDeps { view: &store, days: &store, settings: &settings, clock: &SystemClock };
    lambda_runtime::run(service_fn(|event: LambdaEvent<KickboardEvent>| async {
        let projected = project_balance(&deps, event.payload).await;
        finish_invocation();
        projected.map_err(Error::from)
    }))
    .await
}
