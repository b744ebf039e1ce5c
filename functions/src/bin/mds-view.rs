//! `mds-view`: EventBridge events → the cities' view (MDS), each record kept once.
//! One DynamoDB client.

use kickboard_common::handlers::events::KickboardEvent;
use kickboard_common::handlers::mds::project_mds;
use kickboard_common::ports::SystemClock;
use kickboard_common::settings::Settings;
use kickboard_functions::{aws_config, dynamo_store, finish_invocation, init_observability};
use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_observability();
    let settings = Settings::from_env()?;
    let store = dynamo_store(&aws_config().await, &settings)?;
    lambda_runtime::run(service_fn(|event: LambdaEvent<KickboardEvent>| async {
        let projected = project_mds(&store, &settings, &SystemClock, event.payload).await;
        finish_invocation();
        projected.map_err(Error::from)
    }))
    .await
}
