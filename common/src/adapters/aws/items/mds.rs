//! The cities' view (`MdsView`): each record in the partition of its kind, hour and shard,
//! sorted by time. An hour is spread over [`MDS_SHARDS`] partitions so a busy city's hour is
//! never one hot key; reading it is one query per shard.

use super::MDS_PREFIX;
use crate::domain::mds::{MdsHour, MdsKind, MdsRecord};
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
