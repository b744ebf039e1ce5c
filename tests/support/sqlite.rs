//! Inspecting the embedded store in tests: what the service never asks of it.

use kickboard_common::adapters::sqlite::SqliteStore;
use kickboard_common::domain::events::EventEnvelope;
use kickboard_common::domain::ids::EventId;
use kickboard_common::ports::{AlertState, Outbox, PortError};
use rusqlite::OptionalExtension;
use std::collections::BTreeMap;

fn failed(error: rusqlite::Error) -> PortError {
    PortError::Unavailable(error.to_string())
}

/// Rows per table, to check that refused input wrote nothing.
pub async fn row_counts(store: &SqliteStore) -> BTreeMap<String, i64> {
    let counts = store.run(|conn| {
        let tables: Vec<String> = conn
            .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
            .and_then(|mut names| names.query_map([], |row| row.get(0))?.collect())
            .map_err(failed)?;
        let mut counts = BTreeMap::new();
        for table in tables {
            let count = conn.query_row(&format!("SELECT COUNT(*) FROM \"{table}\""), [], |row| row.get(0));
            counts.insert(table, count.map_err(failed)?);
        }
        Ok(counts)
    });
    counts.await.expect("the store answers")
}

/// Every row of every table, one line each, every column as text.
pub async fn dump(store: &SqliteStore) -> String {
    let text = store.run(|conn| {
        let tables: Vec<String> = conn
            .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
            .and_then(|mut names| names.query_map([], |row| row.get(0))?.collect())
            .map_err(failed)?;
        let mut text = String::new();
        for table in tables {
            let mut rows = conn.prepare(&format!("SELECT * FROM \"{table}\"")).map_err(failed)?;
            let columns = rows.column_count();
            let mut rows = rows.query([]).map_err(failed)?;
            while let Some(row) = rows.next().map_err(failed)? {
                for column in 0..columns {
                    let value: rusqlite::types::Value = row.get(column).map_err(failed)?;
                    text.push_str(&format!("{value:?}\t"));
                }
                text.push('\n');
            }
        }
        Ok(text)
    });
    text.await.expect("the store answers")
}

/// Every outbox event, oldest first.
pub async fn outbox_events(store: &SqliteStore) -> Vec<EventEnvelope> {
    let entries = store.events_after(0, usize::MAX).await.expect("the outbox reads");
    entries.into_iter().map(|entry| entry.event).collect()
}

/// Why an event alerted no one, when the notifier recorded that.
pub async fn not_sent_reason(store: &SqliteStore, event_id: &EventId) -> Option<String> {
    let event_id = event_id.to_string();
    let reason = store.run(move |conn| {
        conn.query_row(
            "SELECT reason FROM alert_ledger WHERE event_id = ?1 AND channel = ?2 AND state = ?3",
            [event_id.as_str(), AlertState::NO_CHANNEL, AlertState::NotSent.as_str()],
            |row| row.get(0),
        )
        .optional()
        .map_err(failed)
    });
    reason.await.expect("the store answers")
}

/// Every command sent to vehicles, in the order sent: its name and, for a speed cap, the cap.
pub async fn commands_sent(store: &SqliteStore) -> Vec<(String, Option<i64>)> {
    let rows = store.run(|conn| {
        conn.prepare("SELECT json_extract(item, '$.command.command'), json_extract(item, '$.command.kph') FROM commands ORDER BY rowid")
            .and_then(|mut rows| rows.query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?.collect())
            .map_err(failed)
    });
    rows.await.expect("the store answers")
}
