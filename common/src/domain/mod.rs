//! Every business rule of Kickboard, free of AWS, SQL and HTTP types.

pub mod alerts;
pub mod breaker;
pub mod commands;
pub mod contact;
pub mod error;
pub mod events;
pub mod geo;
pub mod ids;
pub mod kickboard;
pub mod licence;
pub mod mds;
pub mod mds_policy;
pub mod mds_reports;
pub mod operations;
pub mod pass;
pub mod plan;
pub mod rental;
pub mod track;
pub mod vehicle;
pub mod zones;

#[cfg(test)]
mod tests;

/// Implements `JsonSchema` for a type whose serde form is validated by hand (a `try_from`
/// newtype): its schema under its own name, written beside the rule it describes.
macro_rules! validated_schema {
    ($type:ty, $schema:tt) => {
        impl schemars::JsonSchema for $type {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                stringify!($type).into()
            }

            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                schemars::json_schema!($schema)
            }
        }
    };
}
pub(crate) use validated_schema;
