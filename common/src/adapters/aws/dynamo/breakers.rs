//! `BreakerStore` on DynamoDB: the shared breaker state and its sharded call counts.

use super::client::{DynamoStore, from_item, n, to_item};
use super::transact::conditional_put;
use crate::adapters::aws::items::attr::{CALLS, FAILURES, PK, VERSION};
use crate::adapters::aws::items::{
    BREAKER_COUNTER_SHARDS, BreakerCountItem, BreakerItem, Item, attr, breaker_count_key, breaker_count_ttl,
    breaker_key,
};
use crate::adapters::aws::sdk_error;
use crate::domain::breaker::{BreakerState, WindowCounts};
use crate::ports::{BreakerStore, PortResult, Versioned};
use async_trait::async_trait;

#[async_trait]
impl BreakerStore for DynamoStore {
    async fn load_breaker(&self, name: &str) -> PortResult<Versioned<BreakerState>> {
        let item: Option<BreakerItem> = self.get(&self.tables.views, breaker_key(name)).await?;
        Ok(match item {
            Some(item) => Versioned { value: item.breaker, version: item.version },
            None => Versioned { value: BreakerState::default(), version: 0 },
        })
    }

    async fn save_breaker(&self, name: &str, state: &BreakerState, expected: u64) -> PortResult<bool> {
        let request = self
            .client
            .put_item()
            .table_name(&self.tables.views)
            .set_item(Some(to_item(&BreakerItem::new(name, state, expected + 1))?));
        let request = match expected {
            0 => request.condition_expression(format!("attribute_not_exists({PK})")),
            _ => request
                .condition_expression(format!("{VERSION} = :expected"))
                .expression_attribute_values(":expected", n(expected)),
        };
        conditional_put(request).await
    }

    async fn count_call(&self, name: &str, bucket_ms: i64, failed: bool) -> PortResult<()> {
        // Any shard: spreading a busy bucket's additions over several items.
        let shard = uuid::Uuid::new_v4().as_bytes()[0] % BREAKER_COUNTER_SHARDS;
        self.client
            .update_item()
            .table_name(&self.tables.views)
            .set_key(Some(breaker_count_key(name, bucket_ms, shard)))
            .update_expression(format!("ADD {CALLS} :one, {FAILURES} :failed SET #ttl = :ttl"))
            .expression_attribute_names("#ttl", attr::TTL)
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":failed", n(u8::from(failed)))
            .expression_attribute_values(":ttl", n(breaker_count_ttl(bucket_ms)))
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(())
    }

    async fn count_window(&self, name: &str, buckets: &[i64]) -> PortResult<WindowCounts> {
        let keys: Vec<Item> = buckets
            .iter()
            .flat_map(|bucket| (0..BREAKER_COUNTER_SHARDS).map(move |shard| breaker_count_key(name, *bucket, shard)))
            .collect();
        let projection = format!("{CALLS}, {FAILURES}");
        let mut counts = WindowCounts::default();
        for item in self.batch_get(&self.tables.views, &keys, Some(&projection), true).await? {
            let count: BreakerCountItem = from_item(item)?;
            counts.calls += count.calls;
            counts.failures += count.failures;
        }
        Ok(counts)
    }
}
