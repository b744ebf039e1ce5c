//! `CrewLog`, `DayLedger` and `CapMarks` on SQLite: what the operators' console reads, and which
//! caps the crew was told are over.

use super::outbox::append_event;
use super::store::{SqliteStore, exec, to_json, unavailable};
use crate::domain::alerts::CrewAlert;
use crate::domain::events::EventEnvelope;
use crate::domain::ids::EventId;
use crate::domain::operations::DayFigures;
use crate::ports::{CapMarks, CrewLog, DayLedger, PortResult};
use async_trait::async_trait;
use chrono::{DateTime, Days, NaiveDate, Utc};
use rusqlite::{OptionalExtension, params};

/// How long an event's mark that it was counted is kept: longer than any redelivery.
const COUNTED_MARK_DAYS: u64 = 3;

#[async_trait]
impl CrewLog for SqliteStore {
    async fn log_crew_alert(&self, alert: &CrewAlert) -> PortResult<()> {
        let (alert_id, occurred_ms, item) =
            (alert.alert_id.to_string(), alert.occurred_at.timestamp_millis(), to_json(alert)?);
        self.write(move |tx| {
            exec(
                tx,
                "INSERT INTO crew_alerts (alert_id, occurred_ms, item) VALUES (?1, ?2, ?3)
                 ON CONFLICT (alert_id) DO NOTHING",
                params![alert_id, occurred_ms, item],
            )?;
            Ok(())
        })
        .await
    }

    async fn crew_alerts(
        &self,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
        limit: usize,
    ) -> PortResult<Vec<CrewAlert>> {
        let (since_ms, until_ms) = (since.timestamp_millis(), until.timestamp_millis());
        let limit = i64::try_from(limit).map_err(unavailable)?;
        self.run(move |conn| {
            let items: Vec<String> = conn
                .prepare_cached(
                    "SELECT item FROM crew_alerts WHERE occurred_ms BETWEEN ?1 AND ?2
                     ORDER BY occurred_ms DESC, alert_id DESC LIMIT ?3",
                )?
                .query_map(params![since_ms, until_ms, limit], |row| row.get(0))?
                .collect::<Result<_, _>>()?;
            items.iter().map(|item| Ok(serde_json::from_str(item)?)).collect()
        })
        .await
    }
}

#[async_trait]
impl DayLedger for SqliteStore {
    async fn count_day(&self, event_id: &EventId, day: NaiveDate, figures: &DayFigures) -> PortResult<bool> {
        let (event_id, figures) = (event_id.to_string(), *figures);
        let forget_before = day.checked_sub_days(Days::new(COUNTED_MARK_DAYS)).unwrap_or(day).to_string();
        let day = day.to_string();
        self.write(move |tx| {
            let marked = exec(
                tx,
                "INSERT INTO day_counted_events (event_id, day) VALUES (?1, ?2) ON CONFLICT (event_id) DO NOTHING",
                params![event_id, day],
            )?;
            if marked == 0 {
                return Ok(false);
            }
            exec(
                tx,
                "INSERT INTO day_figures (day, rides_ended, minutes_billed, revenue_won) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (day) DO UPDATE SET
                     rides_ended = rides_ended + excluded.rides_ended,
                     minutes_billed = minutes_billed + excluded.minutes_billed,
                     revenue_won = revenue_won + excluded.revenue_won",
                params![
                    day,
                    i64::try_from(figures.rides_ended).map_err(unavailable)?,
                    i64::try_from(figures.minutes_billed).map_err(unavailable)?,
                    i64::try_from(figures.revenue_won).map_err(unavailable)?
                ],
            )?;
            exec(tx, "DELETE FROM day_counted_events WHERE day < ?1", params![forget_before])?;
            Ok(true)
        })
        .await
    }

    async fn day_figures(&self, day: NaiveDate) -> PortResult<DayFigures> {
        let day = day.to_string();
        self.run(move |conn| {
            let row: Option<(i64, i64, i64)> = conn
                .prepare_cached("SELECT rides_ended, minutes_billed, revenue_won FROM day_figures WHERE day = ?1")?
                .query_row([day], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
                .optional()?;
            let Some((rides_ended, minutes_billed, revenue_won)) = row else { return Ok(DayFigures::default()) };
            Ok(DayFigures {
                rides_ended: u64::try_from(rides_ended).map_err(unavailable)?,
                minutes_billed: u64::try_from(minutes_billed).map_err(unavailable)?,
                revenue_won: u64::try_from(revenue_won).map_err(unavailable)?,
            })
        })
        .await
    }
}

#[async_trait]
impl CapMarks for SqliteStore {
    async fn mark_cap(&self, key: &str, over: bool, event: Option<&EventEnvelope>) -> PortResult<bool> {
        let (key, event) = (key.to_owned(), event.cloned());
        self.write(move |tx| {
            let changed = exec(
                tx,
                "INSERT INTO cap_marks (cap, over) VALUES (?1, ?2)
                 ON CONFLICT (cap) DO UPDATE SET over = excluded.over WHERE cap_marks.over <> excluded.over",
                params![key, over],
            )? == 1;
            if let (true, Some(event)) = (changed, &event) {
                append_event(tx, event)?;
            }
            Ok(changed)
        })
        .await
    }
}
