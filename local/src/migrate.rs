//! Migrations of stored items to the shapes this version writes, run by an operator once
//! after deploying it (`kickboard-ops migrate`); each is idempotent and safe while the
//! service runs, so it can be run again at any time.
//!
//! Boards from before the `available` index was keyed by area cell carry
//! `availablePk = AVAILABLE` (one partition for the whole fleet) and no `parkedCell`: each
//! gets its cell, and, while still listed under the old key, moves under its cell. A board
//! returned by this version before the migration reached it goes back under the old key
//! (it has no `parkedCell` to copy), and a second run moves it.
//!
//! Rentals from before the `rider` index (a customer's ride history) get their `riderPk` and
//! `riderSk`, so `GET /me/rentals` shows them too.

use aws_config::SdkConfig;
use aws_sdk_dynamodb::types::AttributeValue;
use kickboard_common::adapters::aws::items::{
    BOARD_SK, BoardItem, Item, LEGACY_AVAILABLE_PK, RENTAL_SK, attr, board_key, customer_pk, rental_key,
};
use kickboard_common::adapters::aws::{Tables, applied, sdk_error};
use kickboard_common::domain::geo::area_cell;
use kickboard_common::domain::rental::Rental;
use kickboard_common::ports::{PortError, PortResult, RentalPosition};

/// What a migration run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Migrated {
    /// Board items looked at.
    pub boards: usize,
    /// Boards that were given their `parkedCell`.
    pub cells_added: usize,
    /// Available boards moved from the one legacy partition to their cell's.
    pub moved: usize,
    /// Rentals that were given their place in the `rider` index.
    pub rentals_indexed: usize,
}

fn unreadable(error: impl std::fmt::Display) -> PortError {
    PortError::Unavailable(error.to_string())
}

/// Moves every board of `tables` to the cell-keyed `available` index and puts every rental
/// in the `rider` index: one scan of the boards and rentals.
pub async fn migrate(config: &SdkConfig, tables: &Tables) -> PortResult<Migrated> {
    let client = aws_sdk_dynamodb::Client::new(config);
    let mut done = Migrated::default();
    let mut start = None;
    loop {
        let page = client
            .scan()
            .table_name(&tables.state)
            .filter_expression("#sk IN (:board, :rental)")
            .expression_attribute_names("#sk", attr::SK)
            .expression_attribute_values(":board", AttributeValue::S(BOARD_SK.into()))
            .expression_attribute_values(":rental", AttributeValue::S(RENTAL_SK.into()))
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(sdk_error)?;
        for item in page.items.unwrap_or_default() {
            match item.get(attr::SK).and_then(|sk| sk.as_s().ok()).map(String::as_str) {
                Some(BOARD_SK) => board_by_cell(&client, tables, item, &mut done).await?,
                Some(RENTAL_SK) => rental_by_rider(&client, tables, item, &mut done).await?,
                _ => {}
            }
        }
        match page.last_evaluated_key {
            Some(key) if !key.is_empty() => start = Some(key),
            _ => return Ok(done),
        }
    }
}

/// A rental written before the `rider` index gets its keys there.
async fn rental_by_rider(
    client: &aws_sdk_dynamodb::Client,
    tables: &Tables,
    item: Item,
    done: &mut Migrated,
) -> PortResult<()> {
    if item.contains_key(attr::RIDER_PK) {
        return Ok(());
    }
    let rental: Rental = serde_dynamo::from_item(item).map_err(unreadable)?;
    let update = client
        .update_item()
        .table_name(&tables.state)
        .set_key(Some(rental_key(&rental.rental_id)))
        .update_expression("SET #riderPk = :riderPk, #riderSk = :riderSk")
        .condition_expression("attribute_not_exists(#riderPk)")
        .expression_attribute_names("#riderPk", attr::RIDER_PK)
        .expression_attribute_names("#riderSk", attr::RIDER_SK)
        .expression_attribute_values(":riderPk", AttributeValue::S(customer_pk(&rental.customer_id)))
        .expression_attribute_values(":riderSk", AttributeValue::S(RentalPosition::of(&rental).as_str().to_owned()));
    done.rentals_indexed += usize::from(applied(update.send().await)?);
    Ok(())
}

/// A board from before the cell-keyed `available` index gets its cell, and moves under it.
async fn board_by_cell(
    client: &aws_sdk_dynamodb::Client,
    tables: &Tables,
    item: Item,
    done: &mut Migrated,
) -> PortResult<()> {
    let board: BoardItem = serde_dynamo::from_item(item).map_err(unreadable)?;
    done.boards += 1;
    let cell = area_cell(&board.board.location);
    let key = board_key(&board.board.kickboard_id);
    if board.parked_cell.is_empty() {
        let update = client
            .update_item()
            .table_name(&tables.state)
            .set_key(Some(key.clone()))
            .update_expression("SET #parkedCell = :cell")
            .condition_expression("attribute_not_exists(#parkedCell)")
            .expression_attribute_names("#parkedCell", attr::PARKED_CELL)
            .expression_attribute_values(":cell", AttributeValue::S(cell.clone()));
        done.cells_added += usize::from(applied(update.send().await)?);
    }
    if board.available_pk.as_deref() == Some(LEGACY_AVAILABLE_PK) {
        // Only while still under the old key: a rent since the scan took it out.
        let update = client
            .update_item()
            .table_name(&tables.state)
            .set_key(Some(key))
            .update_expression("SET #availablePk = :cell")
            .condition_expression("#availablePk = :legacy")
            .expression_attribute_names("#availablePk", attr::AVAILABLE_PK)
            .expression_attribute_values(":cell", AttributeValue::S(cell))
            .expression_attribute_values(":legacy", AttributeValue::S(LEGACY_AVAILABLE_PK.into()));
        done.moved += usize::from(applied(update.send().await)?);
    }
    Ok(())
}
