//! The AWS adapters: DynamoDB for state and views, EventBridge for events, SNS for alerts.
//! Clients are built once per cold start from one `aws-config` load and reused.

mod dynamo;
mod eventbridge;
pub mod items;
mod sns;

pub use dynamo::{DynamoStore, Tables};
pub use eventbridge::EventBridgePublisher;
pub use sns::SnsAlertSender;

/// Loads region, credentials and endpoint (`AWS_ENDPOINT_URL` too) from the environment.
pub async fn load_config() -> aws_config::SdkConfig {
    aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await
}
