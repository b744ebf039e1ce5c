//! Where a customer's alerts go: an E.164 phone for SMS and, optionally, a push endpoint the
//! service made for the customer's device in its own platform application.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use std::convert::Infallible;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContactError {
    #[error("must be an E.164 number such as +821012345678")]
    Phone,
    #[error("must be an SNS endpoint ARN of at most 256 characters")]
    PushEndpoint,
    #[error("must be 1 to {MAX_PUSH_TOKEN_CHARS} printable ASCII characters, no spaces")]
    PushToken,
    #[error("must be given with pushToken")]
    PlatformWithoutToken,
    #[error("must be given with pushPlatform")]
    TokenWithoutPlatform,
    #[error("must name at least one channel")]
    NoChannel,
    #[error("push needs pushPlatform and pushToken")]
    PushWithoutDevice,
    #[error("crew alerts go to the operators, not to customers")]
    CrewChannel,
}

impl ContactError {
    /// The request field a broken rule is about.
    pub fn field(&self) -> &'static str {
        match self {
            ContactError::Phone => "phone",
            ContactError::PushEndpoint => "pushEndpointArn",
            ContactError::PushToken | ContactError::TokenWithoutPlatform => "pushToken",
            ContactError::PlatformWithoutToken => "pushPlatform",
            ContactError::NoChannel | ContactError::PushWithoutDevice | ContactError::CrewChannel => "channels",
        }
    }
}

/// A phone number in E.164 form: `+`, then 8 to 15 digits, no leading zero.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PhoneNumber(String);

impl TryFrom<String> for PhoneNumber {
    type Error = ContactError;
    fn try_from(value: String) -> Result<Self, ContactError> {
        let digits = value.strip_prefix('+').ok_or(ContactError::Phone)?;
        let valid =
            (8..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()) && !digits.starts_with('0');
        if !valid {
            return Err(ContactError::Phone);
        }
        Ok(Self(value))
    }
}

super::validated_schema!(PhoneNumber, {"type": "string", "pattern": "^\\+[1-9][0-9]{7,14}$"});

impl From<PhoneNumber> for String {
    fn from(phone: PhoneNumber) -> String {
        phone.0
    }
}

impl PhoneNumber {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A push endpoint's ARN: made by the service's push registry, never taken from a client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PushEndpoint(String);

impl TryFrom<String> for PushEndpoint {
    type Error = ContactError;
    fn try_from(value: String) -> Result<Self, ContactError> {
        let valid = value.starts_with("arn:")
            && value.len() <= 256
            && value.split(':').count() >= 6
            && value.chars().all(|c| c.is_ascii_graphic());
        if !valid {
            return Err(ContactError::PushEndpoint);
        }
        Ok(Self(value))
    }
}

impl From<PushEndpoint> for String {
    fn from(endpoint: PushEndpoint) -> String {
        endpoint.0
    }
}

impl PushEndpoint {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The language of a customer's alerts. This is a Korean service: Korean unless asked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Locale {
    #[default]
    Ko,
    En,
}

/// Where an alert can go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    Sms,
    Push,
    /// The operators' crew topic (SNS on AWS), never a customer's.
    Crew,
}

impl Channel {
    pub fn name(self) -> &'static str {
        match self {
            Channel::Sms => "sms",
            Channel::Push => "push",
            Channel::Crew => "crew",
        }
    }
}

/// The push services the app is delivered through. Each is offered only when the service
/// has a platform application for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
pub enum PushPlatform {
    /// Firebase Cloud Messaging (Android).
    #[serde(rename = "FCM")]
    Fcm,
    /// Apple Push Notification service (iOS).
    #[serde(rename = "APNS")]
    Apns,
}

impl PushPlatform {
    pub const ALL: [PushPlatform; 2] = [PushPlatform::Fcm, PushPlatform::Apns];

    pub fn name(self) -> &'static str {
        match self {
            PushPlatform::Fcm => "FCM",
            PushPlatform::Apns => "APNS",
        }
    }
}

/// The longest device token taken. APNs tokens are 64 hex characters and FCM tokens about
/// 160; 4,096 leaves room for both to grow and is what SNS takes as an endpoint's token.
pub const MAX_PUSH_TOKEN_CHARS: usize = 4096;

/// A device token as the app's push service gave it: 1 to [`MAX_PUSH_TOKEN_CHARS`] printable
/// ASCII characters without spaces.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PushToken(String);

impl TryFrom<String> for PushToken {
    type Error = ContactError;
    fn try_from(value: String) -> Result<Self, ContactError> {
        let valid = (1..=MAX_PUSH_TOKEN_CHARS).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_graphic());
        if !valid {
            return Err(ContactError::PushToken);
        }
        Ok(Self(value))
    }
}

super::validated_schema!(PushToken, {
    "type": "string", "minLength": 1, "maxLength": MAX_PUSH_TOKEN_CHARS, "pattern": "^[!-~]+$",
});

impl From<PushToken> for String {
    fn from(token: PushToken) -> String {
        token.0
    }
}

impl PushToken {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A field only the service sets: any value a client sends for it is refused, naming it.
fn set_by_service<'de, D: Deserializer<'de>>(_: D) -> Result<Option<Infallible>, D::Error> {
    Err(serde::de::Error::custom("push endpoints are made by the service: send pushPlatform and pushToken instead"))
}

/// What a customer asks for with `PUT /me/contact`, before the rules across its fields.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(rename = "ContactRequest")]
pub struct ContactForm {
    pub phone: PhoneNumber,
    #[serde(default)]
    pub push_platform: Option<PushPlatform>,
    #[serde(default)]
    pub push_token: Option<PushToken>,
    #[serde(default)]
    pub locale: Locale,
    #[serde(default)]
    pub channels: Option<Vec<Channel>>,
    /// Refused, so never there: an endpoint a client names could be anyone's device or the
    /// operators' topic.
    #[serde(default, deserialize_with = "set_by_service")]
    #[schemars(skip)]
    pub push_endpoint_arn: Option<Infallible>,
}

/// The device a valid form asks push alerts to go to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushDevice {
    pub platform: PushPlatform,
    pub token: PushToken,
}

/// A form whose fields keep the rules together, waiting only for its push endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedContact {
    phone: PhoneNumber,
    locale: Locale,
    channels: Option<Vec<Channel>>,
    /// The device to register, if the customer gave one.
    pub device: Option<PushDevice>,
}

impl TryFrom<ContactForm> for CheckedContact {
    type Error = ContactError;
    fn try_from(form: ContactForm) -> Result<Self, ContactError> {
        let device = match (form.push_platform, form.push_token) {
            (Some(platform), Some(token)) => Some(PushDevice { platform, token }),
            (Some(_), None) => return Err(ContactError::PlatformWithoutToken),
            (None, Some(_)) => return Err(ContactError::TokenWithoutPlatform),
            (None, None) => None,
        };
        let channels = match form.channels {
            None => None,
            Some(mut channels) => {
                channels.sort();
                channels.dedup();
                if channels.is_empty() {
                    return Err(ContactError::NoChannel);
                }
                if channels.contains(&Channel::Crew) {
                    return Err(ContactError::CrewChannel);
                }
                if channels.contains(&Channel::Push) && device.is_none() {
                    return Err(ContactError::PushWithoutDevice);
                }
                Some(channels)
            }
        };
        Ok(Self { phone: form.phone, locale: form.locale, channels, device })
    }
}

impl CheckedContact {
    /// The contact, with the endpoint the registry made for [`CheckedContact::device`].
    pub fn with_endpoint(self, endpoint: Option<PushEndpoint>) -> Contact {
        let push = self.device.zip(endpoint).map(|(device, endpoint_arn)| PushRegistration {
            platform: device.platform,
            endpoint_arn,
            dead_since: None,
        });
        Contact { phone: self.phone, push, locale: self.locale, channels: self.channels }
    }
}

/// The push endpoint the service made for a customer's device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PushRegistration {
    pub platform: PushPlatform,
    pub endpoint_arn: PushEndpoint,
    /// When the push service reported the endpoint disabled or gone: alerts go by SMS until
    /// the app registers again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dead_since: Option<DateTime<Utc>>,
}

impl PushRegistration {
    pub fn is_live(&self) -> bool {
        self.dead_since.is_none()
    }
}

/// Where and how a customer is alerted. Built only from a [`CheckedContact`], so channels
/// named explicitly are not empty, and push is chosen only with a registered device.
/// (Contacts stored before endpoints were the service's held a client's `pushEndpointArn`;
/// it is not read back, so those customers get SMS until their app registers.)
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Contact {
    pub phone: PhoneNumber,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub push: Option<PushRegistration>,
    #[serde(default)]
    pub locale: Locale,
    /// The channels the customer chose; `None`: push when a device is registered, else SMS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    channels: Option<Vec<Channel>>,
}

impl Contact {
    /// The endpoint pushes go to, while it takes them.
    pub fn live_push_endpoint(&self) -> Option<&PushEndpoint> {
        self.push.as_ref().filter(|push| push.is_live()).map(|push| &push.endpoint_arn)
    }

    /// Whether the customer registered a device whose endpoint the push service gave up on.
    pub fn push_is_dead(&self) -> bool {
        self.push.as_ref().is_some_and(|push| !push.is_live())
    }

    /// The channels alerts are addressed to: the customer's choice, else push when a device is
    /// registered (free) and SMS otherwise (paid per message). A push to a dead endpoint is
    /// still addressed, so the ledger keeps one alert per (event, channel): the notifier sends
    /// it by SMS instead, once.
    pub fn channels(&self) -> Vec<Channel> {
        match (&self.channels, &self.push) {
            (Some(chosen), _) => chosen.clone(),
            (None, Some(_)) => vec![Channel::Push],
            (None, None) => vec![Channel::Sms],
        }
    }

    /// Where alerts go now: [`Contact::channels`], SMS standing in for push on a dead endpoint.
    pub fn channels_now(&self) -> Vec<Channel> {
        let mut channels = self.channels();
        if self.push_is_dead() {
            channels
                .iter_mut()
                .filter(|channel| **channel == Channel::Push)
                .for_each(|channel| *channel = Channel::Sms);
            channels.sort();
            channels.dedup();
        }
        channels
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_numbers_must_be_e164() {
        assert!(PhoneNumber::try_from("+821012345678".to_owned()).is_ok());
        for bad in ["01012345678", "+0101234567", "+82-10-1234", "+1234567", "+1234567890123456"] {
            assert_eq!(PhoneNumber::try_from(bad.to_owned()), Err(ContactError::Phone), "{bad}");
        }
    }

    #[test]
    fn push_tokens_are_bounded_printable_ascii() {
        assert!(PushToken::try_from("a".repeat(MAX_PUSH_TOKEN_CHARS)).is_ok());
        assert!(PushToken::try_from("fcm:APA91bH-x_y.z".to_owned()).is_ok());
        for bad in [String::new(), "a".repeat(MAX_PUSH_TOKEN_CHARS + 1), "a b".into(), "tok\n".into(), "토큰".into()]
        {
            assert_eq!(PushToken::try_from(bad.clone()), Err(ContactError::PushToken), "{bad}");
        }
    }

    #[test]
    fn a_client_cannot_name_a_push_endpoint() {
        for value in [r#""arn:aws:sns:ap-northeast-2:123456789012:kickboard-operators""#, "null"] {
            let body = format!(r#"{{"phone":"+821012345678","pushEndpointArn":{value}}}"#);
            let error = serde_json::from_str::<ContactForm>(&body).unwrap_err();
            assert!(error.to_string().contains("made by the service"), "{error}");
        }
    }

    const ENDPOINT: &str = "arn:aws:sns:ap-northeast-2:123456789012:endpoint/GCM/kickboard/1f2e";

    fn checked(device: bool, channels: Option<Vec<Channel>>) -> Result<CheckedContact, ContactError> {
        CheckedContact::try_from(ContactForm {
            phone: PhoneNumber::try_from("+821012345678".to_owned()).unwrap(),
            push_platform: device.then_some(PushPlatform::Fcm),
            push_token: device.then(|| PushToken::try_from("token-1".to_owned()).unwrap()),
            locale: Locale::default(),
            channels,
            push_endpoint_arn: None,
        })
    }

    fn contact(device: bool, channels: Option<Vec<Channel>>) -> Result<Contact, ContactError> {
        let endpoint = device.then(|| PushEndpoint::try_from(ENDPOINT.to_owned()).unwrap());
        checked(device, channels).map(|checked| checked.with_endpoint(endpoint))
    }

    #[test]
    fn alerts_go_by_push_when_there_is_an_endpoint_else_by_sms_unless_chosen() {
        let channels = |device, chosen| contact(device, chosen).map(|contact| contact.channels());
        assert_eq!(channels(false, None), Ok(vec![Channel::Sms]));
        assert_eq!(channels(true, None), Ok(vec![Channel::Push]));
        let both = Some(vec![Channel::Push, Channel::Sms, Channel::Push]);
        assert_eq!(channels(true, both), Ok(vec![Channel::Sms, Channel::Push]));
        assert_eq!(channels(false, Some(vec![Channel::Push])), Err(ContactError::PushWithoutDevice));
        assert_eq!(channels(false, Some(vec![])), Err(ContactError::NoChannel));
        assert_eq!(channels(false, Some(vec![Channel::Crew])), Err(ContactError::CrewChannel));
    }

    #[test]
    fn a_dead_endpoint_sends_its_alerts_by_sms() {
        for (chosen, expected) in [
            (None, vec![Channel::Sms]),
            (Some(vec![Channel::Push]), vec![Channel::Sms]),
            (Some(vec![Channel::Sms, Channel::Push]), vec![Channel::Sms]),
        ] {
            let mut contact = contact(true, chosen).unwrap();
            contact.push.as_mut().unwrap().dead_since = Some(Utc::now());
            assert_eq!(contact.live_push_endpoint(), None);
            assert_eq!(contact.channels_now(), expected);
        }
    }

    #[test]
    fn platform_and_token_come_together() {
        let mut form = serde_json::from_str::<ContactForm>(r#"{"phone":"+821012345678","pushPlatform":"APNS"}"#);
        assert_eq!(form.map(CheckedContact::try_from).unwrap(), Err(ContactError::PlatformWithoutToken));
        form = serde_json::from_str::<ContactForm>(r#"{"phone":"+821012345678","pushToken":"t"}"#);
        assert_eq!(form.map(CheckedContact::try_from).unwrap(), Err(ContactError::TokenWithoutPlatform));
    }
}
