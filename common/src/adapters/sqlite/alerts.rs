//! `NotificationLedger` on SQLite: the notifier's claims, leases and outcomes.

use super::store::{SqliteStore, exec};
use crate::domain::ids::{CustomerId, EventId};
use crate::ports::{AlertClaim, AlertState, ClaimOutcome, NotificationLedger, PortResult};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::params;

#[async_trait]
impl NotificationLedger for SqliteStore {
    async fn claim(&self, claim: &AlertClaim) -> PortResult<ClaimOutcome> {
        let claim = claim.clone();
        self.write(move |tx| {
            let (event_id, channel) = (claim.event_id.as_str(), claim.channel.name());
            let claimed = exec(
                tx,
                "INSERT INTO alert_ledger (event_id, channel, customer_id, state, claim_token, lease_until_ms, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT (event_id, channel) DO UPDATE SET
                     claim_token = excluded.claim_token, lease_until_ms = excluded.lease_until_ms,
                     updated_at = excluded.updated_at
                 WHERE alert_ledger.state = ?4
                   AND (alert_ledger.lease_until_ms < ?8 OR alert_ledger.claim_token = excluded.claim_token)",
                params![
                    event_id,
                    channel,
                    claim.customer.as_str(),
                    AlertState::Claimed.as_str(),
                    claim.token,
                    claim.lease_until.timestamp_millis(),
                    claim.now.to_rfc3339(),
                    claim.now.timestamp_millis()
                ],
            )?;
            if claimed == 1 {
                return Ok(ClaimOutcome::Claimed);
            }
            let state: String = tx
                .prepare_cached("SELECT state FROM alert_ledger WHERE event_id = ?1 AND channel = ?2")?
                .query_row([event_id, channel], |row| row.get(0))?;
            Ok(if state == AlertState::Sent.as_str() { ClaimOutcome::AlreadySent } else { ClaimOutcome::InProgress })
        })
        .await
    }

    async fn mark_sent(&self, claim: &AlertClaim) -> PortResult<()> {
        let claim = claim.clone();
        self.write(move |tx| {
            exec(
                tx,
                "UPDATE alert_ledger SET state = ?4, updated_at = ?5
                 WHERE event_id = ?1 AND channel = ?2 AND claim_token = ?3",
                params![
                    claim.event_id.as_str(),
                    claim.channel.name(),
                    claim.token,
                    AlertState::Sent.as_str(),
                    claim.now.to_rfc3339()
                ],
            )?;
            Ok(())
        })
        .await
    }

    async fn release(&self, claim: &AlertClaim) -> PortResult<()> {
        let claim = claim.clone();
        self.write(move |tx| {
            exec(
                tx,
                "DELETE FROM alert_ledger WHERE event_id = ?1 AND channel = ?2 AND claim_token = ?3 AND state = ?4",
                params![claim.event_id.as_str(), claim.channel.name(), claim.token, AlertState::Claimed.as_str()],
            )?;
            Ok(())
        })
        .await
    }

    async fn record_not_sent(
        &self,
        event_id: &EventId,
        customer: &CustomerId,
        reason: &str,
        now: DateTime<Utc>,
    ) -> PortResult<()> {
        let (event_id, customer, reason) = (event_id.to_string(), customer.to_string(), reason.to_owned());
        self.write(move |tx| {
            exec(
                tx,
                "INSERT INTO alert_ledger (event_id, channel, customer_id, state, reason, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (event_id, channel) DO NOTHING",
                params![
                    event_id,
                    AlertState::NO_CHANNEL,
                    customer,
                    AlertState::NotSent.as_str(),
                    reason,
                    now.to_rfc3339()
                ],
            )?;
            Ok(())
        })
        .await
    }
}
