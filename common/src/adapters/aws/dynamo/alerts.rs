//! `NotificationLedger` on DynamoDB: the notifier's claims, leases and outcomes.

use super::client::{DynamoStore, from_item, n, s, to_item};
use super::transact::{claiming_put, conditional_put};
use crate::adapters::aws::applied;
use crate::adapters::aws::items::attr::{CLAIM_TOKEN, LEASE_UNTIL_MS, PK, UPDATED_AT};
use crate::adapters::aws::items::{AlertLedgerItem, alert_ledger_key, attr};
use crate::domain::ids::{CustomerId, EventId};
use crate::ports::{AlertClaim, AlertState, ClaimOutcome, NotificationLedger, PortResult};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

#[async_trait]
impl NotificationLedger for DynamoStore {
    async fn claim(&self, claim: &AlertClaim) -> PortResult<ClaimOutcome> {
        let put = self
            .client
            .put_item()
            .table_name(&self.tables.views)
            .set_item(Some(to_item(&AlertLedgerItem::claimed(claim))?))
            .condition_expression(format!(
                "attribute_not_exists({PK}) OR (#state = :claimed AND ({LEASE_UNTIL_MS} < :now OR {CLAIM_TOKEN} = :token))",
            ))
            .expression_attribute_names("#state", attr::STATE)
            .expression_attribute_values(":claimed", s(AlertState::Claimed.as_str()))
            .expression_attribute_values(":now", n(claim.now.timestamp_millis()))
            .expression_attribute_values(":token", s(&claim.token));
        Ok(match claiming_put(put).await? {
            Ok(()) => ClaimOutcome::Claimed,
            Err(held) => {
                let held: Option<AlertLedgerItem> = held.map(from_item).transpose()?;
                match held.is_some_and(|held| held.state == AlertState::Sent.as_str()) {
                    true => ClaimOutcome::AlreadySent,
                    false => ClaimOutcome::InProgress,
                }
            }
        })
    }

    async fn mark_sent(&self, claim: &AlertClaim) -> PortResult<()> {
        let update = self
            .client
            .update_item()
            .table_name(&self.tables.views)
            .set_key(Some(alert_ledger_key(&claim.event_id, claim.channel.name())))
            .update_expression(format!("SET #state = :sent, {UPDATED_AT} = :now"))
            .condition_expression(format!("{CLAIM_TOKEN} = :token"))
            .expression_attribute_names("#state", attr::STATE)
            .expression_attribute_values(":sent", s(AlertState::Sent.as_str()))
            .expression_attribute_values(":now", s(claim.now.to_rfc3339()))
            .expression_attribute_values(":token", s(&claim.token));
        if !applied(update.send().await)? {
            tracing::warn!(event_id = %claim.event_id, "the alert's claim was taken over after its lease");
        }
        Ok(())
    }

    async fn release(&self, claim: &AlertClaim) -> PortResult<()> {
        let delete = self
            .client
            .delete_item()
            .table_name(&self.tables.views)
            .set_key(Some(alert_ledger_key(&claim.event_id, claim.channel.name())))
            .condition_expression(format!("{CLAIM_TOKEN} = :token AND #state = :claimed"))
            .expression_attribute_names("#state", attr::STATE)
            .expression_attribute_values(":claimed", s(AlertState::Claimed.as_str()))
            .expression_attribute_values(":token", s(&claim.token));
        // Not applied: someone else's claim now, or already gone; nothing of ours to give back.
        applied(delete.send().await).map(|_| ())
    }

    async fn record_not_sent(
        &self,
        event_id: &EventId,
        customer: &CustomerId,
        reason: &str,
        now: DateTime<Utc>,
    ) -> PortResult<()> {
        let put = self
            .client
            .put_item()
            .table_name(&self.tables.views)
            .set_item(Some(to_item(&AlertLedgerItem::not_sent(event_id, customer, reason, now))?))
            .condition_expression(format!("attribute_not_exists({PK})"));
        conditional_put(put).await.map(|_| ())
    }
}
