//! SQLite implementations of the store ports. Rules come from `domain`; this file only
//! loads, calls the rule, and writes the outcome plus its outbox event in one transaction.

use crate::domain::breaker::{BreakerState, WindowCounts};
use crate::domain::contact::{Channel, Contact, PushEndpoint};
use crate::domain::error::RuleViolation;
use crate::domain::events::EventEnvelope;
use crate::domain::geo::{Area, Coordinates, area_cell};
use crate::domain::ids::{CustomerId, EventId, KickboardId, PassId, PaymentId, RentalId, ZoneId};
use crate::domain::kickboard::{Kickboard, KickboardStatus, Reported, ServiceStatus};
use crate::domain::pass::{Pass, PassBalance};
use crate::domain::rental::{self, Rental, RideRules};
use crate::domain::vehicle::{BatteryRules, Telemetry};
use crate::domain::zones::{Zone, ZoneRules, ZoneSet};
use crate::ports::{
    AlertClaim, AlertState, BalanceRecord, BalanceView, BreakerStore, ClaimOutcome, ContactStore, FleetStore,
    IdempotencyStore, IdempotentAnswer, KeyClaim, KeyClaimed, NotificationLedger, Outbox, OutboxEntry, PassStore,
    PortError, PortResult, RentRequest, RentalStore, ReportOutcome, ReturnRequest, Versioned, ZoneStore,
};
use crate::trace;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Params, params};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::panic::{self, AssertUnwindSafe};
use std::path::Path;
use std::sync::mpsc;
use tokio::sync::oneshot;

const SCHEMA: &str = include_str!("schema.sql");
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
}

fn unavailable(error: impl std::fmt::Display) -> PortError {
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
        Self::init(Connection::open(data_dir.join(DATABASE_FILE))?)
    }

    /// A throwaway database that lives as long as this store.
    pub fn open_in_memory() -> PortResult<Self> {
        Self::init(Connection::open_in_memory()?)
    }

    fn init(conn: Connection) -> PortResult<Self> {
        add_board_cells(&conn)?;
        conn.execute_batch(SCHEMA)?;
        move_sent_markers_to_the_ledger(&conn)?;
        // Room for every statement the store runs, so none is parsed twice.
        conn.set_prepared_statement_cache_capacity(64);
        let (jobs, queue) = mpsc::channel::<Job>();
        std::thread::Builder::new().name("sqlite".into()).spawn(move || serve(conn, &queue)).map_err(unavailable)?;
        Ok(Self { jobs })
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

    /// The position of the newest outbox event (0 when empty).
    pub async fn outbox_head(&self) -> PortResult<u64> {
        self.run(|conn| {
            let head: i64 = conn.query_row("SELECT COALESCE(MAX(position), 0) FROM outbox", [], |row| row.get(0))?;
            u64::try_from(head).map_err(unavailable)
        })
        .await
    }
}

/// Databases made before boards had a `cell` get the column, filled from each board's place.
fn add_board_cells(conn: &Connection) -> PortResult<()> {
    let has_table =
        conn.prepare("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'kickboards'")?.exists([])?;
    let has_cell = conn.prepare("SELECT 1 FROM pragma_table_info('kickboards') WHERE name = 'cell'")?.exists([])?;
    if !has_table || has_cell {
        return Ok(());
    }
    conn.execute_batch("ALTER TABLE kickboards ADD COLUMN cell TEXT NOT NULL DEFAULT ''")?;
    let boards: Vec<(String, f64, f64)> = conn
        .prepare("SELECT kickboard_id, lat, lon FROM kickboards")?
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?
        .collect::<Result<_, _>>()?;
    for (kickboard_id, lat, lon) in boards {
        let cell = area_cell(&Coordinates::new(lat, lon).map_err(unavailable)?);
        conn.execute("UPDATE kickboards SET cell = ?2 WHERE kickboard_id = ?1", params![kickboard_id, cell])?;
    }
    Ok(())
}

/// Databases from before the per-channel ledger kept one sent-marker per event: each becomes
/// a sent row for both channels (what the event alerted on then), or its not-sent reason.
fn move_sent_markers_to_the_ledger(conn: &Connection) -> PortResult<()> {
    let has_markers =
        conn.prepare("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'notifications'")?.exists([])?;
    if !has_markers {
        return Ok(());
    }
    conn.execute_batch(&format!(
        "INSERT OR IGNORE INTO alert_ledger (event_id, channel, customer_id, state, updated_at)
             SELECT event_id, channel, customer_id, '{sent}', claimed_at
             FROM notifications, (SELECT '{sms}' AS channel UNION ALL SELECT '{push}')
             WHERE outcome = 'sent';
         INSERT OR IGNORE INTO alert_ledger (event_id, channel, customer_id, state, reason, updated_at)
             SELECT event_id, '{none}', customer_id, '{not_sent}', reason, claimed_at
             FROM notifications WHERE outcome = 'not_sent';
         DROP TABLE notifications;",
        sent = AlertState::Sent.as_str(),
        not_sent = AlertState::NotSent.as_str(),
        none = AlertState::NO_CHANNEL,
        sms = Channel::Sms.name(),
        push = Channel::Push.name(),
    ))?;
    Ok(())
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

fn to_json(value: &impl Serialize) -> PortResult<String> {
    Ok(serde_json::to_string(value)?)
}

fn load<T: DeserializeOwned>(tx: &Connection, sql: &str, key: &str) -> PortResult<Option<T>> {
    let item: Option<String> = tx.prepare_cached(sql)?.query_row([key], |row| row.get(0)).optional()?;
    item.map(|item| serde_json::from_str(&item)).transpose().map_err(PortError::from)
}

fn load_pass(tx: &Connection, pass_id: &PassId) -> PortResult<Option<Pass>> {
    load(tx, "SELECT item FROM passes WHERE pass_id = ?1", pass_id.as_str())
}

fn load_board(tx: &Connection, kickboard_id: &KickboardId) -> PortResult<Option<Kickboard>> {
    load(tx, "SELECT item FROM kickboards WHERE kickboard_id = ?1", kickboard_id.as_str())
}

fn load_rental(tx: &Connection, rental_id: &RentalId) -> PortResult<Option<Rental>> {
    load(tx, "SELECT item FROM rentals WHERE rental_id = ?1", rental_id.as_str())
}

fn save_pass(tx: &Connection, pass: &Pass) -> PortResult<()> {
    exec(
        tx,
        "INSERT INTO passes (pass_id, customer_id, item) VALUES (?1, ?2, ?3)
         ON CONFLICT (pass_id) DO UPDATE SET item = excluded.item",
        params![pass.pass_id.as_str(), pass.customer_id.as_str(), to_json(pass)?],
    )?;
    Ok(())
}

fn save_board(tx: &Connection, board: &Kickboard) -> PortResult<()> {
    exec(
        tx,
        "INSERT INTO kickboards (kickboard_id, status, lat, lon, cell, item) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (kickboard_id) DO UPDATE SET
           status = excluded.status, lat = excluded.lat, lon = excluded.lon, cell = excluded.cell,
           item = excluded.item",
        params![
            board.kickboard_id.as_str(),
            status_name(board.status()),
            board.location.lat(),
            board.location.lon(),
            area_cell(&board.location),
            to_json(board)?
        ],
    )?;
    Ok(())
}

fn save_rental(tx: &Connection, rental: &Rental) -> PortResult<()> {
    exec(
        tx,
        "INSERT INTO rentals (rental_id, item) VALUES (?1, ?2)
         ON CONFLICT (rental_id) DO UPDATE SET item = excluded.item",
        params![rental.rental_id.as_str(), to_json(rental)?],
    )?;
    Ok(())
}

fn append_event(tx: &Connection, event: &EventEnvelope) -> PortResult<()> {
    let event = event.in_trace(trace::current());
    exec(
        tx,
        "INSERT INTO outbox (event_id, detail_type, item) VALUES (?1, ?2, ?3)",
        params![event.event_id.as_str(), event.detail_type(), to_json(&event)?],
    )?;
    Ok(())
}

/// Stores the answer of an idempotent request; refuses a scope already answered.
/// Stores a guarded write's answer over the key its request holds; if the request no longer
/// holds it (its claim expired and another took it), the write is refused as a duplicate.
fn claim_answer(tx: &Connection, answer: Option<&IdempotentAnswer>) -> PortResult<()> {
    let Some(answer) = answer else { return Ok(()) };
    match load_key(tx, &answer.scope)? {
        Some(KeyRow::InProgress(held)) if held.token == answer.token => {
            exec(tx, "UPDATE idempotency SET item = ?2 WHERE scope = ?1", params![answer.scope, to_json(answer)?])?;
            Ok(())
        }
        _ => Err(RuleViolation::DuplicateRequest.into()),
    }
}

fn status_name(status: KickboardStatus) -> &'static str {
    match status {
        KickboardStatus::Available => "AVAILABLE",
        KickboardStatus::Rented => "RENTED",
        KickboardStatus::Maintenance => "MAINTENANCE",
        KickboardStatus::Retired => "RETIRED",
    }
}

#[async_trait]
impl PassStore for SqliteStore {
    async fn record_purchase(
        &self,
        pass: &Pass,
        event: &EventEnvelope,
        answer: Option<&IdempotentAnswer>,
    ) -> PortResult<()> {
        let (pass, event, answer) = (pass.clone(), event.clone(), answer.cloned());
        self.write(move |tx| {
            claim_answer(tx, answer.as_ref())?;
            save_pass(tx, &pass)?;
            append_event(tx, &event)
        })
        .await
    }

    async fn find_pass(&self, pass_id: &PassId) -> PortResult<Option<Pass>> {
        let pass_id = pass_id.clone();
        self.run(move |conn| load_pass(conn, &pass_id)).await
    }

    async fn activate_pass(
        &self,
        pass: &Pass,
        payment_id: PaymentId,
        now: DateTime<Utc>,
        answer: Option<&IdempotentAnswer>,
    ) -> PortResult<Pass> {
        let (pass_id, answer) = (pass.pass_id.clone(), answer.cloned());
        self.write(move |tx| {
            claim_answer(tx, answer.as_ref())?;
            let stored = load_pass(tx, &pass_id)?.ok_or(RuleViolation::PassNotFound)?;
            let (paid, event) = stored.activate(payment_id, now)?;
            save_pass(tx, &paid)?;
            append_event(tx, &event)?;
            Ok(paid)
        })
        .await
    }
}

#[async_trait]
impl RentalStore for SqliteStore {
    async fn start_rental(&self, request: RentRequest) -> PortResult<Rental> {
        self.write(move |tx| {
            claim_answer(tx, request.answer.as_ref())?;
            let pass = load_pass(tx, &request.pass_id)?.ok_or(RuleViolation::PassNotFound)?;
            let board = load_board(tx, &request.kickboard_id)?;
            let started = rental::start_rental(
                &pass,
                board.as_ref(),
                &request.customer,
                request.rental_id,
                &RideRules { battery: &request.rules, zones: &request.zones },
                request.now,
            )?;
            save_pass(tx, &started.pass)?;
            save_board(tx, &started.board)?;
            save_rental(tx, &started.rental)?;
            append_event(tx, &started.event)?;
            Ok(started.rental)
        })
        .await
    }

    async fn finish_rental(&self, request: ReturnRequest) -> PortResult<Rental> {
        self.write(move |tx| {
            let rental = load_rental(tx, &request.rental_id)?
                .filter(|rental| rental.customer_id == request.customer)
                .ok_or(RuleViolation::RentalNotFound)?;
            let pass =
                load_pass(tx, &rental.pass_id)?.ok_or(RuleViolation::Inconsistent("a rental's pass is missing"))?;
            let board = load_board(tx, &rental.kickboard_id)?
                .ok_or(RuleViolation::Inconsistent("a rental's board is missing"))?;
            let finished = rental::finish_rental(
                &rental,
                &pass,
                &board,
                &request.customer,
                &request.report,
                &RideRules { battery: &request.rules, zones: &request.zones },
                request.now,
            )?;
            save_pass(tx, &finished.pass)?;
            save_board(tx, &finished.board)?;
            save_rental(tx, &finished.rental)?;
            append_event(tx, &finished.event)?;
            if let Some(battery_low) = &finished.battery_low {
                append_event(tx, battery_low)?;
            }
            Ok(finished.rental)
        })
        .await
    }

    async fn find_rental(&self, rental_id: &RentalId) -> PortResult<Option<Rental>> {
        let rental_id = rental_id.clone();
        self.run(move |conn| load_rental(conn, &rental_id)).await
    }
}

#[async_trait]
impl FleetStore for SqliteStore {
    async fn register_kickboard(&self, board: &Kickboard, event: &EventEnvelope) -> PortResult<()> {
        let (board, event) = (board.clone(), event.clone());
        self.write(move |tx| {
            if load_board(tx, &board.kickboard_id)?.is_some() {
                return Err(RuleViolation::KickboardIdTaken.into());
            }
            save_board(tx, &board)?;
            append_event(tx, &event)
        })
        .await
    }

    async fn retire_kickboard(&self, kickboard_id: &KickboardId, now: DateTime<Utc>) -> PortResult<Kickboard> {
        let kickboard_id = kickboard_id.clone();
        self.write(move |tx| {
            let board = load_board(tx, &kickboard_id)?.ok_or(RuleViolation::KickboardNotFound)?;
            let (retired, event) = board.retire(now)?;
            save_board(tx, &retired)?;
            append_event(tx, &event)?;
            Ok(retired)
        })
        .await
    }

    async fn available_kickboards(
        &self,
        area: Option<Area>,
        rules: &BatteryRules,
        limit: usize,
    ) -> PortResult<Vec<Kickboard>> {
        let min_battery = rules.min_to_rent.get();
        self.run(move |conn| {
            let limit = i64::try_from(limit).unwrap_or(i64::MAX);
            let items: Vec<String> = match area {
                None => conn
                    .prepare_cached(&format!(
                        "SELECT item FROM kickboards WHERE status = 'AVAILABLE' AND {CHARGED} ORDER BY kickboard_id
                         LIMIT ?2"
                    ))?
                    .query_map(params![min_battery, limit], |row| row.get(0))?
                    .collect::<Result<_, _>>()?,
                Some(area) => {
                    let cells = serde_json::to_string(&area.cells())?;
                    let bbox = area.bounding_box();
                    // A box across the antimeridian filters on latitude only.
                    let (min_lon, max_lon) = match (bbox.min_lon, bbox.max_lon) {
                        (min, max) if min < -180.0 || max > 180.0 => (-180.0, 180.0),
                        bounds => bounds,
                    };
                    // The index holds the position too, so boards of the cells that lie outside
                    // the search's box are passed over without reading their rows.
                    conn.prepare_cached(&format!(
                        "SELECT item FROM kickboards INDEXED BY kickboards_by_status_cell_position
                         WHERE status = 'AVAILABLE' AND cell IN (SELECT value FROM json_each(?2))
                           AND lat BETWEEN ?3 AND ?4 AND lon BETWEEN ?5 AND ?6 AND {CHARGED}"
                    ))?
                    .query_map(params![min_battery, cells, bbox.min_lat, bbox.max_lat, min_lon, max_lon], |row| {
                        row.get(0)
                    })?
                    .collect::<Result<_, _>>()?
                }
            };
            let mut boards =
                items.iter().map(|item| serde_json::from_str::<Kickboard>(item)).collect::<Result<Vec<_>, _>>()?;
            if let Some(area) = area {
                boards.retain(|board| area.contains(&board.location));
                boards.sort_by(|a, b| {
                    let (da, db) = (area.centre.distance_m(&a.location), area.centre.distance_m(&b.location));
                    da.total_cmp(&db)
                });
                boards.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
            }
            Ok(boards)
        })
        .await
    }

    async fn report_telemetry(
        &self,
        kickboard_id: &KickboardId,
        telemetry: &Telemetry,
        rules: &BatteryRules,
    ) -> PortResult<ReportOutcome> {
        let (kickboard_id, telemetry, rules) = (kickboard_id.clone(), *telemetry, *rules);
        self.write(move |tx| {
            let board = load_board(tx, &kickboard_id)?.ok_or(RuleViolation::KickboardNotFound)?;
            match board.report(&telemetry, &rules)? {
                None => Ok(ReportOutcome { board, applied: false }),
                Some(Reported { board, battery_low }) => {
                    save_board(tx, &board)?;
                    if let Some(event) = &battery_low {
                        append_event(tx, event)?;
                    }
                    Ok(ReportOutcome { board, applied: true })
                }
            }
        })
        .await
    }

    async fn set_service(&self, kickboard_id: &KickboardId, target: ServiceStatus) -> PortResult<Kickboard> {
        let kickboard_id = kickboard_id.clone();
        self.write(move |tx| {
            let board = load_board(tx, &kickboard_id)?.ok_or(RuleViolation::KickboardNotFound)?;
            let Some(changed) = board.set_service(target)? else {
                return Ok(board);
            };
            save_board(tx, &changed)?;
            Ok(changed)
        })
        .await
    }

    async fn parked_kickboards(&self) -> PortResult<Vec<Kickboard>> {
        self.run(|conn| {
            let items: Vec<String> = conn
                .prepare_cached("SELECT item FROM kickboards WHERE status IN ('AVAILABLE', 'MAINTENANCE')")?
                .query_map([], |row| row.get(0))?
                .collect::<Result<_, _>>()?;
            Ok(items.iter().map(|item| serde_json::from_str::<Kickboard>(item)).collect::<Result<Vec<_>, _>>()?)
        })
        .await
    }
}

/// Where `zone_settings` keeps the global rules and the zones' version.
const GLOBAL_RULES: &str = "global_rules";
const ZONES_VERSION: &str = "version";

/// Adds one to the zones' version, in the transaction of a zone write.
fn bump_zones_version(tx: &Connection) -> PortResult<()> {
    exec(
        tx,
        "INSERT INTO zone_settings (name, value) VALUES (?1, '1')
         ON CONFLICT (name) DO UPDATE SET value = CAST(value AS INTEGER) + 1",
        [ZONES_VERSION],
    )?;
    Ok(())
}

fn zones_version(conn: &Connection) -> PortResult<u64> {
    let version: Option<String> = conn
        .prepare_cached("SELECT value FROM zone_settings WHERE name = ?1")?
        .query_row([ZONES_VERSION], |row| row.get(0))
        .optional()?;
    Ok(version.and_then(|version| version.parse().ok()).unwrap_or(0))
}

#[async_trait]
impl ZoneStore for SqliteStore {
    async fn save_zone(&self, zone: &Zone, event: &EventEnvelope) -> PortResult<()> {
        let (zone, event) = (zone.clone(), event.clone());
        self.write(move |tx| {
            exec(
                tx,
                "INSERT INTO zones (zone_id, item) VALUES (?1, ?2)
                 ON CONFLICT (zone_id) DO UPDATE SET item = excluded.item",
                params![zone.zone_id.as_str(), to_json(&zone)?],
            )?;
            bump_zones_version(tx)?;
            append_event(tx, &event)
        })
        .await
    }

    async fn delete_zone(&self, zone_id: &ZoneId, event: &EventEnvelope) -> PortResult<()> {
        let (zone_id, event) = (zone_id.clone(), event.clone());
        self.write(move |tx| {
            if exec(tx, "DELETE FROM zones WHERE zone_id = ?1", [zone_id.as_str()])? == 0 {
                return Err(RuleViolation::ZoneNotFound.into());
            }
            bump_zones_version(tx)?;
            append_event(tx, &event)
        })
        .await
    }

    async fn save_global_rules(&self, rules: &ZoneRules, event: &EventEnvelope) -> PortResult<()> {
        let (rules, event) = (*rules, event.clone());
        self.write(move |tx| {
            exec(
                tx,
                "INSERT INTO zone_settings (name, value) VALUES (?1, ?2)
                 ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                params![GLOBAL_RULES, to_json(&rules)?],
            )?;
            bump_zones_version(tx)?;
            append_event(tx, &event)
        })
        .await
    }

    async fn zones_version(&self) -> PortResult<u64> {
        self.run(|conn| zones_version(conn)).await
    }

    async fn zone_set(&self) -> PortResult<ZoneSet> {
        self.run(|conn| {
            // One read transaction: the version, the rules and the zones as of one moment.
            let tx = conn.transaction()?;
            let version = zones_version(&tx)?;
            let global: Option<ZoneRules> = load(&tx, "SELECT value FROM zone_settings WHERE name = ?1", GLOBAL_RULES)?;
            let items: Vec<String> = tx
                .prepare_cached("SELECT item FROM zones")?
                .query_map([], |row| row.get(0))?
                .collect::<Result<_, _>>()?;
            let zones = items.iter().map(|item| serde_json::from_str(item)).collect::<Result<Vec<Zone>, _>>()?;
            Ok(ZoneSet { version, zones, global: global.unwrap_or_default() })
        })
        .await
    }
}

/// The SQL condition of a board charged to at least `?1` percent; boards stored before
/// batteries were reported count as full.
const CHARGED: &str = "COALESCE(json_extract(item, '$.batteryPct'), 100) >= ?1";

#[async_trait]
impl ContactStore for SqliteStore {
    async fn save_contact(&self, customer: &CustomerId, contact: &Contact) -> PortResult<()> {
        let (customer, item) = (customer.to_string(), to_json(contact)?);
        self.write(move |tx| {
            exec(
                tx,
                "INSERT INTO contacts (customer_id, item) VALUES (?1, ?2)
                 ON CONFLICT (customer_id) DO UPDATE SET item = excluded.item",
                params![customer, item],
            )?;
            Ok(())
        })
        .await
    }

    async fn find_contact(&self, customer: &CustomerId) -> PortResult<Option<Contact>> {
        let customer = customer.to_string();
        self.run(move |conn| load(conn, "SELECT item FROM contacts WHERE customer_id = ?1", &customer)).await
    }

    async fn mark_push_dead(
        &self,
        customer: &CustomerId,
        endpoint: &PushEndpoint,
        at: DateTime<Utc>,
    ) -> PortResult<bool> {
        let (customer, endpoint) = (customer.to_string(), endpoint.as_str().to_owned());
        let at = to_json(&at)?;
        self.write(move |tx| {
            let marked = exec(
                tx,
                "UPDATE contacts SET item = json_set(item, '$.push.deadSince', json(?3))
                 WHERE customer_id = ?1 AND json_extract(item, '$.push.endpointArn') = ?2",
                params![customer, endpoint, at],
            )?;
            Ok(marked == 1)
        })
        .await
    }
}

fn balance_record(customer_id: String, updated_at: String, item: String) -> PortResult<BalanceRecord> {
    Ok(BalanceRecord {
        customer_id: CustomerId::try_from(customer_id).map_err(unavailable)?,
        balance: serde_json::from_str::<PassBalance>(&item)?,
        updated_at: DateTime::parse_from_rfc3339(&updated_at).map_err(unavailable)?.with_timezone(&Utc),
    })
}

#[async_trait]
impl BalanceView for SqliteStore {
    async fn apply_balance(&self, record: &BalanceRecord) -> PortResult<bool> {
        let record = record.clone();
        self.write(move |tx| {
            let changed = exec(
                tx,
                "INSERT INTO balance_view (pass_id, customer_id, version, updated_at, item)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (pass_id) DO UPDATE SET
                   version = excluded.version, updated_at = excluded.updated_at, item = excluded.item
                 WHERE excluded.version > balance_view.version",
                params![
                    record.balance.pass_id.as_str(),
                    record.customer_id.as_str(),
                    i64::try_from(record.balance.version).map_err(unavailable)?,
                    record.updated_at.to_rfc3339(),
                    to_json(&record.balance)?
                ],
            )?;
            Ok(changed == 1)
        })
        .await
    }

    async fn find_balance(&self, pass_id: &PassId) -> PortResult<Option<BalanceRecord>> {
        let pass_id = pass_id.to_string();
        self.run(move |conn| {
            conn.prepare_cached("SELECT customer_id, updated_at, item FROM balance_view WHERE pass_id = ?1")?
                .query_row([pass_id], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
                .optional()?
                .map(|(customer, updated_at, item)| balance_record(customer, updated_at, item))
                .transpose()
        })
        .await
    }

    async fn balances_of(&self, customer: &CustomerId) -> PortResult<Vec<BalanceRecord>> {
        let customer = customer.to_string();
        self.run(move |conn| {
            let rows: Vec<(String, String, String)> = conn
                .prepare_cached(
                    "SELECT customer_id, updated_at, item FROM balance_view WHERE customer_id = ?1 ORDER BY pass_id",
                )?
                .query_map([customer], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?
                .collect::<Result<_, _>>()?;
            rows.into_iter().map(|(customer, updated_at, item)| balance_record(customer, updated_at, item)).collect()
        })
        .await
    }
}

#[async_trait]
impl NotificationLedger for SqliteStore {
    async fn claim(&self, claim: &AlertClaim) -> PortResult<ClaimOutcome> {
        let claim = claim.clone();
        self.write(move |tx| {
            let (event_id, channel) = (claim.event_id.as_str(), claim.channel.name());
            let claimed = exec(
                tx,
                "INSERT INTO alert_ledger (event_id, channel, customer_id, state, claim_token, lease_until_ms, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT (event_id, channel) DO UPDATE SET
                     claim_token = excluded.claim_token, lease_until_ms = excluded.lease_until_ms,
                     updated_at = excluded.updated_at
                 WHERE alert_ledger.state = ?4
                   AND (alert_ledger.lease_until_ms < ?8 OR alert_ledger.claim_token = excluded.claim_token)",
                params![
                    event_id,
                    channel,
                    claim.customer.as_str(),
                    AlertState::Claimed.as_str(),
                    claim.token,
                    claim.lease_until.timestamp_millis(),
                    claim.now.to_rfc3339(),
                    claim.now.timestamp_millis()
                ],
            )?;
            if claimed == 1 {
                return Ok(ClaimOutcome::Claimed);
            }
            let state: String = tx
                .prepare_cached("SELECT state FROM alert_ledger WHERE event_id = ?1 AND channel = ?2")?
                .query_row([event_id, channel], |row| row.get(0))?;
            Ok(if state == AlertState::Sent.as_str() { ClaimOutcome::AlreadySent } else { ClaimOutcome::InProgress })
        })
        .await
    }

    async fn mark_sent(&self, claim: &AlertClaim) -> PortResult<()> {
        let claim = claim.clone();
        self.write(move |tx| {
            exec(
                tx,
                "UPDATE alert_ledger SET state = ?4, updated_at = ?5
                 WHERE event_id = ?1 AND channel = ?2 AND claim_token = ?3",
                params![
                    claim.event_id.as_str(),
                    claim.channel.name(),
                    claim.token,
                    AlertState::Sent.as_str(),
                    claim.now.to_rfc3339()
                ],
            )?;
            Ok(())
        })
        .await
    }

    async fn release(&self, claim: &AlertClaim) -> PortResult<()> {
        let claim = claim.clone();
        self.write(move |tx| {
            exec(
                tx,
                "DELETE FROM alert_ledger WHERE event_id = ?1 AND channel = ?2 AND claim_token = ?3 AND state = ?4",
                params![claim.event_id.as_str(), claim.channel.name(), claim.token, AlertState::Claimed.as_str()],
            )?;
            Ok(())
        })
        .await
    }

    async fn record_not_sent(
        &self,
        event_id: &EventId,
        customer: &CustomerId,
        reason: &str,
        now: DateTime<Utc>,
    ) -> PortResult<()> {
        let (event_id, customer, reason) = (event_id.to_string(), customer.to_string(), reason.to_owned());
        self.write(move |tx| {
            exec(
                tx,
                "INSERT INTO alert_ledger (event_id, channel, customer_id, state, reason, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (event_id, channel) DO NOTHING",
                params![
                    event_id,
                    AlertState::NO_CHANNEL,
                    customer,
                    AlertState::NotSent.as_str(),
                    reason,
                    now.to_rfc3339()
                ],
            )?;
            Ok(())
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

/// How long a breaker's call counts are kept: far longer than any window.
const BREAKER_COUNTS_KEPT_MS: i64 = 3_600_000;

#[async_trait]
impl IdempotencyStore for SqliteStore {
    async fn claim_key(&self, claim: &KeyClaim) -> PortResult<KeyClaimed> {
        let claim = claim.clone();
        self.write(move |tx| {
            match load_key(tx, &claim.scope)? {
                Some(KeyRow::Answered(answer)) if answer.is_kept_at(claim.now) => {
                    return Ok(KeyClaimed::Answered(answer));
                }
                Some(KeyRow::InProgress(held)) if held.in_progress_until > claim.now && held.token != claim.token => {
                    return Ok(KeyClaimed::InProgress { until: held.in_progress_until });
                }
                _ => {}
            }
            let row = KeyRow::InProgress(HeldKeyRow {
                scope: claim.scope.clone(),
                request: claim.request.clone(),
                token: claim.token.clone(),
                in_progress_until: claim.until,
            });
            exec(
                tx,
                "INSERT INTO idempotency (scope, item) VALUES (?1, ?2)
                 ON CONFLICT (scope) DO UPDATE SET item = excluded.item",
                params![claim.scope, to_json(&row)?],
            )?;
            Ok(KeyClaimed::Claimed)
        })
        .await
    }

    async fn release_key(&self, claim: &KeyClaim) -> PortResult<()> {
        let claim = claim.clone();
        self.write(move |tx| {
            if matches!(load_key(tx, &claim.scope)?, Some(KeyRow::InProgress(held)) if held.token == claim.token) {
                exec(tx, "DELETE FROM idempotency WHERE scope = ?1", [&claim.scope])?;
            }
            Ok(())
        })
        .await
    }

    async fn find_answer(&self, scope: &str, now: DateTime<Utc>) -> PortResult<Option<IdempotentAnswer>> {
        let scope = scope.to_owned();
        self.run(move |conn| {
            Ok(match load_key(conn, &scope)? {
                Some(KeyRow::Answered(answer)) if answer.is_kept_at(now) => Some(answer),
                _ => None,
            })
        })
        .await
    }
}

/// An `Idempotency-Key`'s row: held by a request in progress, or answered.
#[derive(Debug, Serialize, serde::Deserialize)]
#[serde(untagged)]
enum KeyRow {
    Answered(IdempotentAnswer),
    InProgress(HeldKeyRow),
}

#[derive(Debug, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct HeldKeyRow {
    scope: String,
    request: String,
    token: String,
    in_progress_until: DateTime<Utc>,
}

fn load_key(conn: &Connection, scope: &str) -> PortResult<Option<KeyRow>> {
    load(conn, "SELECT item FROM idempotency WHERE scope = ?1", scope)
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[tokio::test]
    async fn a_database_from_before_board_cells_gets_them() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE kickboards (kickboard_id TEXT PRIMARY KEY, status TEXT NOT NULL, lat REAL NOT NULL,
             lon REAL NOT NULL, item TEXT NOT NULL) STRICT;",
        )
        .unwrap();
        let location = Coordinates::new(37.5665, 126.978).unwrap();
        let model = crate::domain::kickboard::Model::try_from("X".to_owned()).unwrap();
        let kind = crate::domain::vehicle::default_vehicle_type_id();
        let (board, _) = Kickboard::register(KickboardId::try_from("kb-1").unwrap(), model, kind, location, Utc::now());
        conn.execute(
            "INSERT INTO kickboards VALUES ('kb-1', 'AVAILABLE', ?1, ?2, ?3)",
            params![location.lat(), location.lon(), to_json(&board).unwrap()],
        )
        .unwrap();
        let store = SqliteStore::init(conn).unwrap();
        let near = Area::new(Coordinates::new(37.5666, 126.9781).unwrap(), 300).unwrap();
        let found = store.available_kickboards(Some(near), &BatteryRules::default(), 10).await.unwrap();
        assert_eq!(found.len(), 1, "the old board is found by its new cell");
    }
}
