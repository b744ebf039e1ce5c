//! Identifiers: opaque, validated strings that cannot hold anything unsafe to store or echo.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Why a string is not a valid identifier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("must not be empty")]
    Empty,
    #[error("must be at most {MAX_ID_LEN} characters")]
    TooLong,
    #[error("may only contain letters, digits and - _ . :")]
    BadCharacter,
}

pub const MAX_ID_LEN: usize = 64;

/// [`check_id`]'s rule as a regular expression, for the JSON Schema of every id.
pub const ID_PATTERN: &str = "^[A-Za-z0-9._:-]+$";

fn check_id(value: &str) -> Result<(), IdError> {
    if value.is_empty() {
        return Err(IdError::Empty);
    }
    if value.len() > MAX_ID_LEN {
        return Err(IdError::TooLong);
    }
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':');
    if !value.chars().all(allowed) {
        return Err(IdError::BadCharacter);
    }
    Ok(())
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// A fresh random identifier (UUID v4).
            pub fn random() -> Self {
                Self(uuid::Uuid::new_v4().to_string())
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = IdError;
            fn try_from(value: String) -> Result<Self, IdError> {
                check_id(&value)?;
                Ok(Self(value))
            }
        }

        impl TryFrom<&str> for $name {
            type Error = IdError;
            fn try_from(value: &str) -> Result<Self, IdError> {
                Self::try_from(value.to_owned())
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl schemars::JsonSchema for $name {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                stringify!($name).into()
            }

            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                schemars::json_schema!({
                    "type": "string", "minLength": 1, "maxLength": MAX_ID_LEN, "pattern": ID_PATTERN,
                })
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

id_type!(
    /// The customer: the `sub` claim of their token.
    CustomerId
);
id_type!(PassId);
id_type!(KickboardId);
id_type!(RentalId);
id_type!(
    /// Unique per domain event; consumers de-duplicate on it.
    EventId
);
id_type!(PlanId);
id_type!(VehicleTypeId);
id_type!(ZoneId);
id_type!(
    /// The id a board is published under in the public GBFS feed: never its internal id, and
    /// a new one after every rental, so riders' trips cannot be followed in the feed.
    PublicVehicleId
);
id_type!(PaymentId);
id_type!(
    /// One command sent to one vehicle; its acknowledgement carries it back.
    CommandId
);

impl RentalId {
    /// A new rental id that carries its pass id (`<passId>.<random>`), so a return can read
    /// the rental and its pass together without a lookup first.
    pub fn for_pass(pass_id: &PassId) -> Self {
        let random = uuid::Uuid::new_v4().simple().to_string();
        Self(format!("{pass_id}.{}", &random[..8]))
    }

    /// The pass this rental was started with, when the id carries one.
    pub fn pass_id(&self) -> Option<PassId> {
        let (pass, _) = self.0.rsplit_once('.')?;
        PassId::try_from(pass).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rental_ids_carry_their_pass() {
        let pass = PassId::random();
        let rental = RentalId::for_pass(&pass);
        assert!(rental.as_str().len() <= MAX_ID_LEN);
        assert_eq!(rental.pass_id(), Some(pass));
        assert_eq!(RentalId::try_from("no-dot").unwrap().pass_id(), None);
    }

    #[test]
    fn accepts_uuid_and_simple_ids() {
        assert!(PassId::try_from("a1b2-c3_d4.e5:f6").is_ok());
        assert!(PassId::try_from(uuid::Uuid::new_v4().to_string()).is_ok());
    }

    #[test]
    fn refuses_empty_long_and_odd_ids() {
        assert_eq!(PassId::try_from(""), Err(IdError::Empty));
        assert_eq!(PassId::try_from("x".repeat(65)), Err(IdError::TooLong));
        assert_eq!(PassId::try_from("a/b"), Err(IdError::BadCharacter));
        assert_eq!(PassId::try_from("a b"), Err(IdError::BadCharacter));
        assert!(serde_json::from_str::<PassId>("\"<script>\"").is_err());
    }
}
