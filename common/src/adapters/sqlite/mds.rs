//! `MdsView` on SQLite: one table of records, found by kind and hour.

use super::store::{SqliteStore, exec};
use crate::domain::mds::{MdsEvent, MdsHour, MdsKind, MdsRecord, MdsTrip};
use crate::ports::{MdsView, PortResult};
use async_trait::async_trait;
use rusqlite::params;
use serde::de::DeserializeOwned;

impl SqliteStore {
    /// The records of `kind` under `hour`, by time.
    async fn mds_of<T: DeserializeOwned + Send + 'static>(&self, kind: MdsKind, hour: MdsHour) -> PortResult<Vec<T>> {
        let hour = hour.to_string();
        self.run(move |conn| {
            let items: Vec<String> = conn
                .prepare_cached("SELECT item FROM mds_records WHERE kind = ?1 AND hour = ?2 ORDER BY at_ms, record_id")?
                .query_map(params![kind.as_str(), hour], |row| row.get(0))?
                .collect::<Result<_, _>>()?;
            Ok(items.iter().map(|item| serde_json::from_str(item)).collect::<Result<_, _>>()?)
        })
        .await
    }
}

#[async_trait]
impl MdsView for SqliteStore {
    async fn keep_mds(&self, records: &[MdsRecord]) -> PortResult<()> {
        let rows = records
            .iter()
            .map(|record| {
                Ok((
                    record.kind(),
                    record.id().to_string(),
                    record.hour().to_string(),
                    record.at_ms(),
                    record.to_json()?,
                ))
            })
            .collect::<PortResult<Vec<_>>>()?;
        self.write(move |tx| {
            for (kind, id, hour, at_ms, item) in &rows {
                exec(
                    tx,
                    "INSERT INTO mds_records (kind, record_id, hour, at_ms, item) VALUES (?1, ?2, ?3, ?4, ?5)
                     ON CONFLICT (kind, record_id) DO NOTHING",
                    params![kind.as_str(), id, hour, at_ms, item],
                )?;
            }
            Ok(())
        })
        .await
    }

    async fn trips_ended(&self, hour: MdsHour) -> PortResult<Vec<MdsTrip>> {
        self.mds_of(MdsKind::Trip, hour).await
    }

    async fn events_of(&self, hour: MdsHour) -> PortResult<Vec<MdsEvent>> {
        self.mds_of(MdsKind::Event, hour).await
    }
}
