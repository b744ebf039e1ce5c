//! Where a customer's alerts go: an E.164 phone for SMS and, optionally, an SNS push endpoint.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContactError {
    #[error("must be an E.164 number such as +821012345678")]
    Phone,
    #[error("must be an SNS endpoint ARN of at most 256 characters")]
    PushEndpoint,
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

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Contact {
    pub phone: PhoneNumber,
    #[serde(default)]
    pub push_endpoint_arn: Option<PushEndpoint>,
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
}
