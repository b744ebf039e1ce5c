//! Alerts through SNS: SMS with `Publish` to a phone number, push with `Publish` to an
//! endpoint ARN, crew alerts with `Publish` to the crew's topic.

use crate::domain::alerts::Alert;
use crate::domain::contact::Channel;
use crate::ports::{AlertSender, PortError, PortResult};
use async_trait::async_trait;
use aws_sdk_sns::Client;
use aws_sdk_sns::types::MessageAttributeValue;

pub struct SnsAlertSender {
    client: Client,
}

impl SnsAlertSender {
    pub fn new(client: Client) -> Self {
        Self { client }
    }
}

#[async_trait]
impl AlertSender for SnsAlertSender {
    async fn send(&self, alert: &Alert) -> PortResult<()> {
        let request = self.client.publish().message(&alert.message);
        let request = match alert.channel {
            // Rental alerts are transactional, not marketing: SNS then routes them for delivery.
            Channel::Sms => request.phone_number(&alert.destination).message_attributes(
                "AWS.SNS.SMS.SMSType",
                MessageAttributeValue::builder()
                    .data_type("String")
                    .string_value("Transactional")
                    .build()
                    .map_err(|error| PortError::Unavailable(error.to_string()))?,
            ),
            Channel::Push => request.target_arn(&alert.destination),
            Channel::Crew => request.topic_arn(&alert.destination),
        };
        request.send().await.map_err(super::sdk_error)?;
        Ok(())
    }
}
