//! Checkpoints off the writer's thread. SQLite's own checkpoint runs inside the COMMIT that
//! crosses its threshold: the one thread every write queues behind copies the write-ahead log
//! into the database and waits for two `fsync`s, and every caller waits with it. Here a thread
//! of its own, with a connection of its own, copies the log while the writer goes on
//! appending (a PASSIVE checkpoint never blocks a writer). What is durable, and when, is what
//! it was: commits are in the log, the database file changes only in checkpoints.

use super::store::unavailable;
use crate::ports::PortResult;
use rusqlite::wal::CheckpointMode;
use rusqlite::{Connection, DEFAULT_NAME};
use std::ffi::c_int;
use std::path::Path;
use std::sync::mpsc;

/// Log pages after a commit at which the checkpointer is woken (SQLite's default threshold).
const WAKE_AT: c_int = 1000;
/// Log pages at which the writer checkpoints itself. Under steady writes the background
/// checkpoint never finds the log copied whole at the moment a write begins, which is when
/// SQLite starts the log over; the writer's own checkpoint, on a log already mostly copied,
/// lets it start over, so the log stays bounded (about 40 MB at most).
const WRITER_AT: c_int = 10_000;

/// Starts the checkpointer for the database file at `path` and hands the writer's
/// connection its commit hook. The checkpointer stops when the writer's connection closes.
pub(super) fn start(writer: &mut Connection, path: &Path) -> PortResult<()> {
    let checkpointer = Connection::open(path)?;
    // A connection finds the log when it first reads; until then it checkpoints nothing.
    let mode: String = checkpointer.query_row("PRAGMA journal_mode", [], |row| row.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(unavailable(format!("the database is in {mode} mode, not WAL")));
    }
    // A wake-up while one is pending is redundant: one more checkpoint covers both.
    let (wake, woken) = mpsc::sync_channel::<()>(1);
    std::thread::Builder::new()
        .name("sqlite-checkpoint".into())
        .spawn(move || {
            while woken.recv().is_ok() {
                if let Err(error) = checkpointer.wal_checkpoint_v2(DEFAULT_NAME, CheckpointMode::PASSIVE) {
                    tracing::warn!(%error, "background checkpoint failed; the next one retries");
                }
            }
        })
        .map_err(unavailable)?;
    // This hook replaces SQLite's automatic checkpoint (which is itself a commit hook).
    writer.wal_hook(Some(move |wal: &mut rusqlite::hooks::Wal, pages: c_int| {
        if pages >= WRITER_AT {
            // Busy when the checkpointer is at work: the next commit tries again. An error
            // here must not fail the COMMIT that called the hook (it has committed).
            if let Err(error) = wal.checkpoint_v2(CheckpointMode::PASSIVE) {
                tracing::debug!(%error, "writer checkpoint deferred");
            }
        } else if pages >= WAKE_AT {
            let _ = wake.try_send(());
        }
        Ok(())
    }))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::store::{DATABASE_FILE, SqliteStore, exec};
    use std::time::{Duration, Instant};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_log_is_copied_into_the_database_while_the_store_runs() {
        let dir = std::env::temp_dir().join(format!("kickboard-checkpoint-{}", uuid::Uuid::new_v4()));
        let store = SqliteStore::open(&dir).unwrap();
        // Each commit adds at least a page of its own: past the wake-up threshold.
        for i in 0..1500 {
            store
                .write(move |conn| {
                    exec(
                        conn,
                        "INSERT INTO contacts (customer_id, item) VALUES (?1, ?2)",
                        [format!("c-{i}"), "x".repeat(4000)],
                    )?;
                    Ok(())
                })
                .await
                .unwrap();
        }
        let database = dir.join(DATABASE_FILE);
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::fs::metadata(&database).unwrap().len() < 1000 * 4096 {
            assert!(Instant::now() < deadline, "the checkpointer copied the log into the database");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        drop(store);
        let reopened = SqliteStore::open(&dir).unwrap();
        let rows: i64 = reopened
            .run(|conn| Ok(conn.query_row("SELECT COUNT(*) FROM contacts", [], |row| row.get(0))?))
            .await
            .unwrap();
        assert_eq!(rows, 1500, "every commit survives a reopen");
        drop(reopened);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
