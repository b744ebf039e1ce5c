//! The AWS adapters: DynamoDB for state and views, EventBridge for events, SNS for alerts.
//! Clients are built once per cold start from one `aws-config` load and reused.

mod dynamo;
mod eventbridge;
pub mod items;
mod sns;

pub use dynamo::{DynamoStore, Tables};
pub use eventbridge::EventBridgePublisher;
pub use sns::SnsAlertSender;

/// An SDK call's failure, with its whole cause chain, as an unavailable backend (for logs).
pub fn sdk_error(error: impl std::error::Error) -> crate::ports::PortError {
    crate::ports::PortError::Unavailable(aws_sdk_dynamodb::error::DisplayErrorContext(error).to_string())
}

/// Loads region and credentials from the environment (the Lambda role on AWS); `endpoint`
/// overrides where the APIs are reached, as `AWS_ENDPOINT_URL` does when it is not given.
pub async fn load_config(endpoint: Option<&str>) -> aws_config::SdkConfig {
    let loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
    match endpoint {
        Some(endpoint) => loader.endpoint_url(endpoint).load().await,
        None => loader.load().await,
    }
}
