//! `notifier`: EventBridge events → SMS and push through SNS, once per event id; pushes only
//! to endpoints of the platform applications in `PUSH_PLATFORM_APPLICATION_*_ARN`; crew
//! alerts to the topic in `CREW_TOPIC_ARN`. Two clients:
//! DynamoDB (contacts, sent-markers, the crew's log) and SNS.

use kickboard_common::adapters::aws::SnsAlertSender;
use kickboard_common::handlers::events::KickboardEvent;
use kickboard_common::handlers::notifier::{NotifierDeps, notify};
use kickboard_common::ports::SystemClock;
use kickboard_common::settings::Settings;
use kickboard_functions::{aws_config, dynamo_store, finish_invocation, init_observability};
use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_observability();
    let settings = Settings::from_env()?;
    let config = aws_config().await;
    let store = dynamo_store(&config, &settings)?;
    let sender = SnsAlertSender::new(aws_sdk_sns::Client::new(&config), settings.aws.push_applications.clone());
    let crew_topic = std::env::var("CREW_TOPIC_ARN").ok();
    let deps = NotifierDeps {
        ledger: &store,
        contacts: &store,
        rentals: &store,
        sender: &sender,
        clock: &SystemClock,
        crew_log: &store,
        crew_topic: crew_topic.as_deref(),
    };
    lambda_runtime::run(service_fn(|event: LambdaEvent<KickboardEvent>| async {
        let notified = notify(&deps, event.payload).await;
        finish_invocation();
        notified.map_err(Error::from)
    }))
    .await
}
