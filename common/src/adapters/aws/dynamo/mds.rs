//! `MdsView` on DynamoDB: records in the views table, an hour read as one query per shard.

use super::client::{DynamoStore, from_item, s, to_item, unavailable};
use super::pages::all_pages;
use crate::adapters::aws::items::attr::PK;
use crate::adapters::aws::items::{MDS_SHARDS, MdsItem, mds_pk};
use crate::adapters::aws::sdk_error;
use crate::domain::mds::{MdsEvent, MdsHour, MdsKind, MdsRecord, MdsTrip};
use crate::invocation;
use crate::ports::{MdsView, PortResult};
use async_trait::async_trait;
use serde::de::DeserializeOwned;

impl DynamoStore {
    /// The records of `kind` under `hour`, by time: every shard's, merged.
    async fn mds_of<T: DeserializeOwned>(&self, kind: MdsKind, hour: MdsHour) -> PortResult<Vec<T>> {
        let mut shards = tokio::task::JoinSet::new();
        for shard in 0..MDS_SHARDS {
            let request = self
                .client
                .query()
                .table_name(&self.tables.views)
                .key_condition_expression(format!("{PK} = :pk"))
                .expression_attribute_values(":pk", s(mds_pk(kind, hour, shard)));
            shards.spawn(invocation::carried(all_pages(request)));
        }
        let mut items = Vec::new();
        for read in shards.join_all().await {
            for item in read? {
                items.push(from_item::<MdsItem>(item)?);
            }
        }
        items.sort_by(|a, b| a.sk.cmp(&b.sk));
        items.iter().map(|item| serde_json::from_str(&item.item).map_err(unavailable)).collect()
    }
}

#[async_trait]
impl MdsView for DynamoStore {
    async fn keep_mds(&self, records: &[MdsRecord]) -> PortResult<()> {
        // A record is the same however often it is made: putting it again changes nothing.
        for record in records {
            let item = MdsItem::new(record).map_err(unavailable)?;
            self.client
                .put_item()
                .table_name(&self.tables.views)
                .set_item(Some(to_item(&item)?))
                .send()
                .await
                .map_err(sdk_error)?;
        }
        Ok(())
    }

    async fn trips_ended(&self, hour: MdsHour) -> PortResult<Vec<MdsTrip>> {
        self.mds_of(MdsKind::Trip, hour).await
    }

    async fn events_of(&self, hour: MdsHour) -> PortResult<Vec<MdsEvent>> {
        self.mds_of(MdsKind::Event, hour).await
    }
}
