//! `IdempotencyStore` on DynamoDB: claiming, releasing and finding `Idempotency-Key`s.

use super::client::{DynamoStore, from_item, n, s, to_item};
use super::transact::claiming_put;
use crate::adapters::aws::applied;
use crate::adapters::aws::items::attr::{CLAIM_TOKEN, IN_PROGRESS_UNTIL_MS, PK};
use crate::adapters::aws::items::{HeldKeyItem, KeyItem, attr, idempotency_key};
use crate::ports::{IdempotencyStore, IdempotentAnswer, KeyClaim, KeyClaimed, PortResult};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

#[async_trait]
impl IdempotencyStore for DynamoStore {
    async fn claim_key(&self, claim: &KeyClaim) -> PortResult<KeyClaimed> {
        let put = self
            .client
            .put_item()
            .table_name(&self.tables.state)
            .set_item(Some(to_item(&HeldKeyItem::from(claim))?))
            .condition_expression(format!(
                "attribute_not_exists({PK}) \
                 OR (attribute_exists({IN_PROGRESS_UNTIL_MS}) \
                     AND ({IN_PROGRESS_UNTIL_MS} <= :now OR {CLAIM_TOKEN} = :token)) \
                 OR (attribute_not_exists({IN_PROGRESS_UNTIL_MS}) AND #ttl <= :nowSecs)",
            ))
            .expression_attribute_names("#ttl", attr::TTL)
            .expression_attribute_values(":now", n(claim.now.timestamp_millis()))
            .expression_attribute_values(":nowSecs", n(claim.now.timestamp()))
            .expression_attribute_values(":token", s(&claim.token));
        Ok(match claiming_put(put).await? {
            Ok(()) => KeyClaimed::Claimed,
            Err(held) => match held.map(from_item::<KeyItem>).transpose()? {
                Some(KeyItem::Answered(item)) => KeyClaimed::Answered(item.answer),
                Some(KeyItem::Held(item)) => KeyClaimed::InProgress {
                    until: DateTime::from_timestamp_millis(item.in_progress_until_ms).unwrap_or(claim.until),
                },
                None => KeyClaimed::InProgress { until: claim.until },
            },
        })
    }

    async fn release_key(&self, claim: &KeyClaim) -> PortResult<()> {
        let delete = self
            .client
            .delete_item()
            .table_name(&self.tables.state)
            .set_key(Some(idempotency_key(&claim.scope)))
            .condition_expression(format!("{CLAIM_TOKEN} = :token AND attribute_exists({IN_PROGRESS_UNTIL_MS})"))
            .expression_attribute_values(":token", s(&claim.token));
        // Not applied: no longer ours (expired and taken, or answered); nothing to give back.
        applied(delete.send().await).map(|_| ())
    }

    async fn find_answer(&self, scope: &str, now: DateTime<Utc>) -> PortResult<Option<IdempotentAnswer>> {
        let item: Option<KeyItem> = self.get(&self.tables.state, idempotency_key(scope)).await?;
        Ok(match item {
            Some(KeyItem::Answered(item)) if item.answer.is_kept_at(now) => Some(item.answer),
            _ => None,
        })
    }
}
