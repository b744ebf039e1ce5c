//! `RentalStore` on DynamoDB: a rent is one transaction over pass, board, rental and event;
//! a return reads rental, pass and board and writes them back on the condition they did not move.

use super::client::{DynamoStore, from_item, n, names, s, to_item, unavailable, values};
use super::pages::Paginated;
use super::passes::pass_of;
use super::transact::{CONFLICT_ATTEMPTS, Reason, duplicate};
use crate::adapters::Begins;
use crate::adapters::aws::items::attr::PK;
use crate::adapters::aws::items::attr::{RIDER_PK, RIDER_SK};
use crate::adapters::aws::items::{
    BoardItem, LicenceItem, PassItem, RIDER_INDEX, RentalItem, attr, board_key, customer_pk, licence_key, parked_sk,
    pass_key, rental_key, riding_pk, stored,
};
use crate::adapters::aws::sdk_error;
use crate::domain::error::RuleViolation;
use crate::domain::ids::{CustomerId, KickboardId, RentalId};
use crate::domain::kickboard::{Kickboard, KickboardStatus};
use crate::domain::licence::ensure_may_ride;
use crate::domain::pass::{Pass, PassStatus};
use crate::domain::rental::{self, Rental, RentalStatus, RideRules};
use crate::ports::{
    Answering, CommandedRides, PortError, PortResult, RentRequest, RentalPage, RentalPosition, RentalStore,
    ReturnRequest,
};
use async_trait::async_trait;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Delete, Get, ReturnValuesOnConditionCheckFailure, TransactGetItem,
    TransactWriteItem, Update,
};
use chrono::{DateTime, Utc};
use std::collections::HashMap;

impl DynamoStore {
    /// One rent transaction: pass, board (still parked where it was read, when it was),
    /// rental, and when the ride begins now its event and answer. `Ok(None)` when only the
    /// board's place changed since it was read.
    async fn rent(
        &self,
        request: &RentRequest,
        parked: Option<&Kickboard>,
        begins: Begins,
    ) -> PortResult<Option<Rental>> {
        let RentRequest { customer, pass_id, kickboard_id, rental_id, now, answer, rules, .. } = request;
        let now = *now;
        let (rental, event) = Rental::open(
            rental_id.clone(),
            pass_id.clone(),
            kickboard_id.clone(),
            customer.clone(),
            parked.map(|board| board.location),
            now,
        );
        let rental = begins.rental(rental);
        // The pass rules of `Pass::ensure_rentable` and the board rule of
        // `Kickboard::ensure_rentable`, as write conditions: one round trip, nothing read first.
        let take_pass = Update::builder()
            .table_name(&self.tables.state)
            .set_key(Some(pass_key(pass_id)))
            .condition_expression(
                "#customer = :customer AND #status = :active AND #expires > :now \
                 AND #minutesLeft > :zero AND attribute_not_exists(#openRental)",
            )
            .update_expression("SET #openRental = :rental")
            .set_expression_attribute_names(Some(names([
                ("#customer", attr::CUSTOMER_ID),
                ("#status", attr::STATUS),
                ("#expires", attr::EXPIRES_AT_MS),
                ("#minutesLeft", attr::MINUTES_LEFT),
                ("#openRental", attr::OPEN_RENTAL_ID),
            ])))
            .set_expression_attribute_values(Some(values([
                (":customer", s(customer.as_str())),
                (":active", stored(PassStatus::Active)),
                (":now", n(now.timestamp_millis())),
                (":zero", n(0)),
                (":rental", s(rental_id.as_str())),
            ])))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .map_err(unavailable)?;
        let mut board_names = names([
            ("#status", attr::STATUS),
            ("#rental", attr::RENTAL_ID),
            ("#availablePk", attr::AVAILABLE_PK),
            ("#availableSk", attr::AVAILABLE_SK),
            ("#battery", attr::BATTERY_PCT),
            ("#revision", attr::REVISION),
            ("#ridingPk", attr::RIDING_PK),
            ("#ridingSk", attr::RIDING_SK),
            ("#rentedAt", attr::RENTED_AT),
            ("#parkedAt", attr::PARKED_AT),
            ("#movedAlerted", attr::MOVED_ALERTED),
            ("#silenceAlerted", attr::SILENCE_ALERTED),
            ("#rideDistance", attr::RIDE_DISTANCE_M),
            ("#rideTrack", attr::RIDE_TRACK),
        ]);
        let mut board_values = values([
            (":available", stored(KickboardStatus::Available)),
            (":rented", stored(KickboardStatus::Rented)),
            (":rental", s(rental_id.as_str())),
            (":minBattery", n(rules.min_to_rent.get())),
            (":one", n(1)),
            (":ridingPk", s(riding_pk(kickboard_id))),
            (":ridingSk", s(kickboard_id.as_str())),
            // As the board item writes it (`Kickboard::rented_at`).
            (":rentedAt", serde_dynamo::to_attribute_value(now).map_err(unavailable)?),
        ]);
        let mut condition =
            "#status = :available AND (attribute_not_exists(#battery) OR #battery >= :minBattery)".to_owned();
        if let Some(parked) = parked {
            condition.push_str(" AND #parkedSk = :parkedSk");
            board_names.insert("#parkedSk".into(), attr::PARKED_SK.into());
            board_values.insert(":parkedSk".into(), s(parked_sk(&parked.location, &parked.kickboard_id)));
        }
        let take_board = Update::builder()
            .table_name(&self.tables.state)
            .set_key(Some(board_key(kickboard_id)))
            .condition_expression(condition)
            .update_expression(
                // The board as `rental::start_rental` leaves it: in the riding index, no longer
                // parked, its parked-board and silence alerts over, no distance ridden nor track yet.
                "SET #status = :rented, #rental = :rental, #ridingPk = :ridingPk, #ridingSk = :ridingSk, \
                 #rentedAt = :rentedAt REMOVE #availablePk, #availableSk, #parkedAt, #movedAlerted, #silenceAlerted, \
                 #rideDistance, #rideTrack ADD #revision :one",
            )
            .set_expression_attribute_names(Some(board_names))
            .set_expression_attribute_values(Some(board_values))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .map_err(unavailable)?;
        let answer = answer.as_ref().filter(|_| begins == Begins::Now).map(|answer| answer.answer_for(&rental));
        let mut items = self.claim_answer(answer.as_ref())?;
        let first = items.len();
        items.extend([
            TransactWriteItem::builder().update(take_pass).build(),
            TransactWriteItem::builder().update(take_board).build(),
            self.put(
                &self.tables.state,
                to_item(&RentalItem::from(&rental))?,
                Some(&format!("attribute_not_exists({PK})")),
            )?,
        ]);
        if begins == Begins::Now {
            items.push(self.put_outbox(&event)?);
        }
        // The rider's licence, verified recently enough (`licence::ensure_may_ride`): checked
        // in the same write, not read first.
        let licence_at = items.len();
        if let Some(since) = request.licence_since {
            let check = ConditionCheck::builder()
                .table_name(&self.tables.state)
                .set_key(Some(licence_key(customer)))
                .condition_expression("#verifiedAtMs >= :since")
                .expression_attribute_names("#verifiedAtMs", attr::VERIFIED_AT_MS)
                .expression_attribute_values(":since", n(since.timestamp_millis()))
                .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
                .build()
                .map_err(unavailable)?;
            items.push(TransactWriteItem::builder().condition_check(check).build());
        }
        let reasons = match self.transact(items).await? {
            Ok(()) => return Ok(Some(rental)),
            Err(reasons) => reasons,
        };
        if let Some(duplicate) = duplicate(answer.as_ref(), &reasons) {
            return Err(duplicate);
        }
        // A rider who may not ride is told so first, whatever else stands in the way.
        if let Some(reason @ Reason::Failed(_)) = reasons.get(licence_at) {
            let seen: Option<LicenceItem> = self.seen(Some(reason), licence_key(customer)).await?;
            ensure_may_ride(seen.map(|item| item.licence).as_ref(), request.licence_since)?;
        }
        let reasons = &reasons[first..];
        // Explain the refusal with the same rules, on the items as the conditions saw them.
        if let Some(reason @ Reason::Failed(_)) = reasons.first() {
            let pass = pass_of(self.seen(Some(reason), pass_key(pass_id)).await?).ok_or(RuleViolation::PassNotFound)?;
            if &pass.customer_id != customer {
                return Err(RuleViolation::PassNotFound.into());
            }
            pass.ensure_rentable(now)?;
        }
        if let Some(reason @ Reason::Failed(_)) = reasons.get(1) {
            let board: Option<BoardItem> = self.seen(Some(reason), board_key(kickboard_id)).await?;
            board.ok_or(RuleViolation::KickboardNotFound)?.board.ensure_rentable(rules)?;
            if parked.is_some() {
                // Rentable, but no longer where it stood: the zones are asked again.
                return Ok(None);
            }
        }
        Err(RuleViolation::Inconsistent("a rent condition failed that the rules allow").into())
    }

    /// A rent: the board taken where the zones allow a ride to start, read again while it
    /// moves under the rent.
    async fn take_board(&self, request: RentRequest, begins: Begins) -> PortResult<Rental> {
        let mut attempt = 1;
        loop {
            // Where the board stands decides whether a ride may start there, and is where the
            // ride begins (its events and the city's trip say so): read it, and take it only
            // if it has not moved since (a board that cannot be rented anyway is left to the
            // transaction to explain).
            let board = self.board(&request.kickboard_id).await?;
            let parked = match &board {
                Some((_, board)) if board.ensure_rentable(&request.rules).is_ok() => {
                    if let Err(refused) = request.zones.ensure_start_allowed(&board.location) {
                        // The pass's refusals come first, as the rules order them.
                        let pass: Option<PassItem> = self.get(&self.tables.state, pass_key(&request.pass_id)).await?;
                        let pass = pass_of(pass).filter(|pass| pass.customer_id == request.customer);
                        pass.ok_or(RuleViolation::PassNotFound)?.ensure_rentable(request.now)?;
                        return Err(refused.into());
                    }
                    Some(board)
                }
                _ => None,
            };
            match self.rent(&request, parked, begins).await? {
                Some(rental) => return Ok(rental),
                None if attempt < CONFLICT_ATTEMPTS => attempt += 1,
                None => return Err(PortError::Transient("the board kept moving during a rent".into())),
            }
        }
    }

    /// A rental and its pass, read together and consistently.
    async fn rental_and_pass(&self, rental_id: &RentalId) -> PortResult<(Option<Rental>, Option<Pass>)> {
        let pass_id = rental_id.pass_id().ok_or(RuleViolation::RentalNotFound)?;
        let gets = [rental_key(rental_id), pass_key(&pass_id)]
            .into_iter()
            .map(|key| {
                Get::builder()
                    .table_name(&self.tables.state)
                    .set_key(Some(key))
                    .build()
                    .map(|get| TransactGetItem::builder().get(get).build())
                    .map_err(unavailable)
            })
            .collect::<PortResult<Vec<_>>>()?;
        let output = self.client.transact_get_items().set_transact_items(Some(gets)).send().await.map_err(sdk_error)?;
        let mut found = output.responses.unwrap_or_default().into_iter().map(|response| response.item);
        let rental: Option<RentalItem> = found.next().flatten().map(from_item).transpose()?;
        let pass: Option<PassItem> = found.next().flatten().map(from_item).transpose()?;
        Ok((rental.map(|item| item.rental), pass_of(pass)))
    }

    /// The put of `rental` over the same rental still waiting for its unlock.
    fn over_held(&self, rental: &Rental) -> PortResult<TransactWriteItem> {
        let mut put = self.put(&self.tables.state, to_item(&RentalItem::from(rental))?, Some(HELD_CONDITION))?;
        if let Some(put) = put.put.as_mut() {
            put.expression_attribute_names = Some(held_names());
            put.expression_attribute_values = Some(held_values());
        }
        Ok(put)
    }

    /// The put of `pass` over the pass as read at `version`, still holding `rental_id`.
    fn pass_as_read(&self, pass: &Pass, version: u64, rental_id: &RentalId) -> PortResult<TransactWriteItem> {
        let mut put = self.put(
            &self.tables.state,
            to_item(&PassItem::from(pass))?,
            Some("#version = :version AND #openRental = :rental"),
        )?;
        if let Some(put) = put.put.as_mut() {
            put.expression_attribute_names =
                Some(names([("#version", attr::VERSION), ("#openRental", attr::OPEN_RENTAL_ID)]));
            put.expression_attribute_values =
                Some(values([(":version", n(version)), (":rental", s(rental_id.as_str()))]));
        }
        Ok(put)
    }
}

/// A rental still waiting for its unlock (`Rental::is_held`): open, and held.
const HELD_CONDITION: &str = "attribute_exists(#pk) AND #status = :open AND attribute_exists(#heldUntil)";

fn held_names() -> HashMap<String, String> {
    names([("#pk", PK), ("#status", attr::STATUS), ("#heldUntil", attr::HELD_UNTIL)])
}

fn held_values() -> HashMap<String, AttributeValue> {
    values([(":open", stored(RentalStatus::Open))])
}

#[async_trait]
impl CommandedRides for DynamoStore {
    async fn hold_rental(&self, request: RentRequest, held_until: DateTime<Utc>) -> PortResult<Rental> {
        self.take_board(request, Begins::OnUnlock { held_until }).await
    }

    async fn confirm_unlock(
        &self,
        rental_id: &RentalId,
        at: DateTime<Utc>,
        answer: Option<Answering<Rental>>,
    ) -> PortResult<Rental> {
        let rental = self.find_rental(rental_id).await?.ok_or(RuleViolation::HoldReleased)?;
        let (rental, event) = rental.unlocked(at)?;
        let answer = answer.map(|answer| answer.answer_for(&rental));
        let mut attempt = 1;
        loop {
            let (stored_board, board) = self
                .board(&rental.kickboard_id)
                .await?
                .ok_or(RuleViolation::Inconsistent("a rental's board is missing"))?;
            let mut items = self.claim_answer(answer.as_ref())?;
            items.extend([self.over_held(&rental)?, self.put_outbox(&event)?]);
            // The board's missed unlocks are forgotten; only a board that missed one is written.
            if board.unlock_misses > 0 {
                let forgiven = Kickboard { unlock_misses: 0, revision: board.revision + 1, ..board.clone() };
                items.push(self.board_change(&stored_board, &forgiven, board.revision)?);
            }
            let reasons = match self.transact(items).await? {
                Ok(()) => return Ok(rental),
                Err(reasons) => reasons,
            };
            if let Some(duplicate) = duplicate(answer.as_ref(), &reasons) {
                return Err(duplicate);
            }
            let reasons = &reasons[usize::from(answer.is_some())..];
            if matches!(reasons.first(), Some(Reason::Failed(_))) {
                return Err(RuleViolation::HoldReleased.into());
            }
            // The board reported meanwhile: read it again.
            if attempt == CONFLICT_ATTEMPTS {
                return Err(PortError::Transient("the board kept changing during an unlock".into()));
            }
            attempt += 1;
        }
    }

    async fn undo_rental(&self, rental_id: &RentalId, now: DateTime<Utc>) -> PortResult<()> {
        let mut attempt = 1;
        loop {
            let (rental, pass) = self.rental_and_pass(rental_id).await?;
            let rental = rental.ok_or(RuleViolation::HoldReleased)?;
            let pass = pass.ok_or(RuleViolation::Inconsistent("a rental's pass is missing"))?;
            let (stored_board, board) = self
                .board(&rental.kickboard_id)
                .await?
                .ok_or(RuleViolation::Inconsistent("a rental's board is missing"))?;
            let undone = match rental::undo_rental(&rental, &pass, &board, now) {
                Ok(undone) => undone,
                // Read apart, the rental, its pass and its board disagree while another
                // request undoes the hold and takes the board: read them again.
                Err(RuleViolation::Inconsistent(_)) if attempt < CONFLICT_ATTEMPTS => {
                    attempt += 1;
                    continue;
                }
                Err(violation) => return Err(violation.into()),
            };
            let delete = Delete::builder()
                .table_name(&self.tables.state)
                .set_key(Some(rental_key(rental_id)))
                .condition_expression(HELD_CONDITION)
                .set_expression_attribute_names(Some(held_names()))
                .set_expression_attribute_values(Some(held_values()))
                .build()
                .map_err(unavailable)?;
            let mut items = vec![
                TransactWriteItem::builder().delete(delete).build(),
                self.pass_as_read(&undone.pass, pass.version, rental_id)?,
                self.board_change(&stored_board, &undone.board, board.revision)?,
                self.put_outbox(&undone.event)?,
            ];
            if let Some(not_responding) = &undone.not_responding {
                items.push(self.put_outbox(not_responding)?);
            }
            match self.transact(items).await? {
                Ok(()) => return Ok(()),
                Err(reasons) if matches!(reasons.first(), Some(Reason::Failed(_))) => {
                    return Err(RuleViolation::HoldReleased.into());
                }
                // The board reported while the undo was read: read it again.
                Err(_) if attempt < CONFLICT_ATTEMPTS => attempt += 1,
                Err(_) => return Err(PortError::Transient("the board kept changing during an undo".into())),
            }
        }
    }

    async fn lock_unconfirmed(
        &self,
        kickboard_id: &KickboardId,
        rental_id: &RentalId,
        now: DateTime<Utc>,
    ) -> PortResult<()> {
        self.change_board(kickboard_id, |board| {
            Ok(board.lock_unconfirmed(rental_id, now).map(|(board, event)| (board, vec![event])))
        })
        .await?;
        Ok(())
    }
}

#[async_trait]
impl RentalStore for DynamoStore {
    async fn start_rental(&self, request: RentRequest) -> PortResult<Rental> {
        self.take_board(request, Begins::Now).await
    }

    async fn finish_rental(&self, request: ReturnRequest) -> PortResult<Rental> {
        let ReturnRequest { customer, rental_id, report, rules, zones, now } = request;
        let mut attempt = 1;
        loop {
            // Round trip 1: the rental and its pass, read together and consistently.
            let (rental, pass) = self.rental_and_pass(&rental_id).await?;
            let rental = rental.filter(|rental| rental.customer_id == customer);
            let rental = rental.ok_or(RuleViolation::RentalNotFound)?;
            let pass = pass.ok_or(RuleViolation::Inconsistent("a rental's pass is missing"))?;
            // Round trip 2: the board, which the return frees where the ride ended.
            let (stored_board, board) = self
                .board(&rental.kickboard_id)
                .await?
                .ok_or(RuleViolation::Inconsistent("a rental's board is missing"))?;
            let finished = rental::finish_rental(
                &rental,
                &pass,
                &board,
                &customer,
                &report,
                &RideRules { battery: &rules, zones: &zones },
                now,
            )?;

            // Round trip 3: pass, board, rental and events in one transaction, each as read.
            let settle_pass = self.pass_as_read(&finished.pass, pass.version, &rental_id)?;
            let mut close_rental =
                self.put(&self.tables.state, to_item(&RentalItem::from(&finished.rental))?, Some("#status = :open"))?;
            if let Some(put) = close_rental.put.as_mut() {
                put.expression_attribute_names = Some(names([("#status", attr::STATUS)]));
                put.expression_attribute_values = Some(values([(":open", stored(RentalStatus::Open))]));
            }
            let mut items = vec![
                settle_pass,
                self.board_change(&stored_board, &finished.board, board.revision)?,
                close_rental,
                self.put_outbox(&finished.event)?,
            ];
            if let Some(battery_low) = &finished.battery_low {
                items.push(self.put_outbox(battery_low)?);
            }
            match self.transact(items).await? {
                Ok(()) => return Ok(finished.rental),
                Err(reasons) if matches!(reasons.get(2), Some(Reason::Failed(_))) => {
                    return Err(RuleViolation::RentalAlreadyReturned.into());
                }
                // The vehicle reported while the return was read: read it again.
                Err(reasons) if matches!(reasons.get(1), Some(Reason::Failed(_))) && attempt < CONFLICT_ATTEMPTS => {
                    attempt += 1;
                }
                Err(reasons) if matches!(reasons.get(1), Some(Reason::Failed(_))) => {
                    return Err(PortError::Transient("the board kept changing during a return".into()));
                }
                Err(_) => return Err(RuleViolation::Inconsistent("an open rental's pass moved on").into()),
            }
        }
    }

    async fn find_rental(&self, rental_id: &RentalId) -> PortResult<Option<Rental>> {
        let item: Option<RentalItem> = self.get(&self.tables.state, rental_key(rental_id)).await?;
        Ok(item.map(|item| item.rental))
    }

    async fn rentals_of(
        &self,
        customer: &CustomerId,
        after: Option<&RentalPosition>,
        limit: usize,
    ) -> PortResult<RentalPage> {
        let mut condition = format!("{RIDER_PK} = :rider");
        let mut request = self
            .client
            .query()
            .table_name(&self.tables.state)
            .index_name(RIDER_INDEX)
            .scan_index_forward(false)
            // One more than asked: whether it exists says whether another page follows.
            .limit(i32::try_from(limit + 1).map_err(unavailable)?)
            .expression_attribute_values(":rider", s(customer_pk(customer)));
        if let Some(after) = after {
            condition.push_str(&format!(" AND {RIDER_SK} < :after"));
            request = request.expression_attribute_values(":after", s(after.as_str().to_owned()));
        }
        let (items, last_key) = request.key_condition_expression(condition).page(None).await?;
        let rentals = items
            .into_iter()
            .map(|item| from_item::<RentalItem>(item).map(|item| item.rental))
            .collect::<PortResult<Vec<_>>>()?;
        // The read may also stop at its 1 MB page before the extra one.
        Ok(RentalPage::of_read(rentals, limit, last_key.is_some_and(|key| !key.is_empty())))
    }
}
