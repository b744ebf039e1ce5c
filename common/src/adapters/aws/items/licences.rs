//! Licence items (`LicenceStore`): a customer's verified licence (no number, name or birth
//! date), and their verifications in progress and failed.

use super::{LICENCE_CHECKS_SK, LICENCE_SK, customer_pk};
use crate::domain::ids::CustomerId;
use crate::domain::licence::{Licence, LicenceChecks};
use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LicenceItem {
    pub pk: String,
    pub sk: String,
    #[serde(flatten)]
    pub licence: Licence,
    /// `verifiedAt` in epoch milliseconds, for the rent's condition.
    pub verified_at_ms: i64,
}

impl LicenceItem {
    pub fn new(customer: &CustomerId, licence: &Licence) -> Self {
        Self {
            pk: customer_pk(customer),
            sk: LICENCE_SK.to_owned(),
            licence: licence.clone(),
            verified_at_ms: licence.verified_at.timestamp_millis(),
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LicenceChecksItem {
    pub pk: String,
    pub sk: String,
    #[serde(flatten)]
    pub checks: LicenceChecks,
    /// Written on the version read, so two verifications never both start.
    pub version: u64,
}

impl LicenceChecksItem {
    pub fn new(customer: &CustomerId, checks: &LicenceChecks, version: u64) -> Self {
        Self { pk: customer_pk(customer), sk: LICENCE_CHECKS_SK.to_owned(), checks: checks.clone(), version }
    }
}
