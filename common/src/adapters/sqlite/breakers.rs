//! `BreakerStore` on SQLite: the shared breaker state and its call counts.

use super::store::{SqliteStore, exec, to_json, unavailable};
use crate::domain::breaker::{BreakerState, WindowCounts};
use crate::ports::{BreakerStore, PortResult, Versioned};
use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};

/// How long a breaker's call counts are kept: far longer than any window.
const BREAKER_COUNTS_KEPT_MS: i64 = 3_600_000;

#[async_trait]
impl BreakerStore for SqliteStore {
    async fn load_breaker(&self, name: &str) -> PortResult<Versioned<BreakerState>> {
        let name = name.to_owned();
        self.run(move |conn| {
            let row: Option<(i64, String)> = conn
                .prepare_cached("SELECT version, item FROM breakers WHERE name = ?1")?
                .query_row([name], |row| Ok((row.get(0)?, row.get(1)?)))
                .optional()?;
            match row {
                None => Ok(Versioned { value: BreakerState::default(), version: 0 }),
                Some((version, item)) => Ok(Versioned {
                    value: serde_json::from_str(&item)?,
                    version: u64::try_from(version).map_err(unavailable)?,
                }),
            }
        })
        .await
    }

    async fn save_breaker(&self, name: &str, state: &BreakerState, expected: u64) -> PortResult<bool> {
        let (name, item) = (name.to_owned(), to_json(state)?);
        let expected = i64::try_from(expected).map_err(unavailable)?;
        self.write(move |tx| {
            let changed = if expected == 0 {
                exec(
                    tx,
                    "INSERT INTO breakers (name, version, item) VALUES (?1, 1, ?2) ON CONFLICT (name) DO NOTHING",
                    params![name, item],
                )?
            } else {
                exec(
                    tx,
                    "UPDATE breakers SET version = version + 1, item = ?2 WHERE name = ?1 AND version = ?3",
                    params![name, item, expected],
                )?
            };
            Ok(changed == 1)
        })
        .await
    }

    async fn count_call(&self, name: &str, bucket_ms: i64, failed: bool) -> PortResult<()> {
        let name = name.to_owned();
        self.write(move |tx| {
            exec(
                tx,
                "INSERT INTO breaker_counts (name, bucket_ms, calls, failures) VALUES (?1, ?2, 1, ?3)
                 ON CONFLICT (name, bucket_ms) DO UPDATE SET
                     calls = calls + 1, failures = failures + excluded.failures",
                params![name, bucket_ms, i64::from(failed)],
            )?;
            // Buckets an hour old are far outside any window.
            exec(
                tx,
                "DELETE FROM breaker_counts WHERE name = ?1 AND bucket_ms < ?2",
                params![name, bucket_ms - BREAKER_COUNTS_KEPT_MS],
            )?;
            Ok(())
        })
        .await
    }

    async fn count_window(&self, name: &str, buckets: &[i64]) -> PortResult<WindowCounts> {
        let (name, buckets) = (name.to_owned(), serde_json::to_string(buckets)?);
        self.run(move |conn| {
            let (calls, failures): (i64, i64) = conn
                .prepare_cached(
                    "SELECT COALESCE(SUM(calls), 0), COALESCE(SUM(failures), 0) FROM breaker_counts
                     WHERE name = ?1 AND bucket_ms IN (SELECT value FROM json_each(?2))",
                )?
                .query_row(params![name, buckets], |row| Ok((row.get(0)?, row.get(1)?)))?;
            let count = |value: i64| u64::try_from(value).map_err(unavailable);
            Ok(WindowCounts { calls: count(calls)?, failures: count(failures)? })
        })
        .await
    }
}
