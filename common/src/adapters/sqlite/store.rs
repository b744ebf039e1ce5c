//! The connection every port shares: one SQLite connection on a thread of its own, its
//! writes committed in groups, each in a savepoint; and the JSON rows the ports read and write.

use super::migrations::migrate;
use crate::ports::{PortError, PortResult};
use crate::trace;
use rusqlite::{Connection, OptionalExtension, Params};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::panic::{self, AssertUnwindSafe};
use std::path::Path;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, mpsc};
use tokio::sync::oneshot;

/// The database file inside the data dir.
pub const DATABASE_FILE: &str = "kickboard.sqlite3";

/// Work for the connection's thread.
enum Job {
    /// Runs on its own, outside any transaction.
    Read(Box<dyn FnOnce(&mut Connection) + Send>),
    /// Runs in a savepoint of the current write batch, and gives back how to answer its
    /// caller once the batch's fate is known.
    Write(Box<dyn FnOnce(&Connection) -> Settle + Send>),
}

/// Answers a write's caller with its outcome, given whether its batch committed.
type Settle = Box<dyn FnOnce(&Result<(), String>) + Send>;

/// The most writes committed together.
const MAX_BATCH: usize = 128;

/// One SQLite connection shared by every port, owned by a thread of its own that runs the
/// calls in order. SQLite runs one writer at a time anyway; a queue in front of one thread
/// keeps that order without threads fighting over a lock, off the async workers, and lets
/// writes that queued up together share one commit (group commit): each runs in a savepoint
/// of its own (a failed one rolls back alone) and every caller is answered after the commit.
#[derive(Clone)]
pub struct SqliteStore {
    jobs: mpsc::Sender<Job>,
    /// The zones' version as last committed. The store is the only writer of its file (one
    /// server owns a data dir), so every rent and return can read it here instead of queueing
    /// a read behind the writes.
    pub(super) zones_version: Arc<AtomicU64>,
}

pub(super) fn unavailable(error: impl std::fmt::Display) -> PortError {
    PortError::Unavailable(error.to_string())
}

impl From<rusqlite::Error> for PortError {
    fn from(error: rusqlite::Error) -> Self {
        unavailable(error)
    }
}

impl From<serde_json::Error> for PortError {
    fn from(error: serde_json::Error) -> Self {
        unavailable(error)
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the database in `data_dir`.
    pub fn open(data_dir: &Path) -> PortResult<Self> {
        std::fs::create_dir_all(data_dir).map_err(unavailable)?;
        let path = data_dir.join(DATABASE_FILE);
        let mut conn = Connection::open(&path)?;
        migrate(&conn)?;
        super::checkpoint::start(&mut conn, &path)?;
        Self::serve(conn)
    }

    /// A throwaway database that lives as long as this store.
    pub fn open_in_memory() -> PortResult<Self> {
        Self::init(Connection::open_in_memory()?)
    }

    pub(super) fn init(conn: Connection) -> PortResult<Self> {
        migrate(&conn)?;
        Self::serve(conn)
    }

    /// Hands the migrated connection to a thread of its own.
    fn serve(conn: Connection) -> PortResult<Self> {
        // Room for every statement the store runs, so none is parsed twice.
        conn.set_prepared_statement_cache_capacity(64);
        let zones_version = Arc::new(AtomicU64::new(super::zones::zones_version(&conn)?));
        let (jobs, queue) = mpsc::channel::<Job>();
        std::thread::Builder::new().name("sqlite".into()).spawn(move || serve(conn, &queue)).map_err(unavailable)?;
        Ok(Self { jobs, zones_version })
    }

    fn submit(&self, job: Job) -> PortResult<()> {
        self.jobs.send(job).map_err(|_| stopped())
    }

    /// Runs `work` on the connection's thread, outside any transaction. For what shares the
    /// database without being a port (the local server's own tables, test inspection).
    pub async fn run<T, F>(&self, work: F) -> PortResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> PortResult<T> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        self.submit(Job::Read(Box::new(move |conn| {
            let _ = reply.send(work(conn));
        })))?;
        answer.await.map_err(|_| stopped())?
    }

    /// Runs `work` as one atomic write: all of it lands, or none. Answers once committed.
    pub async fn write<T, F>(&self, work: F) -> PortResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> PortResult<T> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        // The events this write appends belong to the caller's trace.
        let trace = trace::current();
        self.submit(Job::Write(Box::new(move |conn| {
            let outcome = trace::on_this_thread(trace, || in_savepoint(conn, work));
            Box::new(move |committed: &Result<(), String>| {
                let answer = match (outcome, committed) {
                    (Ok(value), Ok(())) => Ok(value),
                    (Ok(_), Err(error)) => Err(unavailable(error)),
                    (Err(error), _) => Err(error),
                };
                let _ = reply.send(answer);
            })
        })))?;
        answer.await.map_err(|_| stopped())?
    }
}

fn stopped() -> PortError {
    unavailable("the sqlite thread stopped")
}

/// The connection's thread: runs jobs until the last handle to the store is dropped.
fn serve(mut conn: Connection, queue: &mpsc::Receiver<Job>) {
    let mut next = queue.recv().ok();
    while let Some(job) = next.take() {
        match job {
            Job::Read(read) => {
                // A panicking call fails alone: its caller sees the store unavailable.
                let _ = panic::catch_unwind(AssertUnwindSafe(|| read(&mut conn)));
            }
            Job::Write(first) => next = write_batch(&conn, first, queue),
        }
        if next.is_none() {
            next = queue.recv().ok();
        }
    }
}

/// Runs `first` and the writes queued behind it in one transaction, then answers them all.
/// Returns the job that ended the batch, if it was not a write.
fn write_batch(
    conn: &Connection,
    first: Box<dyn FnOnce(&Connection) -> Settle + Send>,
    queue: &mpsc::Receiver<Job>,
) -> Option<Job> {
    if let Err(error) = exec(conn, "BEGIN IMMEDIATE", []) {
        tracing::error!(%error, "cannot begin a write transaction");
        // Dropping the write tells its caller the store is unavailable.
        return None;
    }
    let (mut settles, mut write, mut after) = (Vec::new(), Some(first), None);
    while let Some(job) = write.take() {
        match panic::catch_unwind(AssertUnwindSafe(|| job(conn))) {
            Ok(settle) => settles.push(settle),
            // The panicking write fails alone: what it wrote is undone.
            Err(_) => {
                let _ = undo_savepoint(conn);
            }
        }
        if settles.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(Job::Write(queued)) => write = Some(queued),
                Ok(read) => after = Some(read),
                Err(_) => {}
            }
        }
    }
    let committed = exec(conn, "COMMIT", []).map(|_| ()).map_err(|error| {
        let _ = conn.execute_batch("ROLLBACK");
        error.to_string()
    });
    for settle in settles {
        settle(&committed);
    }
    after
}

/// Runs `work` in a savepoint of the open transaction: kept if it succeeds, undone if not.
fn in_savepoint<T>(conn: &Connection, work: impl FnOnce(&Connection) -> PortResult<T>) -> PortResult<T> {
    exec(conn, "SAVEPOINT write", [])?;
    let outcome = work(conn);
    match outcome {
        Ok(_) => exec(conn, "RELEASE write", []).map(|_| ())?,
        Err(_) => undo_savepoint(conn)?,
    }
    outcome
}

/// Undoes what the open `write` savepoint wrote and closes it.
fn undo_savepoint(conn: &Connection) -> rusqlite::Result<()> {
    exec(conn, "ROLLBACK TO write", [])?;
    exec(conn, "RELEASE write", []).map(|_| ())
}

/// Runs a statement through the connection's statement cache: parsed once, then reused.
pub fn exec(conn: &Connection, sql: &str, params: impl Params) -> rusqlite::Result<usize> {
    conn.prepare_cached(sql)?.execute(params)
}

pub(super) fn to_json(value: &impl Serialize) -> PortResult<String> {
    Ok(serde_json::to_string(value)?)
}

pub(super) fn load<T: DeserializeOwned>(tx: &Connection, sql: &str, key: &str) -> PortResult<Option<T>> {
    let item: Option<String> = tx.prepare_cached(sql)?.query_row([key], |row| row.get(0)).optional()?;
    item.map(|item| serde_json::from_str(&item)).transpose().map_err(PortError::from)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::error::RuleViolation;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn writes_committed_together_still_fail_alone() {
        let store = SqliteStore::open_in_memory().unwrap();
        let mut writes = tokio::task::JoinSet::new();
        for i in 0..300 {
            let store = store.clone();
            writes.spawn(async move {
                let outcome = store
                    .write(move |conn| {
                        exec(conn, "INSERT INTO contacts (customer_id, item) VALUES (?1, '{}')", [i.to_string()])?;
                        match i % 3 {
                            0 => Ok(i),
                            1 => Err(RuleViolation::PassNotFound.into()),
                            _ => panic!("a write that panics"),
                        }
                    })
                    .await;
                (i, outcome)
            });
        }
        for (i, outcome) in writes.join_all().await {
            match i % 3 {
                0 => assert_eq!(outcome.unwrap(), i),
                1 => assert!(matches!(outcome, Err(PortError::Rule(RuleViolation::PassNotFound)))),
                _ => assert!(matches!(outcome, Err(PortError::Unavailable(_)))),
            }
        }
        let kept: Vec<i64> = store
            .run(|conn| {
                let mut rows = conn.prepare("SELECT CAST(customer_id AS INTEGER) FROM contacts ORDER BY 1")?;
                Ok(rows.query_map([], |row| row.get(0))?.collect::<Result<_, _>>()?)
            })
            .await
            .unwrap();
        assert_eq!(kept, (0..300).filter(|i| i % 3 == 0).collect::<Vec<_>>(), "only the writes that succeeded");
    }
}
