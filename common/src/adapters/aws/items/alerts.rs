//! The notifier's ledger (`NotificationLedger`): one row per event and channel.

use super::{alert_sk, event_pk};
use crate::domain::ids::{CustomerId, EventId};
use crate::ports::{AlertClaim, AlertState};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// How long sent-markers are kept.
const SENT_MARKER_TTL: Duration = Duration::days(30);

/// One alert's row in the notifier's ledger: an event on one channel (or `none`, for an
/// event that alerted no one), claimed, sent or not sent.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlertLedgerItem {
    pub pk: String,
    pub sk: String,
    pub customer_id: CustomerId,
    pub state: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claim_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease_until_ms: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub updated_at: DateTime<Utc>,
    pub ttl: i64,
}

impl AlertLedgerItem {
    pub fn claimed(claim: &AlertClaim) -> Self {
        Self {
            pk: event_pk(&claim.event_id),
            sk: alert_sk(claim.channel.name()),
            customer_id: claim.customer.clone(),
            state: AlertState::Claimed.as_str().to_owned(),
            claim_token: Some(claim.token.clone()),
            lease_until_ms: Some(claim.lease_until.timestamp_millis()),
            reason: None,
            updated_at: claim.now,
            ttl: (claim.now + SENT_MARKER_TTL).timestamp(),
        }
    }

    pub fn not_sent(event_id: &EventId, customer: &CustomerId, reason: &str, now: DateTime<Utc>) -> Self {
        Self {
            pk: event_pk(event_id),
            sk: alert_sk(AlertState::NO_CHANNEL),
            customer_id: customer.clone(),
            state: AlertState::NotSent.as_str().to_owned(),
            claim_token: None,
            lease_until_ms: None,
            reason: Some(reason.to_owned()),
            updated_at: now,
            ttl: (now + SENT_MARKER_TTL).timestamp(),
        }
    }
}
