//! Alerts through SNS: SMS with `Publish` to a phone number, push with `Publish` to an
//! endpoint of the service's own platform applications, crew alerts with `Publish` to the
//! crew's topic; and the push endpoints themselves, made for the app's device tokens.

use crate::domain::alerts::Alert;
use crate::domain::contact::{Channel, PushEndpoint, PushPlatform, PushToken};
use crate::domain::ids::CustomerId;
use crate::ports::{AlertSender, Delivery, PortError, PortResult, PushRegistry};
use async_trait::async_trait;
use aws_sdk_sns::Client;
use aws_sdk_sns::error::ProvideErrorMetadata;
use aws_sdk_sns::types::MessageAttributeValue;

/// The service's SNS platform applications, at most one per push platform (read from
/// `PUSH_PLATFORM_APPLICATION_*_ARN` by `settings`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PushApplications {
    pub fcm: Option<String>,
    pub apns: Option<String>,
}

impl PushApplications {
    pub fn arn(&self, platform: PushPlatform) -> Option<&str> {
        match platform {
            PushPlatform::Fcm => self.fcm.as_deref(),
            PushPlatform::Apns => self.apns.as_deref(),
        }
    }

    /// Whether `endpoint` is an endpoint of one of the applications: SNS names the endpoints
    /// of `arn:…:app/GCM/kickboard` `arn:…:endpoint/GCM/kickboard/<id>`.
    pub fn owns(&self, endpoint: &str) -> bool {
        PushPlatform::ALL.into_iter().filter_map(|platform| self.arn(platform)).any(|application| {
            endpoint_prefix(application)
                .and_then(|prefix| endpoint.strip_prefix(&prefix))
                .is_some_and(|id| !id.is_empty() && !id.contains('/'))
        })
    }
}

/// `arn:…:endpoint/<platform>/<name>/` for the application `arn:…:app/<platform>/<name>`.
fn endpoint_prefix(application: &str) -> Option<String> {
    let (account, path) = application.split_once(":app/")?;
    Some(format!("{account}:endpoint/{path}/"))
}

pub struct SnsAlertSender {
    client: Client,
    applications: PushApplications,
}

impl SnsAlertSender {
    pub fn new(client: Client, applications: PushApplications) -> Self {
        Self { client, applications }
    }
}

#[async_trait]
impl AlertSender for SnsAlertSender {
    async fn send(&self, alert: &Alert) -> PortResult<Delivery> {
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
            // Never publish to an ARN the service did not make: it could be anyone's device or
            // a topic. An endpoint of an application no longer configured takes SMS instead.
            Channel::Push if !self.applications.owns(&alert.destination) => {
                return Ok(Delivery::EndpointDead("not an endpoint of the service's platform applications".into()));
            }
            Channel::Push => request.target_arn(&alert.destination),
            Channel::Crew => request.topic_arn(&alert.destination),
        };
        match request.send().await {
            Ok(_) => Ok(Delivery::Sent),
            Err(error)
                if alert.channel == Channel::Push
                    && error
                        .as_service_error()
                        .is_some_and(|e| e.is_endpoint_disabled_exception() || e.is_not_found_exception()) =>
            {
                Ok(Delivery::EndpointDead(error.as_service_error().and_then(|e| e.message()).unwrap_or("").to_owned()))
            }
            Err(error) => Err(super::sdk_error(error)),
        }
    }
}

/// Push endpoints in the service's platform applications.
pub struct SnsPushRegistry {
    client: Client,
    applications: PushApplications,
}

impl SnsPushRegistry {
    pub fn new(client: Client, applications: PushApplications) -> Self {
        Self { client, applications }
    }

    async fn create(&self, application: &str, customer: &CustomerId, token: &PushToken) -> PortResult<CreateOutcome> {
        let created = self
            .client
            .create_platform_endpoint()
            .platform_application_arn(application)
            .token(token.as_str())
            .custom_user_data(customer.as_str())
            .send()
            .await;
        match created {
            Ok(output) => {
                let arn = output.endpoint_arn.ok_or_else(|| PortError::Unavailable("no EndpointArn".into()))?;
                Ok(CreateOutcome::Endpoint(self.endpoint(arn)?))
            }
            // SNS keeps one endpoint per token and application: it answers with that endpoint's
            // ARN when its attributes (here, the customer) differ from the ones asked for.
            Err(error) => match error.as_service_error().and_then(|e| e.message()).and_then(taken_endpoint) {
                Some(arn) if error.code() == Some("InvalidParameter") => {
                    Ok(CreateOutcome::TakenBy(self.endpoint(arn.to_owned())?))
                }
                _ => Err(super::sdk_error(error)),
            },
        }
    }

    /// An ARN SNS answered, checked to be one of the applications' endpoints.
    fn endpoint(&self, arn: String) -> PortResult<PushEndpoint> {
        if !self.applications.owns(&arn) {
            return Err(PortError::Unavailable(format!("SNS answered an endpoint of another application: {arn}")));
        }
        PushEndpoint::try_from(arn).map_err(|error| PortError::Unavailable(error.to_string()))
    }
}

enum CreateOutcome {
    Endpoint(PushEndpoint),
    /// The token's endpoint exists with other attributes: another customer's, or disabled.
    TakenBy(PushEndpoint),
}

/// The endpoint named in SNS's "Endpoint <arn> already exists with the same Token, but
/// different attributes." (the way AWS's own samples find it).
fn taken_endpoint(message: &str) -> Option<&str> {
    let (_, after) = message.split_once("Endpoint ")?;
    let arn = after.split_whitespace().next()?;
    (arn.starts_with("arn:") && message.contains("already exists")).then_some(arn)
}

#[async_trait]
impl PushRegistry for SnsPushRegistry {
    fn offers(&self, platform: PushPlatform) -> bool {
        self.applications.arn(platform).is_some()
    }

    async fn register(
        &self,
        customer: &CustomerId,
        platform: PushPlatform,
        token: &PushToken,
    ) -> PortResult<PushEndpoint> {
        let application = self
            .applications
            .arn(platform)
            .ok_or_else(|| PortError::Unavailable(format!("no platform application for {}", platform.name())))?;
        match self.create(application, customer, token).await? {
            CreateOutcome::Endpoint(endpoint) => {
                // SNS answers a known token with its endpoint as it is, disabled too (after the
                // push service refused it once): the app registering again is the sign to retry.
                self.client
                    .set_endpoint_attributes()
                    .endpoint_arn(endpoint.as_str())
                    .attributes("Enabled", "true")
                    .send()
                    .await
                    .map_err(super::sdk_error)?;
                Ok(endpoint)
            }
            CreateOutcome::TakenBy(taken) => {
                // Made anew rather than taken over, so a customer who used this device before
                // (whose contact names the old endpoint) stops reaching it: their alerts go by SMS.
                self.remove(&taken).await?;
                match self.create(application, customer, token).await? {
                    CreateOutcome::Endpoint(endpoint) => Ok(endpoint),
                    CreateOutcome::TakenBy(again) => {
                        Err(PortError::Transient(format!("{} was registered again meanwhile", again.as_str())))
                    }
                }
            }
        }
    }

    async fn remove(&self, endpoint: &PushEndpoint) -> PortResult<()> {
        if !self.applications.owns(endpoint.as_str()) {
            return Ok(());
        }
        self.client.delete_endpoint().endpoint_arn(endpoint.as_str()).send().await.map_err(super::sdk_error)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_endpoints_of_the_service_applications_are_its_own() {
        let applications = PushApplications {
            fcm: Some("arn:aws:sns:ap-northeast-2:123456789012:app/GCM/kickboard".into()),
            apns: None,
        };
        assert!(applications.owns("arn:aws:sns:ap-northeast-2:123456789012:endpoint/GCM/kickboard/1f2e-3d"));
        for foreign in [
            "arn:aws:sns:ap-northeast-2:123456789012:kickboard-operators",
            "arn:aws:sns:ap-northeast-2:123456789012:endpoint/GCM/kickboard-other/1f2e",
            "arn:aws:sns:ap-northeast-2:999999999999:endpoint/GCM/kickboard/1f2e",
            "arn:aws:sns:ap-northeast-2:123456789012:endpoint/GCM/kickboard/",
            "arn:aws:sns:ap-northeast-2:123456789012:endpoint/APNS/kickboard/1f2e",
            "arn:aws:sqs:ap-northeast-2:999999999999:queue",
        ] {
            assert!(!applications.owns(foreign), "{foreign}");
        }
    }

    #[test]
    fn the_endpoint_holding_a_token_is_read_from_snss_answer() {
        let arn = "arn:aws:sns:us-east-1:123456789012:endpoint/GCM/kickboard/5bdb3622";
        let message = format!(
            "Invalid parameter: Token Reason: Endpoint {arn} already exists with the same Token, but different attributes."
        );
        assert_eq!(taken_endpoint(&message), Some(arn));
        assert_eq!(taken_endpoint("Invalid parameter: Token"), None);
    }
}
