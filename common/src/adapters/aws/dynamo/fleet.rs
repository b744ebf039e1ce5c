//! `FleetStore` on DynamoDB: boards read, changed by their rule and written back on the
//! condition that they are still at the revision read; the `available` index's queries and scans.

use super::client::{DynamoStore, from_item, n, names, s, to_item, unavailable, values};
use super::pages::all_pages;
use super::transact::CONFLICT_ATTEMPTS;
use crate::adapters::aws::items::attr::PK;
use crate::adapters::aws::items::{
    AVAILABLE_INDEX, BOARD_SK, BoardItem, Item, RIDING_INDEX, attr, board_key, riding_pks, stored,
};
use crate::adapters::aws::{applied, sdk_error};
use crate::domain::error::RuleViolation;
use crate::domain::events::EventEnvelope;
use crate::domain::geo::Area;
use crate::domain::ids::KickboardId;
use crate::domain::kickboard::{Kickboard, KickboardStatus, LEGACY_REVISION, ServiceStatus};
use crate::domain::vehicle::{BatteryRules, Telemetry};
use crate::domain::zones::ZoneMap;
use crate::invocation;
use crate::ports::{FleetStore, PortError, PortResult, ReportOutcome, RideWatch};
use async_trait::async_trait;
use aws_sdk_dynamodb::types::{TransactWriteItem, Update};
use chrono::{DateTime, Utc};
use std::sync::Arc;

/// Segments the public feed's scan of the parked boards is read in, side by side.
const PARKED_SCAN_SEGMENTS: i32 = 4;

/// A board changed by a rule, and the event the change writes, if any.
type BoardChange = (Kickboard, Vec<EventEnvelope>);

impl DynamoStore {
    /// A board as stored (the raw item, to write only what changes) and as the domain reads it.
    pub(super) async fn board(&self, kickboard_id: &KickboardId) -> PortResult<Option<(Item, Kickboard)>> {
        let output = self
            .client
            .get_item()
            .table_name(&self.tables.state)
            .set_key(Some(board_key(kickboard_id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(sdk_error)?;
        let Some(item) = output.item else { return Ok(None) };
        let board = from_item::<BoardItem>(item.clone())?.board;
        Ok(Some((item, board)))
    }

    /// Every board not retired: the vehicles the local server simulates. A scan of the table,
    /// for the local server's start only; nothing a request runs reads the whole fleet.
    pub async fn kickboards_in_service(&self) -> PortResult<Vec<KickboardId>> {
        let scan = self
            .client
            .scan()
            .table_name(&self.tables.state)
            .filter_expression("#sk = :board AND #status <> :retired")
            .expression_attribute_names("#sk", attr::SK)
            .expression_attribute_names("#status", attr::STATUS)
            .expression_attribute_values(":board", s(BOARD_SK))
            .expression_attribute_values(":retired", stored(KickboardStatus::Retired));
        all_pages(scan).await?.into_iter().map(|item| Ok(from_item::<BoardItem>(item)?.board.kickboard_id)).collect()
    }

    /// The update from the `stored` board item to `board`, setting only the attributes that
    /// differ (a report that leaves a board in its place rewrites no index key), on the
    /// condition that the board is still at the revision it was read at.
    pub(super) fn board_change(
        &self,
        stored: &Item,
        board: &Kickboard,
        seen_revision: u64,
    ) -> PortResult<TransactWriteItem> {
        let wanted = to_item(&BoardItem::from(board))?;
        let mut names = names([("#revision", attr::REVISION)]);
        let mut values = values([(":seenRevision", n(seen_revision))]);
        let (mut set, mut remove) = (Vec::new(), Vec::new());
        for (index, (name, value)) in wanted.iter().enumerate() {
            if stored.get(name) != Some(value) {
                names.insert(format!("#a{index}"), name.clone());
                values.insert(format!(":v{index}"), value.clone());
                set.push(format!("#a{index} = :v{index}"));
            }
        }
        for (index, name) in stored.keys().filter(|name| !wanted.contains_key(*name)).enumerate() {
            names.insert(format!("#r{index}"), name.clone());
            remove.push(format!("#r{index}"));
        }
        let mut expression = format!("SET {}", set.join(", "));
        if !remove.is_empty() {
            expression.push_str(&format!(" REMOVE {}", remove.join(", ")));
        }
        // Boards stored before revisions were counted have none, and read as the first.
        let condition = if seen_revision == LEGACY_REVISION {
            format!("attribute_exists({PK}) AND (#revision = :seenRevision OR attribute_not_exists(#revision))")
        } else {
            format!("attribute_exists({PK}) AND #revision = :seenRevision")
        };
        let update = Update::builder()
            .table_name(&self.tables.state)
            .set_key(Some(board_key(&board.kickboard_id)))
            .condition_expression(condition)
            .update_expression(expression)
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .build()
            .map_err(unavailable)?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    /// Reads a board, applies `rule` to it and writes what it changed (with its event) if the
    /// board did not change meanwhile; read again and retried when it did. Answers the board as
    /// it now stands, and whether the rule changed it.
    pub(super) async fn change_board(
        &self,
        kickboard_id: &KickboardId,
        rule: impl Fn(&Kickboard) -> PortResult<Option<BoardChange>> + Send,
    ) -> PortResult<(Kickboard, bool)> {
        let mut attempt = 1;
        loop {
            let (stored, board) = self.board(kickboard_id).await?.ok_or(RuleViolation::KickboardNotFound)?;
            let Some((changed, events)) = rule(&board)? else { return Ok((board, false)) };
            let change = self.board_change(&stored, &changed, board.revision)?;
            let written = match events.as_slice() {
                // Without an event a plain update does, at half a transaction's write cost.
                [] => {
                    let update = change.update.ok_or_else(|| unavailable("a board change is an update"))?;
                    let request = self
                        .client
                        .update_item()
                        .table_name(update.table_name)
                        .set_key(Some(update.key))
                        .update_expression(update.update_expression)
                        .set_condition_expression(update.condition_expression)
                        .set_expression_attribute_names(update.expression_attribute_names)
                        .set_expression_attribute_values(update.expression_attribute_values);
                    applied(request.send().await)?
                }
                events => {
                    let mut items = vec![change];
                    for event in events {
                        items.push(self.put_outbox(event)?);
                    }
                    self.transact(items).await?.is_ok()
                }
            };
            if written {
                return Ok((changed, true));
            }
            if attempt == CONFLICT_ATTEMPTS {
                return Err(PortError::Transient(format!("board {kickboard_id} kept changing")));
            }
            attempt += 1;
        }
    }
}

#[async_trait]
impl RideWatch for DynamoStore {
    async fn rented_kickboards(&self) -> PortResult<Vec<Kickboard>> {
        // The sparse index's shards side by side, then the boards a hundred keys at a time.
        let mut shards = tokio::task::JoinSet::new();
        for shard in riding_pks() {
            let request = self
                .client
                .query()
                .table_name(&self.tables.state)
                .index_name(RIDING_INDEX)
                .key_condition_expression("#shard = :shard")
                .expression_attribute_names("#shard", attr::RIDING_PK)
                .expression_attribute_values(":shard", s(shard));
            shards.spawn(invocation::carried(all_pages(request)));
        }
        let mut keys = Vec::new();
        while let Some(found) = shards.join_next().await {
            for item in found.map_err(unavailable)?? {
                keys.push(item.into_iter().filter(|(name, _)| name == attr::PK || name == attr::SK).collect::<Item>());
            }
        }
        let mut boards = Vec::with_capacity(keys.len());
        for item in self.batch_get(&self.tables.state, &keys, None, false).await? {
            let board = from_item::<BoardItem>(item)?.board;
            // The index is eventually consistent: a board returned meanwhile is dropped.
            if board.rental_id().is_some() {
                boards.push(board);
            }
        }
        Ok(boards)
    }

    async fn alert_silent_ride(&self, kickboard_id: &KickboardId, now: DateTime<Utc>) -> PortResult<bool> {
        let silent = |board: &Kickboard| Ok(board.silent_while_rented(now).map(|(board, event)| (board, vec![event])));
        Ok(self.change_board(kickboard_id, silent).await?.1)
    }
}

#[async_trait]
impl FleetStore for DynamoStore {
    async fn register_kickboard(&self, board: &Kickboard, event: &EventEnvelope) -> PortResult<()> {
        let items = vec![
            self.put(
                &self.tables.state,
                to_item(&BoardItem::from(board))?,
                Some(&format!("attribute_not_exists({PK})")),
            )?,
            self.put_outbox(event)?,
        ];
        match self.transact(items).await? {
            Ok(()) => Ok(()),
            Err(_) => Err(RuleViolation::KickboardIdTaken.into()),
        }
    }

    async fn retire_kickboard(&self, kickboard_id: &KickboardId, now: DateTime<Utc>) -> PortResult<Kickboard> {
        let (board, _) = self
            .change_board(kickboard_id, |board| {
                let (retired, event) = board.retire(now)?;
                Ok(Some((retired, vec![event])))
            })
            .await?;
        Ok(board)
    }

    async fn report_telemetry(
        &self,
        kickboard_id: &KickboardId,
        telemetry: &Telemetry,
        rules: &BatteryRules,
        zones: &Arc<ZoneMap>,
    ) -> PortResult<ReportOutcome> {
        // The board as read by the attempt that wrote (or found nothing to write).
        let previous = std::sync::Mutex::new(None);
        let (board, applied) = self
            .change_board(kickboard_id, |board| {
                *previous.lock().expect("not poisoned") = Some(board.location);
                let reported = board.report(telemetry, rules, zones)?;
                Ok(reported.map(|reported| (reported.board.clone(), reported.events().cloned().collect())))
            })
            .await?;
        let previous_location = previous.into_inner().expect("not poisoned").unwrap_or(board.location);
        Ok(ReportOutcome { board, applied, previous_location })
    }

    async fn set_service(
        &self,
        kickboard_id: &KickboardId,
        target: ServiceStatus,
        now: DateTime<Utc>,
    ) -> PortResult<Kickboard> {
        let (board, _) = self
            .change_board(kickboard_id, |board| {
                Ok(board.set_service(target, now)?.map(|(board, event)| (board, vec![event])))
            })
            .await?;
        Ok(board)
    }

    async fn find_kickboard(&self, kickboard_id: &KickboardId) -> PortResult<Option<Kickboard>> {
        Ok(self.board(kickboard_id).await?.map(|(_, board)| board))
    }

    async fn parked_kickboards(&self) -> PortResult<Vec<Kickboard>> {
        // The sparse index holds exactly the parked boards; its segments are read side by side.
        let mut segments = tokio::task::JoinSet::new();
        for segment in 0..PARKED_SCAN_SEGMENTS {
            let scan = self
                .client
                .scan()
                .table_name(&self.tables.state)
                .index_name(AVAILABLE_INDEX)
                .segment(segment)
                .total_segments(PARKED_SCAN_SEGMENTS);
            segments.spawn(invocation::carried(all_pages(scan)));
        }
        let mut boards = Vec::new();
        while let Some(found) = segments.join_next().await {
            for item in found.map_err(unavailable)?? {
                boards.push(from_item::<BoardItem>(item)?.board);
            }
        }
        Ok(boards)
    }

    async fn available_kickboards(
        &self,
        area: Option<Area>,
        rules: &BatteryRules,
        limit: usize,
    ) -> PortResult<Vec<Kickboard>> {
        let Some(area) = area else {
            // No place given: any boards, read across the index's partitions rather than
            // from one of them.
            let limit = i32::try_from(limit).unwrap_or(i32::MAX);
            let scan = self.client.scan().table_name(&self.tables.state).index_name(AVAILABLE_INDEX).limit(limit);
            let output = scan.send().await.map_err(sdk_error)?;
            return output
                .items
                .unwrap_or_default()
                .into_iter()
                .map(|item| Ok(from_item::<BoardItem>(item)?.board))
                .filter(|board| board.as_ref().map_or(true, |board: &Kickboard| board.is_listed(rules)))
                .collect();
        };
        let mut cells = tokio::task::JoinSet::new();
        for cell in area.cells() {
            let request = self
                .client
                .query()
                .table_name(&self.tables.state)
                .index_name(AVAILABLE_INDEX)
                .key_condition_expression("#cell = :cell")
                .expression_attribute_names("#cell", attr::AVAILABLE_PK)
                .expression_attribute_values(":cell", s(cell));
            cells.spawn(invocation::carried(all_pages(request)));
        }
        let mut boards = Vec::new();
        while let Some(found) = cells.join_next().await {
            for item in found.map_err(unavailable)?? {
                let board = from_item::<BoardItem>(item)?.board;
                if area.contains(&board.location) && board.is_listed(rules) {
                    boards.push(board);
                }
            }
        }
        boards.sort_by(|a, b| area.centre.distance_m(&a.location).total_cmp(&area.centre.distance_m(&b.location)));
        boards.truncate(limit);
        Ok(boards)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::aws::Tables;
    use crate::domain::geo::{Coordinates, geohash};
    use crate::domain::kickboard::Model;
    use crate::domain::vehicle::{BatteryPct, default_vehicle_type_id};
    use aws_sdk_dynamodb::Client;

    fn store() -> DynamoStore {
        let config = aws_sdk_dynamodb::Config::builder().behavior_version_latest().build();
        DynamoStore::new(Client::from_conf(config), Tables { state: "state".into(), views: "views".into() })
    }

    /// The attributes an update sets and removes.
    fn changed(update: &TransactWriteItem) -> (Vec<String>, Vec<String>) {
        let update = update.update.as_ref().unwrap();
        let names = update.expression_attribute_names.as_ref().unwrap();
        let expression = &update.update_expression;
        let (set, remove) = expression.split_once(" REMOVE ").unwrap_or((expression, ""));
        let named = |part: &str, prefix: &str| -> Vec<String> {
            let mut found: Vec<String> = names
                .iter()
                .filter(|(placeholder, _)| placeholder.starts_with(prefix) && part.contains(placeholder.as_str()))
                .map(|(_, name)| name.clone())
                .collect();
            found.sort();
            found
        };
        (named(set, "#a"), named(remove, "#r"))
    }

    fn report(board: &Kickboard, lat: f64, lon: f64, battery: u8, second: i64) -> Kickboard {
        let at = board.last_reported_at() + chrono::Duration::seconds(second);
        let telemetry =
            Telemetry::new(Coordinates::new(lat, lon).unwrap(), BatteryPct::new(battery).unwrap(), Some(at), at);
        board.report(&telemetry.unwrap(), &BatteryRules::default(), &ZoneMap::default()).unwrap().unwrap().board
    }

    #[test]
    fn a_report_that_leaves_a_board_in_its_place_rewrites_no_index_key() {
        let (lat, lon) = (37.566_500, 126.978_000);
        let model = Model::try_from("Ninebot".to_owned()).unwrap();
        let id = KickboardId::try_from("kb-1").unwrap();
        let place = Coordinates::new(lat, lon).unwrap();
        let (board, _) = Kickboard::register(id, model, default_vehicle_type_id(), place, Utc::now());
        let stored = to_item(&BoardItem::from(&board)).unwrap();

        let battery_only = report(&board, lat, lon, 80, 30);
        let (set, remove) = changed(&store().board_change(&stored, &battery_only, board.revision).unwrap());
        assert_eq!(set, [attr::BATTERY_PCT, attr::LAST_REPORTED_AT, attr::REVISION], "battery, time and revision only");
        assert!(remove.is_empty());

        // Half a metre, inside the same 5 m geohash, written when the stored report is old
        // enough to be refreshed: the position, not the index keys.
        let nudged = Coordinates::new(lat + 0.000_004, lon).unwrap();
        assert_eq!(geohash(&nudged, 9), geohash(&place, 9));
        let moved = report(&board, nudged.lat(), nudged.lon(), 100, 150);
        let (set, _) = changed(&store().board_change(&stored, &moved, board.revision).unwrap());
        assert_eq!(set, [attr::LAST_REPORTED_AT, attr::LAT, attr::REVISION]);

        // Across the city: its new cell and sort key, for the index to move it.
        let across = report(&board, 37.5172, 127.0473, 100, 30);
        let (set, _) = changed(&store().board_change(&stored, &across, board.revision).unwrap());
        for key in [attr::AVAILABLE_PK, attr::AVAILABLE_SK, attr::PARKED_CELL, attr::PARKED_SK, attr::LON] {
            assert!(set.contains(&key.to_owned()), "{key} in {set:?}");
        }
    }
}
