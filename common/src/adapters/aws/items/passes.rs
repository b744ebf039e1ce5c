//! Pass items (`PassStore`).

use super::{PASS_SK, pass_pk};
use crate::domain::pass::Pass;
use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PassItem {
    pub pk: String,
    pub sk: String,
    #[serde(flatten)]
    pub pass: Pass,
    /// `expiresAt` as epoch milliseconds: write conditions compare numbers, not date strings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at_ms: Option<i64>,
}

impl From<&Pass> for PassItem {
    fn from(pass: &Pass) -> Self {
        Self {
            pk: pass_pk(&pass.pass_id),
            sk: PASS_SK.to_owned(),
            pass: pass.clone(),
            expires_at_ms: pass.payment().map(|payment| payment.expires_at.timestamp_millis()),
        }
    }
}
