//! `MdsView` on SQLite: one table of records, found by kind and hour, one of each vehicle's
//! latest state, and one of the trips the monthly reports count.

use super::store::{SqliteStore, exec};
use crate::domain::mds::{MdsDevice, MdsEvent, MdsHour, MdsKind, MdsTelemetry, MdsTrip, MdsUpdate};
use crate::domain::mds_reports::{CityMonth, ReportedTrip};
use crate::ports::{MdsView, PortResult};
use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};
use serde::de::DeserializeOwned;
use uuid::Uuid;

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
    async fn keep_mds(&self, update: &MdsUpdate) -> PortResult<()> {
        let rows = update
            .records
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
        let device = match &update.device {
            Some(device) => {
                let (at_ms, event_id) = device.order_key();
                Some((device.device_id().to_string(), at_ms, event_id.to_string(), serde_json::to_string(device)?))
            }
            None => None,
        };
        let reported_trip = match &update.reported_trip {
            Some(trip) => Some((trip.trip_id.to_string(), trip.month.to_string(), serde_json::to_string(trip)?)),
            None => None,
        };
        self.write(move |tx| {
            if let Some((trip_id, month, item)) = &reported_trip {
                exec(
                    tx,
                    "INSERT INTO mds_reported_trips (trip_id, month, item) VALUES (?1, ?2, ?3)
                     ON CONFLICT (trip_id) DO NOTHING",
                    params![trip_id, month, item],
                )?;
            }
            for (kind, id, hour, at_ms, item) in &rows {
                exec(
                    tx,
                    "INSERT INTO mds_records (kind, record_id, hour, at_ms, item) VALUES (?1, ?2, ?3, ?4, ?5)
                     ON CONFLICT (kind, record_id) DO NOTHING",
                    params![kind.as_str(), id, hour, at_ms, item],
                )?;
            }
            if let Some((device_id, at_ms, event_id, item)) = &device {
                exec(
                    tx,
                    "INSERT INTO mds_devices (device_id, at_ms, event_id, item) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (device_id) DO UPDATE SET at_ms = excluded.at_ms, event_id = excluded.event_id,
                         item = excluded.item
                     WHERE (excluded.at_ms, excluded.event_id) > (mds_devices.at_ms, mds_devices.event_id)",
                    params![device_id, at_ms, event_id, item],
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

    async fn telemetry_of(&self, hour: MdsHour) -> PortResult<Vec<MdsTelemetry>> {
        self.mds_of(MdsKind::Telemetry, hour).await
    }

    async fn devices(&self, after: Option<Uuid>, limit: usize) -> PortResult<Vec<MdsDevice>> {
        // Hyphenated lower-case UUIDs sort as their bytes do: the order DynamoDB's keys give.
        let after = after.map(|id| id.to_string()).unwrap_or_default();
        self.run(move |conn| {
            let items: Vec<String> = conn
                .prepare_cached("SELECT item FROM mds_devices WHERE device_id > ?1 ORDER BY device_id LIMIT ?2")?
                .query_map(params![after, limit as i64], |row| row.get(0))?
                .collect::<Result<_, _>>()?;
            Ok(items.iter().map(|item| serde_json::from_str(item)).collect::<Result<_, _>>()?)
        })
        .await
    }

    async fn device(&self, device_id: Uuid) -> PortResult<Option<MdsDevice>> {
        let device_id = device_id.to_string();
        self.run(move |conn| {
            let item: Option<String> = conn
                .prepare_cached("SELECT item FROM mds_devices WHERE device_id = ?1")?
                .query_row(params![device_id], |row| row.get(0))
                .optional()?;
            Ok(item.map(|item| serde_json::from_str(&item)).transpose()?)
        })
        .await
    }

    async fn trips_started(&self, month: CityMonth) -> PortResult<Vec<ReportedTrip>> {
        let month = month.to_string();
        self.run(move |conn| {
            let items: Vec<String> = conn
                .prepare_cached("SELECT item FROM mds_reported_trips WHERE month = ?1 ORDER BY trip_id")?
                .query_map(params![month], |row| row.get(0))?
                .collect::<Result<_, _>>()?;
            Ok(items.iter().map(|item| serde_json::from_str(item)).collect::<Result<_, _>>()?)
        })
        .await
    }
}
