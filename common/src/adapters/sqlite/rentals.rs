//! `RentalStore` on SQLite: a rent and a return each load, call the rule and write in one transaction.

use super::fleet::{load_board, save_board};
use super::idempotency::claim_answer;
use super::licences::load_licence;
use super::outbox::append_event;
use super::passes::{load_pass, save_pass};
use super::store::{SqliteStore, exec, load, to_json};
use crate::adapters::Begins;
use crate::domain::error::RuleViolation;
use crate::domain::ids::{CustomerId, KickboardId, RentalId};
use crate::domain::kickboard::Kickboard;
use crate::domain::licence::ensure_may_ride;
use crate::domain::pass::Pass;
use crate::domain::rental::{self, Rental, RideRules};
use crate::ports::{
    Answering, CommandedRides, PortResult, RentRequest, RentalPage, RentalPosition, RentalStore, ReturnRequest,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{Connection, params};

pub(super) fn load_rental(tx: &Connection, rental_id: &RentalId) -> PortResult<Option<Rental>> {
    load(tx, "SELECT item FROM rentals WHERE rental_id = ?1", rental_id.as_str())
}

pub(super) fn save_rental(tx: &Connection, rental: &Rental) -> PortResult<()> {
    exec(
        tx,
        "INSERT INTO rentals (rental_id, customer_id, rider_sk, item) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (rental_id) DO UPDATE SET item = excluded.item",
        params![
            rental.rental_id.as_str(),
            rental.customer_id.as_str(),
            RentalPosition::of(rental).as_str(),
            to_json(rental)?
        ],
    )?;
    Ok(())
}

fn take_board(tx: &Connection, request: RentRequest, begins: Begins) -> PortResult<Rental> {
    // A rider who may not ride is told so first, whatever else stands in the way.
    if request.licence_since.is_some() {
        ensure_may_ride(load_licence(tx, &request.customer)?.as_ref(), request.licence_since)?;
    }
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
    let rental = begins.rental(started.rental);
    save_pass(tx, &started.pass)?;
    save_board(tx, &started.board)?;
    save_rental(tx, &rental)?;
    if begins == Begins::Now {
        claim_answer(tx, request.answer.map(|answer| answer.answer_for(&rental)).as_ref())?;
        append_event(tx, &started.event)?;
    }
    Ok(rental)
}

/// A rental waiting for its unlock, with its pass and board.
fn load_held(tx: &Connection, rental_id: &RentalId) -> PortResult<(Rental, Pass, Kickboard)> {
    let rental = load_rental(tx, rental_id)?.ok_or(RuleViolation::HoldReleased)?;
    let pass = load_pass(tx, &rental.pass_id)?.ok_or(RuleViolation::Inconsistent("a rental's pass is missing"))?;
    let board =
        load_board(tx, &rental.kickboard_id)?.ok_or(RuleViolation::Inconsistent("a rental's board is missing"))?;
    Ok((rental, pass, board))
}

#[async_trait]
impl CommandedRides for SqliteStore {
    async fn hold_rental(&self, request: RentRequest, held_until: DateTime<Utc>) -> PortResult<Rental> {
        self.write(move |tx| take_board(tx, request, Begins::OnUnlock { held_until })).await
    }

    async fn confirm_unlock(
        &self,
        rental_id: &RentalId,
        at: DateTime<Utc>,
        answer: Option<Answering<Rental>>,
    ) -> PortResult<Rental> {
        let rental_id = rental_id.clone();
        self.write(move |tx| {
            let (rental, _, board) = load_held(tx, &rental_id)?;
            let (rental, event) = rental.unlocked(at)?;
            claim_answer(tx, answer.map(|answer| answer.answer_for(&rental)).as_ref())?;
            save_rental(tx, &rental)?;
            if board.unlock_misses > 0 {
                save_board(tx, &Kickboard { unlock_misses: 0, revision: board.revision + 1, ..board })?;
            }
            append_event(tx, &event)?;
            Ok(rental)
        })
        .await
    }

    async fn undo_rental(&self, rental_id: &RentalId, now: DateTime<Utc>) -> PortResult<()> {
        let rental_id = rental_id.clone();
        self.write(move |tx| {
            let (rental, pass, board) = load_held(tx, &rental_id)?;
            let undone = rental::undo_rental(&rental, &pass, &board, now)?;
            exec(tx, "DELETE FROM rentals WHERE rental_id = ?1", params![rental_id.as_str()])?;
            save_pass(tx, &undone.pass)?;
            save_board(tx, &undone.board)?;
            append_event(tx, &undone.event)?;
            if let Some(not_responding) = &undone.not_responding {
                append_event(tx, not_responding)?;
            }
            Ok(())
        })
        .await
    }

    async fn lock_unconfirmed(
        &self,
        kickboard_id: &KickboardId,
        rental_id: &RentalId,
        now: DateTime<Utc>,
    ) -> PortResult<()> {
        let (kickboard_id, rental_id) = (kickboard_id.clone(), rental_id.clone());
        self.write(move |tx| {
            let board = load_board(tx, &kickboard_id)?.ok_or(RuleViolation::KickboardNotFound)?;
            if let Some((board, event)) = board.lock_unconfirmed(&rental_id, now) {
                save_board(tx, &board)?;
                append_event(tx, &event)?;
            }
            Ok(())
        })
        .await
    }
}

#[async_trait]
impl RentalStore for SqliteStore {
    async fn start_rental(&self, request: RentRequest) -> PortResult<Rental> {
        self.write(move |tx| take_board(tx, request, Begins::Now)).await
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

    async fn rentals_of(
        &self,
        customer: &CustomerId,
        after: Option<&RentalPosition>,
        limit: usize,
    ) -> PortResult<RentalPage> {
        let (customer, after) = (customer.clone(), after.cloned());
        self.run(move |conn| {
            // One more than asked: whether it exists says whether another page follows.
            let items: Vec<String> = conn
                .prepare_cached(
                    "SELECT item FROM rentals WHERE customer_id = ?1 AND (?2 IS NULL OR rider_sk < ?2)
                     ORDER BY rider_sk DESC LIMIT ?3",
                )?
                .query_map(
                    params![customer.as_str(), after.as_ref().map(RentalPosition::as_str), limit as i64 + 1],
                    |row| row.get(0),
                )?
                .collect::<Result<_, _>>()?;
            let rentals = items.iter().map(|item| serde_json::from_str(item)).collect::<Result<Vec<Rental>, _>>()?;
            Ok(RentalPage::of_read(rentals, limit, false))
        })
        .await
    }
}
