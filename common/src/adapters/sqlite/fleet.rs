//! `FleetStore` on SQLite: boards, found near a place through their cell and position.

use super::outbox::append_event;
use super::store::{SqliteStore, exec, load, to_json, unavailable};
use crate::domain::error::RuleViolation;
use crate::domain::events::EventEnvelope;
use crate::domain::geo::{Area, area_cell};
use crate::domain::ids::KickboardId;
use crate::domain::kickboard::{Kickboard, KickboardStatus, ServiceStatus};
use crate::domain::vehicle::{BatteryRules, Telemetry};
use crate::domain::zones::ZoneMap;
use crate::ports::{FleetStore, PortResult, ReportOutcome, RideWatch};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{Connection, params};
use std::sync::Arc;

pub(super) fn load_board(tx: &Connection, kickboard_id: &KickboardId) -> PortResult<Option<Kickboard>> {
    load(tx, "SELECT item FROM kickboards WHERE kickboard_id = ?1", kickboard_id.as_str())
}

pub(super) fn save_board(tx: &Connection, board: &Kickboard) -> PortResult<()> {
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

fn status_name(status: KickboardStatus) -> &'static str {
    match status {
        KickboardStatus::Available => "AVAILABLE",
        KickboardStatus::Rented => "RENTED",
        KickboardStatus::Maintenance => "MAINTENANCE",
        KickboardStatus::Retired => "RETIRED",
    }
}

/// The SQL condition of a board charged to at least `?1` percent; boards stored before
/// batteries were reported count as full.
const CHARGED: &str = "COALESCE(json_extract(item, '$.batteryPct'), 100) >= ?1";

impl SqliteStore {
    /// The id of every board not retired: the vehicles the local server simulates.
    pub async fn kickboards_in_service(&self) -> PortResult<Vec<KickboardId>> {
        self.run(|conn| {
            let ids: Vec<String> = conn
                .prepare_cached("SELECT kickboard_id FROM kickboards WHERE status <> 'RETIRED'")?
                .query_map([], |row| row.get(0))?
                .collect::<Result<_, _>>()?;
            ids.into_iter().map(|id| KickboardId::try_from(id).map_err(unavailable)).collect()
        })
        .await
    }
}

#[async_trait]
impl RideWatch for SqliteStore {
    async fn rented_kickboards(&self) -> PortResult<Vec<Kickboard>> {
        self.run(|conn| {
            let items: Vec<String> = conn
                .prepare_cached("SELECT item FROM kickboards WHERE status = ?1")?
                .query_map([status_name(KickboardStatus::Rented)], |row| row.get(0))?
                .collect::<Result<_, _>>()?;
            Ok(items.iter().map(|item| serde_json::from_str::<Kickboard>(item)).collect::<Result<Vec<_>, _>>()?)
        })
        .await
    }

    async fn alert_silent_ride(&self, kickboard_id: &KickboardId, now: DateTime<Utc>) -> PortResult<bool> {
        let kickboard_id = kickboard_id.clone();
        self.write(move |tx| {
            let board = load_board(tx, &kickboard_id)?.ok_or(RuleViolation::KickboardNotFound)?;
            let Some((board, event)) = board.silent_while_rented(now) else { return Ok(false) };
            save_board(tx, &board)?;
            append_event(tx, &event)?;
            Ok(true)
        })
        .await
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
        zones: &Arc<ZoneMap>,
    ) -> PortResult<ReportOutcome> {
        let (kickboard_id, telemetry, rules, zones) = (kickboard_id.clone(), *telemetry, *rules, Arc::clone(zones));
        self.write(move |tx| {
            let board = load_board(tx, &kickboard_id)?.ok_or(RuleViolation::KickboardNotFound)?;
            let previous_location = board.location;
            match board.report(&telemetry, &rules, &zones)? {
                None => Ok(ReportOutcome { board, applied: false, previous_location }),
                Some(reported) => {
                    save_board(tx, &reported.board)?;
                    for event in reported.events() {
                        append_event(tx, event)?;
                    }
                    let board = reported.board;
                    Ok(ReportOutcome { board, applied: true, previous_location })
                }
            }
        })
        .await
    }

    async fn set_service(
        &self,
        kickboard_id: &KickboardId,
        target: ServiceStatus,
        now: DateTime<Utc>,
    ) -> PortResult<Kickboard> {
        let kickboard_id = kickboard_id.clone();
        self.write(move |tx| {
            let board = load_board(tx, &kickboard_id)?.ok_or(RuleViolation::KickboardNotFound)?;
            let Some((changed, event)) = board.set_service(target, now)? else {
                return Ok(board);
            };
            save_board(tx, &changed)?;
            append_event(tx, &event)?;
            Ok(changed)
        })
        .await
    }

    async fn find_kickboard(&self, kickboard_id: &KickboardId) -> PortResult<Option<Kickboard>> {
        let kickboard_id = kickboard_id.clone();
        self.run(move |conn| load_board(conn, &kickboard_id)).await
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
