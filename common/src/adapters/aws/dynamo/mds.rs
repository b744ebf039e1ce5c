//! `MdsView` on DynamoDB: records in the views table, an hour read as one query per shard;
//! each vehicle's latest state one item, replaced only by a later one.

use super::client::{DynamoStore, from_item, s, to_item, unavailable};
use super::pages::{Paginated, all_pages};
use super::transact::conditional_put;
use crate::adapters::aws::items::attr::{ORDER_KEY, PK, SK};
use crate::adapters::aws::items::{
    Item, MDS_DEVICE_SHARDS, MDS_SHARDS, MdsDeviceItem, MdsItem, ReportedTripItem, device_shard, mds_device_key,
    mds_device_shard_pk, mds_pk, reported_trip_pk,
};
use crate::adapters::aws::sdk_error;
use crate::domain::mds::{MdsDevice, MdsEvent, MdsHour, MdsKind, MdsTelemetry, MdsTrip, MdsUpdate};
use crate::domain::mds_reports::{CityMonth, ReportedTrip};
use crate::invocation;
use crate::ports::{MdsView, PortResult};
use async_trait::async_trait;
use serde::de::DeserializeOwned;
use uuid::Uuid;

impl DynamoStore {
    /// Every item of the view's partitions `pks`, read side by side (one paged query each).
    async fn read_shards(&self, pks: impl Iterator<Item = String>) -> PortResult<Vec<Item>> {
        let mut shards = tokio::task::JoinSet::new();
        for pk in pks {
            let request = self
                .client
                .query()
                .table_name(&self.tables.views)
                .key_condition_expression(format!("{PK} = :pk"))
                .expression_attribute_values(":pk", s(pk));
            shards.spawn(invocation::carried(all_pages(request)));
        }
        let mut items = Vec::new();
        for read in shards.join_all().await {
            items.extend(read?);
        }
        Ok(items)
    }

    /// The records of `kind` under `hour`, by time: every shard's, merged.
    async fn mds_of<T: DeserializeOwned>(&self, kind: MdsKind, hour: MdsHour) -> PortResult<Vec<T>> {
        let items = self.read_shards((0..MDS_SHARDS).map(|shard| mds_pk(kind, hour, shard))).await?;
        let mut items = items.into_iter().map(from_item::<MdsItem>).collect::<PortResult<Vec<_>>>()?;
        items.sort_by(|a, b| a.sk.cmp(&b.sk));
        items.iter().map(|item| serde_json::from_str(&item.item).map_err(unavailable)).collect()
    }
}

fn device_of(item: MdsDeviceItem) -> PortResult<MdsDevice> {
    serde_json::from_str(&item.item).map_err(unavailable)
}

#[async_trait]
impl MdsView for DynamoStore {
    async fn keep_mds(&self, update: &MdsUpdate) -> PortResult<()> {
        // A record is the same however often it is made: putting it again changes nothing.
        for record in &update.records {
            let item = MdsItem::new(record).map_err(unavailable)?;
            self.client
                .put_item()
                .table_name(&self.tables.views)
                .set_item(Some(to_item(&item)?))
                .send()
                .await
                .map_err(sdk_error)?;
        }
        if let Some(trip) = &update.reported_trip {
            self.client
                .put_item()
                .table_name(&self.tables.views)
                .set_item(Some(to_item(&ReportedTripItem::new(trip))?))
                .send()
                .await
                .map_err(sdk_error)?;
        }
        if let Some(device) = &update.device {
            let item = MdsDeviceItem::new(device).map_err(unavailable)?;
            let put = self
                .client
                .put_item()
                .table_name(&self.tables.views)
                .condition_expression(format!("attribute_not_exists({PK}) OR {ORDER_KEY} < :orderKey"))
                .expression_attribute_values(":orderKey", s(&item.order_key))
                .set_item(Some(to_item(&item)?));
            // A later state already kept stays: this one arrived late.
            conditional_put(put).await?;
        }
        Ok(())
    }

    async fn trips_ended(&self, hour: MdsHour) -> PortResult<Vec<MdsTrip>> {
        self.mds_of(MdsKind::Trip, hour).await
    }

    async fn events_of(&self, hour: MdsHour) -> PortResult<Vec<MdsEvent>> {
        self.mds_of(MdsKind::Event, hour).await
    }

    async fn telemetry_of(&self, hour: MdsHour) -> PortResult<Vec<MdsTelemetry>> {
        self.mds_of(MdsKind::Telemetry, hour).await
    }

    async fn devices(&self, after: Option<Uuid>, limit: usize) -> PortResult<Vec<MdsDevice>> {
        // The shards hold device ids in ranges, in order: read from `after`'s shard on, each
        // from its start, until the page is full.
        let mut devices = Vec::new();
        let first = after.map_or(0, device_shard);
        for shard in first..MDS_DEVICE_SHARDS {
            let mut start = None;
            loop {
                let wanted = limit - devices.len();
                let query = self
                    .client
                    .query()
                    .table_name(&self.tables.views)
                    .expression_attribute_values(":pk", s(mds_device_shard_pk(shard)))
                    .limit(i32::try_from(wanted).unwrap_or(i32::MAX));
                let query = match after.filter(|_| shard == first) {
                    Some(after) => query
                        .key_condition_expression(format!("{PK} = :pk AND {SK} > :after"))
                        .expression_attribute_values(":after", s(after.to_string())),
                    None => query.key_condition_expression(format!("{PK} = :pk")),
                };
                let (items, next) = query.page(start).await?;
                for item in items {
                    devices.push(device_of(from_item(item)?)?);
                }
                if devices.len() >= limit {
                    return Ok(devices);
                }
                match next {
                    Some(key) if !key.is_empty() => start = Some(key),
                    _ => break,
                }
            }
        }
        Ok(devices)
    }

    async fn device(&self, device_id: Uuid) -> PortResult<Option<MdsDevice>> {
        let item: Option<MdsDeviceItem> = self.get(&self.tables.views, mds_device_key(device_id)).await?;
        item.map(device_of).transpose()
    }

    async fn trips_started(&self, month: CityMonth) -> PortResult<Vec<ReportedTrip>> {
        let items = self.read_shards((0..MDS_SHARDS).map(|shard| reported_trip_pk(month, shard))).await?;
        let mut trips = items
            .into_iter()
            .map(|item| Ok(from_item::<ReportedTripItem>(item)?.trip))
            .collect::<PortResult<Vec<_>>>()?;
        trips.sort_by_key(|trip| trip.trip_id);
        Ok(trips)
    }
}
