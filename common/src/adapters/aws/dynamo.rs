//! The DynamoDB store: every write is one `TransactWriteItems` carrying the state change, its
//! conditions and its outbox event. A cancelled transaction is explained by the domain rules
//! run on the items as they were, so callers get the same errors as from the SQLite store.

use super::items::attr::{
    CALLS, CLAIM_TOKEN, CUSTOMER_PK, FAILURES, IN_PROGRESS_UNTIL_MS, LEASE_UNTIL_MS, PK, UPDATED_AT, VERSION,
};
use super::items::{
    AVAILABLE_INDEX, AlertLedgerItem, BREAKER_COUNTER_SHARDS, BY_CUSTOMER_INDEX, BalanceItem, BoardItem,
    BreakerCountItem, BreakerItem, ContactItem, GlobalRulesItem, HeldKeyItem, IdempotencyItem, Item, KeyItem,
    OutboxItem, PassItem, RentalItem, ZONES_PK, ZoneItem, ZonesVersionItem, alert_ledger_key, attr, balance_key,
    board_key, breaker_count_key, breaker_count_ttl, breaker_key, contact_key, customer_pk, idempotency_key, parked_sk,
    pass_key, rental_key, stored, zone_key, zone_set, zones_version_key,
};
use super::{applied, is_transient_code, sdk_error};
use crate::domain::breaker::{BreakerState, WindowCounts};
use crate::domain::contact::{Contact, PushEndpoint};
use crate::domain::error::RuleViolation;
use crate::domain::events::EventEnvelope;
use crate::domain::geo::Area;
use crate::domain::ids::{CustomerId, EventId, KickboardId, PassId, PaymentId, RentalId, ZoneId};
use crate::domain::kickboard::{Kickboard, KickboardStatus, LEGACY_REVISION, Reported, ServiceStatus};
use crate::domain::pass::{Pass, PassStatus};
use crate::domain::rental::{self, Rental, RentalStatus, RideRules};
use crate::domain::vehicle::{BatteryRules, Telemetry};
use crate::domain::zones::{Zone, ZoneRules, ZoneSet};
use crate::invocation;
use crate::ports::{
    AlertClaim, AlertState, BalanceRecord, BalanceView, BreakerStore, ClaimOutcome, ContactStore, FleetStore,
    IdempotencyStore, IdempotentAnswer, KeyClaim, KeyClaimed, NotificationLedger, PassStore, PortError, PortResult,
    RentRequest, RentalStore, ReportOutcome, ReturnRequest, Versioned, ZoneStore,
};
use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::operation::scan::builders::ScanFluentBuilder;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, Delete, Get, KeysAndAttributes, Put, ReturnValuesOnConditionCheckFailure, TransactGetItem,
    TransactWriteItem, Update,
};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::HashMap;
use std::time::Duration;

/// The two tables: state (with the stream) and views (read models and the notifier's markers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tables {
    pub state: String,
    pub views: String,
}

impl Tables {
    /// From `KICKBOARD_STATE_TABLE` and `KICKBOARD_VIEW_TABLE`.
    pub fn from_env() -> Result<Self, String> {
        let var = |name: &str| std::env::var(name).map_err(|_| format!("{name} is not set"));
        Ok(Self { state: var("KICKBOARD_STATE_TABLE")?, views: var("KICKBOARD_VIEW_TABLE")? })
    }
}

#[derive(Clone)]
pub struct DynamoStore {
    client: Client,
    tables: Tables,
}

fn unavailable(error: impl std::fmt::Display) -> PortError {
    PortError::Unavailable(error.to_string())
}

fn to_item(value: &impl Serialize) -> PortResult<Item> {
    serde_dynamo::to_item(value).map_err(unavailable)
}

fn from_item<T: DeserializeOwned>(item: Item) -> PortResult<T> {
    serde_dynamo::from_item(item).map_err(unavailable)
}

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// Expression attribute values from `(":name", value)` pairs.
fn values<const N: usize>(pairs: [(&str, AttributeValue); N]) -> HashMap<String, AttributeValue> {
    pairs.into_iter().map(|(name, value)| (name.to_owned(), value)).collect()
}

/// Expression attribute names from `("#placeholder", attribute)` pairs.
fn names<const N: usize>(pairs: [(&str, &str); N]) -> HashMap<String, String> {
    pairs.into_iter().map(|(placeholder, name)| (placeholder.to_owned(), name.to_owned())).collect()
}

/// How one transaction item fared when the transaction was cancelled.
#[derive(Debug)]
enum Reason {
    Passed,
    /// Its condition failed; DynamoDB returns the item as it was, when it existed.
    Failed(Option<Item>),
}

/// How often a transaction that collided with another in flight is tried again. Only
/// collisions are retried: a failed condition is an answer, never retried.
const CONFLICT_ATTEMPTS: u32 = 3;

/// Segments the public feed's scan of the parked boards is read in, side by side.
const PARKED_SCAN_SEGMENTS: i32 = 4;

/// A board changed by a rule, and the event the change writes, if any.
type BoardChange = (Kickboard, Option<EventEnvelope>);

impl DynamoStore {
    pub fn new(client: Client, tables: Tables) -> Self {
        Self { client, tables }
    }

    fn put(&self, table: &str, item: Item, condition: Option<&str>) -> PortResult<TransactWriteItem> {
        let put = Put::builder()
            .table_name(table)
            .set_item(Some(item))
            .set_condition_expression(condition.map(str::to_owned))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .map_err(unavailable)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// The transaction's first item when the request carried an idempotency key: its answer,
    /// put only over the claim this request holds on the key.
    fn claim_answer(&self, answer: Option<&IdempotentAnswer>) -> PortResult<Vec<TransactWriteItem>> {
        let Some(answer) = answer else { return Ok(Vec::new()) };
        let mut put = self.put(
            &self.tables.state,
            to_item(&IdempotencyItem::from(answer))?,
            Some(&format!("{CLAIM_TOKEN} = :token AND attribute_exists({IN_PROGRESS_UNTIL_MS})")),
        )?;
        if let Some(put) = put.put.as_mut() {
            put.expression_attribute_values = Some(values([(":token", s(&answer.token))]));
        }
        Ok(vec![put])
    }

    /// The outbox item of `event`, in the trace of the request writing it.
    fn put_outbox(&self, event: &EventEnvelope) -> PortResult<TransactWriteItem> {
        let event = event.in_trace(crate::trace::current());
        self.put(&self.tables.state, to_item(&OutboxItem::from(&event))?, Some(&format!("attribute_not_exists({PK})")))
    }

    /// Runs one transaction; `Err` reasons say which conditions failed.
    async fn transact(&self, items: Vec<TransactWriteItem>) -> PortResult<Result<(), Vec<Reason>>> {
        let mut attempt = 1;
        loop {
            let result = self.client.transact_write_items().set_transact_items(Some(items.clone())).send().await;
            let error = match result {
                Ok(_) => return Ok(Ok(())),
                Err(error) => error,
            };
            let Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) = error.as_service_error()
            else {
                return Err(sdk_error(error));
            };
            let codes: Vec<&str> =
                cancelled.cancellation_reasons().iter().map(|r| r.code().unwrap_or("None")).collect();
            if codes.contains(&"TransactionConflict") && attempt < CONFLICT_ATTEMPTS {
                attempt += 1;
                tokio::time::sleep(Duration::from_millis(10 * u64::from(attempt))).await;
                continue;
            }
            if codes.iter().any(|code| !matches!(*code, "None" | "ConditionalCheckFailed")) {
                let detail = format!("transaction cancelled: {codes:?}");
                // Cancelled as a whole, nothing written: throttling or a conflict passes.
                let transient = codes
                    .iter()
                    .all(|code| matches!(*code, "None" | "ConditionalCheckFailed") || is_transient_code(code));
                return Err(if transient { PortError::Transient(detail) } else { unavailable(detail) });
            }
            let reasons = cancelled
                .cancellation_reasons()
                .iter()
                .map(|reason| match reason.code() {
                    Some("ConditionalCheckFailed") => Reason::Failed(reason.item().cloned()),
                    _ => Reason::Passed,
                })
                .collect();
            return Ok(Err(reasons));
        }
    }

    async fn get<T: DeserializeOwned>(&self, table: &str, key: Item) -> PortResult<Option<T>> {
        let output = self
            .client
            .get_item()
            .table_name(table)
            .set_key(Some(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(sdk_error)?;
        output.item.map(from_item).transpose()
    }

    /// The item a failed condition saw: from the cancellation reason, or read now when
    /// DynamoDB did not return it (it returns nothing for an item that did not exist).
    async fn seen<T: DeserializeOwned>(&self, reason: Option<&Reason>, key: Item) -> PortResult<Option<T>> {
        match reason {
            Some(Reason::Failed(Some(item))) => from_item(item.clone()).map(Some),
            _ => self.get(&self.tables.state, key).await,
        }
    }

    /// A zone write: `change`, the zones' version added to (so every cache sees it), and its
    /// event, in one transaction; `false` when the change's condition failed.
    async fn write_zones(&self, change: TransactWriteItem, event: &EventEnvelope) -> PortResult<bool> {
        let bump_version = Update::builder()
            .table_name(&self.tables.state)
            .set_key(Some(zones_version_key()))
            .update_expression("ADD #version :one")
            .expression_attribute_names("#version", attr::VERSION)
            .expression_attribute_values(":one", n(1))
            .build()
            .map_err(unavailable)?;
        let items = vec![change, TransactWriteItem::builder().update(bump_version).build(), self.put_outbox(event)?];
        Ok(self.transact(items).await?.is_ok())
    }

    /// A board as stored (the raw item, to write only what changes) and as the domain reads it.
    async fn board(&self, kickboard_id: &KickboardId) -> PortResult<Option<(Item, Kickboard)>> {
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

    /// The update from the `stored` board item to `board`, setting only the attributes that
    /// differ (a report that leaves a board in its place rewrites no index key), on the
    /// condition that the board is still at the revision it was read at.
    fn board_change(&self, stored: &Item, board: &Kickboard, seen_revision: u64) -> PortResult<TransactWriteItem> {
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
    async fn change_board(
        &self,
        kickboard_id: &KickboardId,
        rule: impl Fn(&Kickboard) -> PortResult<Option<BoardChange>> + Send,
    ) -> PortResult<(Kickboard, bool)> {
        let mut attempt = 1;
        loop {
            let (stored, board) = self.board(kickboard_id).await?.ok_or(RuleViolation::KickboardNotFound)?;
            let Some((changed, event)) = rule(&board)? else { return Ok((board, false)) };
            let change = self.board_change(&stored, &changed, board.revision)?;
            let written = match event {
                Some(event) => self.transact(vec![change, self.put_outbox(&event)?]).await?.is_ok(),
                // Without an event a plain update does, at half a transaction's write cost.
                None => {
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

    /// One rent transaction: pass, board (still parked at `parked`, when given), rental and
    /// event. `Ok(None)` when only the board's place changed since it was read.
    async fn rent(&self, request: &RentRequest, parked: Option<&str>) -> PortResult<Option<Rental>> {
        let RentRequest { customer, pass_id, kickboard_id, rental_id, now, answer, rules, .. } = request;
        let now = *now;
        let (rental, event) =
            Rental::open(rental_id.clone(), pass_id.clone(), kickboard_id.clone(), customer.clone(), now);
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
        ]);
        let mut board_values = values([
            (":available", stored(KickboardStatus::Available)),
            (":rented", stored(KickboardStatus::Rented)),
            (":rental", s(rental_id.as_str())),
            (":minBattery", n(rules.min_to_rent.get())),
            (":one", n(1)),
        ]);
        let mut condition =
            "#status = :available AND (attribute_not_exists(#battery) OR #battery >= :minBattery)".to_owned();
        if let Some(parked) = parked {
            condition.push_str(" AND #parkedSk = :parkedSk");
            board_names.insert("#parkedSk".into(), attr::PARKED_SK.into());
            board_values.insert(":parkedSk".into(), s(parked));
        }
        let take_board = Update::builder()
            .table_name(&self.tables.state)
            .set_key(Some(board_key(kickboard_id)))
            .condition_expression(condition)
            .update_expression(
                "SET #status = :rented, #rental = :rental REMOVE #availablePk, #availableSk ADD #revision :one",
            )
            .set_expression_attribute_names(Some(board_names))
            .set_expression_attribute_values(Some(board_values))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .map_err(unavailable)?;
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
            self.put_outbox(&event)?,
        ]);
        let reasons = match self.transact(items).await? {
            Ok(()) => return Ok(Some(rental)),
            Err(reasons) => reasons,
        };
        if let Some(duplicate) = duplicate(answer.as_ref(), &reasons) {
            return Err(duplicate);
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
}

/// A read DynamoDB answers a page at a time: a query or a scan.
trait Paginated: Clone + Send {
    /// The page that starts at `start` (the first when `None`), and the key the next one
    /// starts at, if any.
    fn page(self, start: Option<Item>) -> impl Future<Output = PortResult<(Vec<Item>, Option<Item>)>> + Send;
}

macro_rules! paginated {
    ($($builder:ty),*) => {$(
        impl Paginated for $builder {
            async fn page(self, start: Option<Item>) -> PortResult<(Vec<Item>, Option<Item>)> {
                let output = self.set_exclusive_start_key(start).send().await.map_err(sdk_error)?;
                Ok((output.items.unwrap_or_default(), output.last_evaluated_key))
            }
        }
    )*};
}

paginated!(QueryFluentBuilder, ScanFluentBuilder);

/// Every item `request` reads, page after page.
async fn all_pages(request: impl Paginated) -> PortResult<Vec<Item>> {
    let mut items = Vec::new();
    let mut start = None;
    loop {
        let (page, next) = request.clone().page(start).await?;
        items.extend(page);
        match next {
            Some(key) if !key.is_empty() => start = Some(key),
            _ => return Ok(items),
        }
    }
}

/// The refusal of a transaction whose idempotency claim (its first item) failed.
fn duplicate(answer: Option<&IdempotentAnswer>, reasons: &[Reason]) -> Option<PortError> {
    match (answer, reasons.first()) {
        (Some(_), Some(Reason::Failed(_))) => Some(RuleViolation::DuplicateRequest.into()),
        _ => None,
    }
}

/// Runs a conditional put: `false` when its condition failed.
async fn conditional_put(
    put: aws_sdk_dynamodb::operation::put_item::builders::PutItemFluentBuilder,
) -> PortResult<bool> {
    applied(put.send().await)
}

/// Runs a conditional put that claims something: `Err` with the item that held it (when
/// DynamoDB returned one) if its condition failed.
async fn claiming_put(
    put: aws_sdk_dynamodb::operation::put_item::builders::PutItemFluentBuilder,
) -> PortResult<Result<(), Option<Item>>> {
    let put = put.return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
    match put.send().await {
        Ok(_) => Ok(Ok(())),
        Err(error) => match error.as_service_error() {
            Some(PutItemError::ConditionalCheckFailedException(failed)) => Ok(Err(failed.item.clone())),
            _ => Err(sdk_error(error)),
        },
    }
}

fn pass_of(item: Option<PassItem>) -> Option<Pass> {
    item.map(|item| item.pass)
}

#[async_trait]
impl PassStore for DynamoStore {
    async fn record_purchase(
        &self,
        pass: &Pass,
        event: &EventEnvelope,
        answer: Option<&IdempotentAnswer>,
    ) -> PortResult<()> {
        let mut items = self.claim_answer(answer)?;
        items.push(self.put(
            &self.tables.state,
            to_item(&PassItem::from(pass))?,
            Some(&format!("attribute_not_exists({PK})")),
        )?);
        items.push(self.put_outbox(event)?);
        match self.transact(items).await? {
            Ok(()) => Ok(()),
            Err(reasons) => Err(duplicate(answer, &reasons).unwrap_or_else(|| unavailable("pass id collision"))),
        }
    }

    async fn find_pass(&self, pass_id: &PassId) -> PortResult<Option<Pass>> {
        Ok(pass_of(self.get(&self.tables.state, pass_key(pass_id)).await?))
    }

    async fn activate_pass(
        &self,
        pass: &Pass,
        payment_id: PaymentId,
        now: DateTime<Utc>,
        answer: Option<&IdempotentAnswer>,
    ) -> PortResult<Pass> {
        let (paid, event) = pass.activate(payment_id.clone(), now)?;
        let mut put =
            self.put(&self.tables.state, to_item(&PassItem::from(&paid))?, Some(&format!("{VERSION} = :version")))?;
        if let Some(put) = put.put.as_mut() {
            put.expression_attribute_values = Some(values([(":version", n(pass.version))]));
        }
        let mut items = self.claim_answer(answer)?;
        let first = items.len();
        items.extend([put, self.put_outbox(&event)?]);
        match self.transact(items).await? {
            Ok(()) => Ok(paid),
            Err(reasons) => {
                if let Some(duplicate) = duplicate(answer, &reasons) {
                    return Err(duplicate);
                }
                // The pass changed since it was read: the rules decide on what is stored now.
                let stored: Option<PassItem> = self.seen(reasons.get(first), pass_key(&pass.pass_id)).await?;
                let stored = pass_of(stored).ok_or(RuleViolation::PassNotFound)?;
                stored.activate(payment_id, now)?;
                Err(RuleViolation::Inconsistent("pass changed but is still payable").into())
            }
        }
    }
}

#[async_trait]
impl RentalStore for DynamoStore {
    async fn start_rental(&self, request: RentRequest) -> PortResult<Rental> {
        if !request.zones.restricts() {
            return self.rent(&request, None).await?.ok_or_else(|| unavailable("a rent without zones read again"));
        }
        let mut attempt = 1;
        loop {
            // Where the board stands decides whether a ride may start there: read it, and
            // take it only if it has not moved since (a board that cannot be rented anyway is
            // left to the transaction to explain).
            let parked = match self.board(&request.kickboard_id).await? {
                Some((_, board)) if board.ensure_rentable(&request.rules).is_ok() => {
                    if let Err(refused) = request.zones.ensure_start_allowed(&board.location) {
                        // The pass's refusals come first, as the rules order them.
                        let pass: Option<PassItem> = self.get(&self.tables.state, pass_key(&request.pass_id)).await?;
                        let pass = pass_of(pass).filter(|pass| pass.customer_id == request.customer);
                        pass.ok_or(RuleViolation::PassNotFound)?.ensure_rentable(request.now)?;
                        return Err(refused.into());
                    }
                    Some(parked_sk(&board.location, &board.kickboard_id))
                }
                _ => None,
            };
            match self.rent(&request, parked.as_deref()).await? {
                Some(rental) => return Ok(rental),
                None if attempt < CONFLICT_ATTEMPTS => attempt += 1,
                None => return Err(PortError::Transient("the board kept moving during a rent".into())),
            }
        }
    }

    async fn finish_rental(&self, request: ReturnRequest) -> PortResult<Rental> {
        let ReturnRequest { customer, rental_id, report, rules, zones, now } = request;
        let pass_id = rental_id.pass_id().ok_or(RuleViolation::RentalNotFound)?;
        let mut attempt = 1;
        loop {
            // Round trip 1: the rental and its pass, read together and consistently.
            let gets = [rental_key(&rental_id), pass_key(&pass_id)]
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
            let output =
                self.client.transact_get_items().set_transact_items(Some(gets)).send().await.map_err(sdk_error)?;
            let mut found = output.responses.unwrap_or_default().into_iter().map(|response| response.item);
            let rental: Option<RentalItem> = found.next().flatten().map(from_item).transpose()?;
            let pass: Option<PassItem> = found.next().flatten().map(from_item).transpose()?;
            let rental = rental.map(|item| item.rental).filter(|rental| rental.customer_id == customer);
            let rental = rental.ok_or(RuleViolation::RentalNotFound)?;
            let pass = pass_of(pass).ok_or(RuleViolation::Inconsistent("a rental's pass is missing"))?;
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
            let mut settle_pass = self.put(
                &self.tables.state,
                to_item(&PassItem::from(&finished.pass))?,
                Some("#version = :version AND #openRental = :rental"),
            )?;
            if let Some(put) = settle_pass.put.as_mut() {
                put.expression_attribute_names =
                    Some(names([("#version", attr::VERSION), ("#openRental", attr::OPEN_RENTAL_ID)]));
                put.expression_attribute_values =
                    Some(values([(":version", n(pass.version)), (":rental", s(rental_id.as_str()))]));
            }
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
                Ok(Some((retired, Some(event))))
            })
            .await?;
        Ok(board)
    }

    async fn report_telemetry(
        &self,
        kickboard_id: &KickboardId,
        telemetry: &Telemetry,
        rules: &BatteryRules,
    ) -> PortResult<ReportOutcome> {
        let (board, applied) = self
            .change_board(kickboard_id, |board| {
                let reported = board.report(telemetry, rules)?;
                Ok(reported.map(|Reported { board, battery_low }| (board, battery_low)))
            })
            .await?;
        Ok(ReportOutcome { board, applied })
    }

    async fn set_service(&self, kickboard_id: &KickboardId, target: ServiceStatus) -> PortResult<Kickboard> {
        let (board, _) =
            self.change_board(kickboard_id, |board| Ok(board.set_service(target)?.map(|board| (board, None)))).await?;
        Ok(board)
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

#[async_trait]
impl ContactStore for DynamoStore {
    async fn save_contact(&self, customer: &CustomerId, contact: &Contact) -> PortResult<()> {
        self.client
            .put_item()
            .table_name(&self.tables.state)
            .set_item(Some(to_item(&ContactItem::new(customer, contact))?))
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(())
    }

    async fn find_contact(&self, customer: &CustomerId) -> PortResult<Option<Contact>> {
        let item: Option<ContactItem> = self.get(&self.tables.state, contact_key(customer)).await?;
        Ok(item.map(|item| item.contact))
    }

    async fn mark_push_dead(
        &self,
        customer: &CustomerId,
        endpoint: &PushEndpoint,
        at: DateTime<Utc>,
    ) -> PortResult<bool> {
        let at = serde_dynamo::to_attribute_value(at).map_err(|error| PortError::Unavailable(error.to_string()))?;
        applied(
            self.client
                .update_item()
                .table_name(&self.tables.state)
                .set_key(Some(contact_key(customer)))
                .update_expression("SET #push.#deadSince = :at")
                .condition_expression("#push.#endpointArn = :endpoint")
                .expression_attribute_names("#push", attr::PUSH)
                .expression_attribute_names("#deadSince", attr::DEAD_SINCE)
                .expression_attribute_names("#endpointArn", attr::ENDPOINT_ARN)
                .expression_attribute_values(":at", at)
                .expression_attribute_values(":endpoint", AttributeValue::S(endpoint.as_str().to_owned()))
                .send()
                .await,
        )
    }
}

fn balance_record(item: BalanceItem) -> BalanceRecord {
    BalanceRecord { customer_id: item.customer_id, balance: item.balance, updated_at: item.updated_at }
}

#[async_trait]
impl BalanceView for DynamoStore {
    async fn apply_balance(&self, record: &BalanceRecord) -> PortResult<bool> {
        let put = self
            .client
            .put_item()
            .table_name(&self.tables.views)
            .set_item(Some(to_item(&BalanceItem::new(record))?))
            .condition_expression(format!("attribute_not_exists({PK}) OR {VERSION} < :version"))
            .expression_attribute_values(":version", n(record.balance.version));
        conditional_put(put).await
    }

    async fn find_balance(&self, pass_id: &PassId) -> PortResult<Option<BalanceRecord>> {
        let item: Option<BalanceItem> = self.get(&self.tables.views, balance_key(pass_id)).await?;
        Ok(item.map(balance_record))
    }

    async fn balances_of(&self, customer: &CustomerId) -> PortResult<Vec<BalanceRecord>> {
        let request = self
            .client
            .query()
            .table_name(&self.tables.views)
            .index_name(BY_CUSTOMER_INDEX)
            .key_condition_expression(format!("{CUSTOMER_PK} = :customer"))
            .expression_attribute_values(":customer", s(customer_pk(customer)));
        let items = all_pages(request).await?;
        let mut records = items
            .into_iter()
            .map(|item| from_item::<BalanceItem>(item).map(balance_record))
            .collect::<PortResult<Vec<_>>>()?;
        records.sort_by(|a, b| a.balance.pass_id.cmp(&b.balance.pass_id));
        Ok(records)
    }
}

#[async_trait]
impl NotificationLedger for DynamoStore {
    async fn claim(&self, claim: &AlertClaim) -> PortResult<ClaimOutcome> {
        let put = self
            .client
            .put_item()
            .table_name(&self.tables.views)
            .set_item(Some(to_item(&AlertLedgerItem::claimed(claim))?))
            .condition_expression(format!(
                "attribute_not_exists({PK}) OR (#state = :claimed AND ({LEASE_UNTIL_MS} < :now OR {CLAIM_TOKEN} = :token))",
            ))
            .expression_attribute_names("#state", attr::STATE)
            .expression_attribute_values(":claimed", s(AlertState::Claimed.as_str()))
            .expression_attribute_values(":now", n(claim.now.timestamp_millis()))
            .expression_attribute_values(":token", s(&claim.token));
        Ok(match claiming_put(put).await? {
            Ok(()) => ClaimOutcome::Claimed,
            Err(held) => {
                let held: Option<AlertLedgerItem> = held.map(from_item).transpose()?;
                match held.is_some_and(|held| held.state == AlertState::Sent.as_str()) {
                    true => ClaimOutcome::AlreadySent,
                    false => ClaimOutcome::InProgress,
                }
            }
        })
    }

    async fn mark_sent(&self, claim: &AlertClaim) -> PortResult<()> {
        let update = self
            .client
            .update_item()
            .table_name(&self.tables.views)
            .set_key(Some(alert_ledger_key(&claim.event_id, claim.channel.name())))
            .update_expression(format!("SET #state = :sent, {UPDATED_AT} = :now"))
            .condition_expression(format!("{CLAIM_TOKEN} = :token"))
            .expression_attribute_names("#state", attr::STATE)
            .expression_attribute_values(":sent", s(AlertState::Sent.as_str()))
            .expression_attribute_values(":now", s(claim.now.to_rfc3339()))
            .expression_attribute_values(":token", s(&claim.token));
        if !applied(update.send().await)? {
            tracing::warn!(event_id = %claim.event_id, "the alert's claim was taken over after its lease");
        }
        Ok(())
    }

    async fn release(&self, claim: &AlertClaim) -> PortResult<()> {
        let delete = self
            .client
            .delete_item()
            .table_name(&self.tables.views)
            .set_key(Some(alert_ledger_key(&claim.event_id, claim.channel.name())))
            .condition_expression(format!("{CLAIM_TOKEN} = :token AND #state = :claimed"))
            .expression_attribute_names("#state", attr::STATE)
            .expression_attribute_values(":claimed", s(AlertState::Claimed.as_str()))
            .expression_attribute_values(":token", s(&claim.token));
        // Not applied: someone else's claim now, or already gone; nothing of ours to give back.
        applied(delete.send().await).map(|_| ())
    }

    async fn record_not_sent(
        &self,
        event_id: &EventId,
        customer: &CustomerId,
        reason: &str,
        now: DateTime<Utc>,
    ) -> PortResult<()> {
        let put = self
            .client
            .put_item()
            .table_name(&self.tables.views)
            .set_item(Some(to_item(&AlertLedgerItem::not_sent(event_id, customer, reason, now))?))
            .condition_expression(format!("attribute_not_exists({PK})"));
        conditional_put(put).await.map(|_| ())
    }
}

#[async_trait]
impl BreakerStore for DynamoStore {
    async fn load_breaker(&self, name: &str) -> PortResult<Versioned<BreakerState>> {
        let item: Option<BreakerItem> = self.get(&self.tables.views, breaker_key(name)).await?;
        Ok(match item {
            Some(item) => Versioned { value: item.breaker, version: item.version },
            None => Versioned { value: BreakerState::default(), version: 0 },
        })
    }

    async fn save_breaker(&self, name: &str, state: &BreakerState, expected: u64) -> PortResult<bool> {
        let request = self
            .client
            .put_item()
            .table_name(&self.tables.views)
            .set_item(Some(to_item(&BreakerItem::new(name, state, expected + 1))?));
        let request = match expected {
            0 => request.condition_expression(format!("attribute_not_exists({PK})")),
            _ => request
                .condition_expression(format!("{VERSION} = :expected"))
                .expression_attribute_values(":expected", n(expected)),
        };
        conditional_put(request).await
    }

    async fn count_call(&self, name: &str, bucket_ms: i64, failed: bool) -> PortResult<()> {
        // Any shard: spreading a busy bucket's additions over several items.
        let shard = uuid::Uuid::new_v4().as_bytes()[0] % BREAKER_COUNTER_SHARDS;
        self.client
            .update_item()
            .table_name(&self.tables.views)
            .set_key(Some(breaker_count_key(name, bucket_ms, shard)))
            .update_expression(format!("ADD {CALLS} :one, {FAILURES} :failed SET #ttl = :ttl"))
            .expression_attribute_names("#ttl", attr::TTL)
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":failed", n(u8::from(failed)))
            .expression_attribute_values(":ttl", n(breaker_count_ttl(bucket_ms)))
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(())
    }

    async fn count_window(&self, name: &str, buckets: &[i64]) -> PortResult<WindowCounts> {
        let mut keys: Vec<Item> = buckets
            .iter()
            .flat_map(|bucket| (0..BREAKER_COUNTER_SHARDS).map(move |shard| breaker_count_key(name, *bucket, shard)))
            .collect();
        let mut counts = WindowCounts::default();
        // BatchGetItem takes 100 keys a call and may leave some for the next.
        while !keys.is_empty() {
            let batch: Vec<Item> = keys.drain(..keys.len().min(100)).collect();
            let request = KeysAndAttributes::builder()
                .set_keys(Some(batch))
                .projection_expression(format!("{CALLS}, {FAILURES}"))
                .consistent_read(true)
                .build()
                .map_err(unavailable)?;
            let output = self
                .client
                .batch_get_item()
                .request_items(&self.tables.views, request)
                .send()
                .await
                .map_err(sdk_error)?;
            for item in output.responses.unwrap_or_default().remove(&self.tables.views).unwrap_or_default() {
                let count: BreakerCountItem = from_item(item)?;
                counts.calls += count.calls;
                counts.failures += count.failures;
            }
            if let Some(left) = output.unprocessed_keys.and_then(|mut left| left.remove(&self.tables.views)) {
                keys.extend(left.keys);
            }
        }
        Ok(counts)
    }
}

#[async_trait]
impl IdempotencyStore for DynamoStore {
    async fn claim_key(&self, claim: &KeyClaim) -> PortResult<KeyClaimed> {
        let put = self
            .client
            .put_item()
            .table_name(&self.tables.state)
            .set_item(Some(to_item(&HeldKeyItem::from(claim))?))
            .condition_expression(format!(
                "attribute_not_exists({PK}) \
                 OR (attribute_exists({IN_PROGRESS_UNTIL_MS}) \
                     AND ({IN_PROGRESS_UNTIL_MS} <= :now OR {CLAIM_TOKEN} = :token)) \
                 OR (attribute_not_exists({IN_PROGRESS_UNTIL_MS}) AND #ttl <= :nowSecs)",
            ))
            .expression_attribute_names("#ttl", attr::TTL)
            .expression_attribute_values(":now", n(claim.now.timestamp_millis()))
            .expression_attribute_values(":nowSecs", n(claim.now.timestamp()))
            .expression_attribute_values(":token", s(&claim.token));
        Ok(match claiming_put(put).await? {
            Ok(()) => KeyClaimed::Claimed,
            Err(held) => match held.map(from_item::<KeyItem>).transpose()? {
                Some(KeyItem::Answered(item)) => KeyClaimed::Answered(item.answer),
                Some(KeyItem::Held(item)) => KeyClaimed::InProgress {
                    until: DateTime::from_timestamp_millis(item.in_progress_until_ms).unwrap_or(claim.until),
                },
                None => KeyClaimed::InProgress { until: claim.until },
            },
        })
    }

    async fn release_key(&self, claim: &KeyClaim) -> PortResult<()> {
        let delete = self
            .client
            .delete_item()
            .table_name(&self.tables.state)
            .set_key(Some(idempotency_key(&claim.scope)))
            .condition_expression(format!("{CLAIM_TOKEN} = :token AND attribute_exists({IN_PROGRESS_UNTIL_MS})"))
            .expression_attribute_values(":token", s(&claim.token));
        // Not applied: no longer ours (expired and taken, or answered); nothing to give back.
        applied(delete.send().await).map(|_| ())
    }

    async fn find_answer(&self, scope: &str, now: DateTime<Utc>) -> PortResult<Option<IdempotentAnswer>> {
        let item: Option<KeyItem> = self.get(&self.tables.state, idempotency_key(scope)).await?;
        Ok(match item {
            Some(KeyItem::Answered(item)) if item.answer.is_kept_at(now) => Some(item.answer),
            _ => None,
        })
    }
}

#[async_trait]
impl ZoneStore for DynamoStore {
    async fn save_zone(&self, zone: &Zone, event: &EventEnvelope) -> PortResult<()> {
        let put = self.put(&self.tables.state, to_item(&ZoneItem::from(zone))?, None)?;
        match self.write_zones(put, event).await? {
            true => Ok(()),
            false => Err(RuleViolation::Inconsistent("a zone write without conditions was refused").into()),
        }
    }

    async fn delete_zone(&self, zone_id: &ZoneId, event: &EventEnvelope) -> PortResult<()> {
        let delete = Delete::builder()
            .table_name(&self.tables.state)
            .set_key(Some(zone_key(zone_id)))
            .condition_expression(format!("attribute_exists({PK})"))
            .build()
            .map_err(unavailable)?;
        match self.write_zones(TransactWriteItem::builder().delete(delete).build(), event).await? {
            true => Ok(()),
            false => Err(RuleViolation::ZoneNotFound.into()),
        }
    }

    async fn save_global_rules(&self, rules: &ZoneRules, event: &EventEnvelope) -> PortResult<()> {
        let put = self.put(&self.tables.state, to_item(&GlobalRulesItem::from(rules))?, None)?;
        match self.write_zones(put, event).await? {
            true => Ok(()),
            false => Err(RuleViolation::Inconsistent("a rules write without conditions was refused").into()),
        }
    }

    async fn zones_version(&self) -> PortResult<u64> {
        let item: Option<ZonesVersionItem> = self.get(&self.tables.state, zones_version_key()).await?;
        Ok(item.map_or(0, |item| item.version))
    }

    async fn zone_set(&self) -> PortResult<ZoneSet> {
        let request = self
            .client
            .query()
            .table_name(&self.tables.state)
            .key_condition_expression(format!("{PK} = :zones"))
            .expression_attribute_values(":zones", s(ZONES_PK))
            .consistent_read(true);
        zone_set(all_pages(request).await?).map_err(unavailable)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::geo::{Coordinates, geohash};
    use crate::domain::kickboard::Model;
    use crate::domain::vehicle::{BatteryPct, default_vehicle_type_id};

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
        board.report(&telemetry.unwrap(), &BatteryRules::default()).unwrap().unwrap().board
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
