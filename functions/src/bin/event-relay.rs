//! `event-relay`: DynamoDB stream batches of the state table → the EventBridge bus named by
//! `KICKBOARD_EVENT_BUS`. One EventBridge client. Failed entries come back as batch item
//! failures (the event source mapping sets `ReportBatchItemFailures`).

use kickboard_common::adapters::aws::EventBridgePublisher;
use kickboard_common::handlers::relay::relay_stream;
use kickboard_common::settings::Settings;
use kickboard_functions::{aws_config, finish_invocation, init_observability};
use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_observability();
    let config = aws_config().await;
    let publisher =
        EventBridgePublisher::new(aws_sdk_eventbridge::Client::new(&config), Settings::from_env()?.aws.event_bus()?);
    let publisher = &publisher;
    lambda_runtime::run(service_fn(|event: LambdaEvent<aws_lambda_events::event::dynamodb::Event>| async move {
        let relayed = relay_stream(publisher, &event.payload).await;
        finish_invocation();
        Ok::<_, Error>(relayed)
    }))
    .await
}
