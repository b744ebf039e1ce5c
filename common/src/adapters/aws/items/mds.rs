//! The cities' view (`MdsView`): each record in the partition of its kind, hour and shard,
//! sorted by time. An hour is spread over [`MDS_SHARDS`] partitions so a busy city's hour is
//! never one hot key; reading it is one query per shard. Each vehicle's latest state is one
//! item, in one of [`MDS_DEVICE_SHARDS`] partitions by the first bits of its device id. The
//! monthly reports' trips are filed by month the way records are by hour.

use super::MDS_PREFIX;
use crate::domain::mds::{MdsDevice, MdsHour, MdsKind, MdsRecord};
use crate::domain::mds_reports::{CityMonth, ReportedTrip};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Partitions an hour of one kind is spread over.
pub const MDS_SHARDS: u8 = 32;

/// `MDS#<kind>#<hour>#<shard>`.
pub fn mds_pk(kind: MdsKind, hour: MdsHour, shard: u8) -> String {
    format!("{MDS_PREFIX}{}#{hour}#{shard:02}", kind.as_str())
}

/// The shard a record falls in: by its id, which is a UUID v5 (a hash), so they spread evenly.
fn shard(id: Uuid) -> u8 {
    id.as_bytes()[15] % MDS_SHARDS
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MdsItem {
    pub pk: String,
    /// `<milliseconds, zero-padded>#<id>`: in time order, one per record.
    pub sk: String,
    /// The record as MDS writes it.
    pub item: String,
}

impl MdsItem {
    pub fn new(record: &MdsRecord) -> serde_json::Result<Self> {
        let id = record.id();
        Ok(Self {
            pk: mds_pk(record.kind(), record.hour(), shard(id)),
            sk: format!("{:013}#{id}", record.at_ms()),
            item: record.to_json()?,
        })
    }
}

/// Partitions the vehicles' states are spread over, by the first five bits of the device id
/// (a UUID v5, a hash: even): in device id order, so a listing reads them one after another.
pub const MDS_DEVICE_SHARDS: u8 = 32;

/// The partition of a device's state: `MDS#device#<shard>`.
fn mds_device_pk(device_id: Uuid) -> String {
    mds_device_shard_pk(device_shard(device_id))
}

pub fn device_shard(device_id: Uuid) -> u8 {
    device_id.as_bytes()[0] >> 3
}

/// A device's state item: its shard's partition, its id.
pub fn mds_device_key(device_id: Uuid) -> super::Item {
    super::key(mds_device_pk(device_id), &device_id.to_string())
}

/// `MDS#device#<shard>` for a shard number.
pub fn mds_device_shard_pk(shard: u8) -> String {
    format!("{MDS_PREFIX}device#{shard:02}")
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MdsDeviceItem {
    pub pk: String,
    /// The device id: a partition lists in device id order.
    pub sk: String,
    /// `<milliseconds, zero-padded>#<event id>` of the state: a later state has a greater one.
    pub order_key: String,
    /// The state as the view keeps it.
    pub item: String,
}

impl MdsDeviceItem {
    pub fn new(device: &MdsDevice) -> serde_json::Result<Self> {
        let (at_ms, event_id) = device.order_key();
        Ok(Self {
            pk: mds_device_pk(device.device_id()),
            sk: device.device_id().to_string(),
            order_key: format!("{at_ms:013}#{event_id}"),
            item: serde_json::to_string(device)?,
        })
    }
}

/// `MDS#reportedtrip#<month>#<shard>`: a month's trip starts, spread like an hour's records.
pub fn reported_trip_pk(month: CityMonth, shard: u8) -> String {
    format!("{MDS_PREFIX}reportedtrip#{month}#{shard:02}")
}

/// A trip as the monthly reports count it, under the month it began in the city.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReportedTripItem {
    pub pk: String,
    /// The trip id: a trip counted once however often its start arrives.
    pub sk: String,
    pub trip: ReportedTrip,
}

impl ReportedTripItem {
    pub fn new(trip: &ReportedTrip) -> Self {
        Self { pk: reported_trip_pk(trip.month, shard(trip.trip_id)), sk: trip.trip_id.to_string(), trip: trip.clone() }
    }
}
