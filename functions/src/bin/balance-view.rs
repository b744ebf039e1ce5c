//! `balance-view`: EventBridge events → the balance read model, newest pass version wins.
//! One DynamoDB client.

use kickboard_common::handlers::events::{KickboardEvent, project_balance};
use kickboard_functions::{aws_config, dynamo_store};
use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let store = dynamo_store(&aws_config().await)?;
    lambda_runtime::run(service_fn(|event: LambdaEvent<KickboardEvent>| async {
        project_balance(&store, event.payload).await.map_err(Error::from)
    }))
    .await
}
