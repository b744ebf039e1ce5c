//! The schema, and the migrations of databases made before it: run when a store opens.

use super::store::unavailable;
use crate::domain::contact::Channel;
use crate::domain::geo::{Coordinates, area_cell};
use crate::domain::rental::Rental;
use crate::ports::{AlertState, PortResult, RentalPosition};
use rusqlite::{Connection, params};

const SCHEMA: &str = include_str!("schema.sql");

/// Brings a database made by any earlier version to the schema this one reads.
pub(super) fn migrate(conn: &Connection) -> PortResult<()> {
    add_board_cells(conn)?;
    add_rental_riders(conn)?;
    conn.execute_batch(SCHEMA)?;
    move_sent_markers_to_the_ledger(conn)
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

/// Databases made before the ride history get each rental's customer and place in it.
fn add_rental_riders(conn: &Connection) -> PortResult<()> {
    let has_table = conn.prepare("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'rentals'")?.exists([])?;
    let has_rider = conn.prepare("SELECT 1 FROM pragma_table_info('rentals') WHERE name = 'rider_sk'")?.exists([])?;
    if !has_table || has_rider {
        return Ok(());
    }
    conn.execute_batch(
        "ALTER TABLE rentals ADD COLUMN customer_id TEXT NOT NULL DEFAULT '';
         ALTER TABLE rentals ADD COLUMN rider_sk TEXT NOT NULL DEFAULT '';",
    )?;
    let items: Vec<String> =
        conn.prepare("SELECT item FROM rentals")?.query_map([], |row| row.get(0))?.collect::<Result<_, _>>()?;
    for item in items {
        let rental: Rental = serde_json::from_str(&item)?;
        conn.execute(
            "UPDATE rentals SET customer_id = ?2, rider_sk = ?3 WHERE rental_id = ?1",
            params![rental.rental_id.as_str(), rental.customer_id.as_str(), RentalPosition::of(&rental).as_str()],
        )?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::sqlite::SqliteStore;
    use crate::adapters::sqlite::store::to_json;
    use crate::domain::geo::Area;
    use crate::domain::ids::KickboardId;
    use crate::domain::kickboard::Kickboard;
    use crate::domain::vehicle::BatteryRules;
    use crate::ports::FleetStore;
    use chrono::Utc;

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
