//! `Outbox` on SQLite: the events every write appends, and where each subscriber stands.

use super::store::{SqliteStore, exec, to_json, unavailable};
use crate::domain::events::EventEnvelope;
use crate::ports::{Outbox, OutboxEntry, PortResult};
use crate::trace;
use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, params};

pub(super) fn append_event(tx: &Connection, event: &EventEnvelope) -> PortResult<()> {
    let event = event.in_trace(trace::current());
    exec(
        tx,
        "INSERT INTO outbox (event_id, detail_type, item) VALUES (?1, ?2, ?3)",
        params![event.event_id.as_str(), event.detail_type(), to_json(&event)?],
    )?;
    Ok(())
}

impl SqliteStore {
    /// The position of the newest outbox event (0 when empty).
    pub async fn outbox_head(&self) -> PortResult<u64> {
        self.run(|conn| {
            let head: i64 = conn.query_row("SELECT COALESCE(MAX(position), 0) FROM outbox", [], |row| row.get(0))?;
            u64::try_from(head).map_err(unavailable)
        })
        .await
    }
}

#[async_trait]
impl Outbox for SqliteStore {
    async fn events_after(&self, position: u64, limit: usize) -> PortResult<Vec<OutboxEntry>> {
        self.run(move |conn| {
            let position = i64::try_from(position).map_err(unavailable)?;
            let limit = i64::try_from(limit).unwrap_or(i64::MAX);
            let rows: Vec<(i64, String)> = conn
                .prepare_cached("SELECT position, item FROM outbox WHERE position > ?1 ORDER BY position LIMIT ?2")?
                .query_map([position, limit], |row| Ok((row.get(0)?, row.get(1)?)))?
                .collect::<Result<_, _>>()?;
            rows.into_iter()
                .map(|(position, item)| {
                    Ok(OutboxEntry {
                        position: u64::try_from(position).map_err(unavailable)?,
                        event: serde_json::from_str(&item)?,
                    })
                })
                .collect()
        })
        .await
    }

    async fn cursor(&self, subscriber: &str) -> PortResult<u64> {
        let subscriber = subscriber.to_owned();
        self.run(move |conn| {
            let position: Option<i64> = conn
                .prepare_cached("SELECT position FROM relay_cursors WHERE subscriber = ?1")?
                .query_row([subscriber], |row| row.get(0))
                .optional()?;
            u64::try_from(position.unwrap_or(0)).map_err(unavailable)
        })
        .await
    }

    async fn advance_cursor(&self, subscriber: &str, position: u64) -> PortResult<()> {
        let subscriber = subscriber.to_owned();
        self.write(move |tx| {
            exec(
                tx,
                "INSERT INTO relay_cursors (subscriber, position) VALUES (?1, ?2)
                 ON CONFLICT (subscriber) DO UPDATE SET position = MAX(position, excluded.position)",
                params![subscriber, i64::try_from(position).map_err(unavailable)?],
            )?;
            Ok(())
        })
        .await
    }
}
