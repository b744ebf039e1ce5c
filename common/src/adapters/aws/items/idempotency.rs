//! `Idempotency-Key` items (`IdempotencyStore`): a key held by a request in progress, or
//! the answer given to it.

use super::{IDEMPOTENCY_SK, idempotency_pk};
use crate::ports::{ANSWER_KEPT, IdempotentAnswer, KeyClaim};
use chrono::Duration;
use serde::{Deserialize, Serialize};

/// The stored answer to a request with an `Idempotency-Key`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IdempotencyItem {
    pub pk: String,
    pub sk: String,
    /// When DynamoDB may delete it: when the answer is no longer given again.
    pub ttl: i64,
    #[serde(flatten)]
    pub answer: IdempotentAnswer,
}

impl From<&IdempotentAnswer> for IdempotencyItem {
    fn from(answer: &IdempotentAnswer) -> Self {
        Self {
            pk: idempotency_pk(&answer.scope),
            sk: IDEMPOTENCY_SK.to_owned(),
            ttl: (answer.created_at + ANSWER_KEPT).timestamp(),
            answer: answer.clone(),
        }
    }
}

/// An `Idempotency-Key` held by a request in progress, until `inProgressUntilMs`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HeldKeyItem {
    pub pk: String,
    pub sk: String,
    pub scope: String,
    pub request: String,
    pub claim_token: String,
    pub in_progress_until_ms: i64,
    /// A claim whose function died is deleted a day after it expired.
    pub ttl: i64,
}

impl From<&KeyClaim> for HeldKeyItem {
    fn from(claim: &KeyClaim) -> Self {
        Self {
            pk: idempotency_pk(&claim.scope),
            sk: IDEMPOTENCY_SK.to_owned(),
            scope: claim.scope.clone(),
            request: claim.request.clone(),
            claim_token: claim.token.clone(),
            in_progress_until_ms: claim.until.timestamp_millis(),
            ttl: (claim.until + Duration::days(1)).timestamp(),
        }
    }
}

/// What an `Idempotency-Key` item holds.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum KeyItem {
    Held(HeldKeyItem),
    Answered(IdempotencyItem),
}
