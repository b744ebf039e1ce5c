//! Where a customer's alerts go: an E.164 phone for SMS and, optionally, an SNS push endpoint.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContactError {
    #[error("must be an E.164 number such as +821012345678")]
    Phone,
    #[error("must be an SNS endpoint ARN of at most 256 characters")]
    PushEndpoint,
    #[error("must name at least one channel")]
    NoChannel,
    #[error("push needs a pushEndpointArn")]
    PushWithoutEndpoint,
    #[error("crew alerts go to the operators, not to customers")]
    CrewChannel,
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

/// An SNS platform endpoint ARN for push notifications.
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
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Locale {
    #[default]
    Ko,
    En,
}

/// Where an alert can go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
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

/// What a customer asks for with `PUT /me/contact`, before the rules across its fields.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ContactForm {
    pub phone: PhoneNumber,
    #[serde(default)]
    pub push_endpoint_arn: Option<PushEndpoint>,
    #[serde(default)]
    pub locale: Locale,
    #[serde(default)]
    pub channels: Option<Vec<Channel>>,
}

/// Where and how a customer is alerted. Built only from a [`ContactForm`] that keeps the
/// rules: channels named explicitly are not empty, and push is chosen only with an endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Contact {
    pub phone: PhoneNumber,
    #[serde(default)]
    pub push_endpoint_arn: Option<PushEndpoint>,
    #[serde(default)]
    pub locale: Locale,
    /// The channels the customer chose; `None`: push when there is an endpoint, else SMS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    channels: Option<Vec<Channel>>,
}

impl TryFrom<ContactForm> for Contact {
    type Error = ContactError;
    fn try_from(form: ContactForm) -> Result<Self, ContactError> {
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
                if channels.contains(&Channel::Push) && form.push_endpoint_arn.is_none() {
                    return Err(ContactError::PushWithoutEndpoint);
                }
                Some(channels)
            }
        };
        Ok(Self { phone: form.phone, push_endpoint_arn: form.push_endpoint_arn, locale: form.locale, channels })
    }
}

impl Contact {
    /// The channels alerts go to: the customer's choice, else push when an endpoint is
    /// registered (free) and SMS otherwise (paid per message).
    pub fn channels(&self) -> Vec<Channel> {
        match (&self.channels, &self.push_endpoint_arn) {
            (Some(chosen), _) => chosen.clone(),
            (None, Some(_)) => vec![Channel::Push],
            (None, None) => vec![Channel::Sms],
        }
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
    fn push_endpoints_must_be_arns() {
        let arn = "arn:aws:sns:ap-northeast-2:123456789012:endpoint/GCM/kickboard/1f2e";
        assert!(PushEndpoint::try_from(arn.to_owned()).is_ok());
        assert!(PushEndpoint::try_from("https://example.com".to_owned()).is_err());
    }

    fn form(push: Option<&str>, channels: Option<Vec<Channel>>) -> ContactForm {
        ContactForm {
            phone: PhoneNumber::try_from("+821012345678".to_owned()).unwrap(),
            push_endpoint_arn: push.map(|arn| PushEndpoint::try_from(arn.to_owned()).unwrap()),
            locale: Locale::default(),
            channels,
        }
    }

    #[test]
    fn alerts_go_by_push_when_there_is_an_endpoint_else_by_sms_unless_chosen() {
        let arn = "arn:aws:sns:ap-northeast-2:123456789012:endpoint/GCM/kickboard/1f2e";
        let channels = |push, chosen| Contact::try_from(form(push, chosen)).map(|contact| contact.channels());
        assert_eq!(channels(None, None), Ok(vec![Channel::Sms]));
        assert_eq!(channels(Some(arn), None), Ok(vec![Channel::Push]));
        let both = Some(vec![Channel::Push, Channel::Sms, Channel::Push]);
        assert_eq!(channels(Some(arn), both), Ok(vec![Channel::Sms, Channel::Push]));
        assert_eq!(channels(None, Some(vec![Channel::Push])), Err(ContactError::PushWithoutEndpoint));
        assert_eq!(channels(None, Some(vec![])), Err(ContactError::NoChannel));
        assert_eq!(channels(None, Some(vec![Channel::Crew])), Err(ContactError::CrewChannel));
    }
}
