//! Transactions and conditional writes: an idempotent answer and an outbox event written with
//! the change, a cancelled transaction's reasons mapped to the item each condition saw.

use super::client::{DynamoStore, from_item, s, to_item, unavailable, values};
use crate::adapters::aws::items::attr::{CLAIM_TOKEN, IN_PROGRESS_UNTIL_MS, PK};
use crate::adapters::aws::items::{IdempotencyItem, Item, OutboxItem};
use crate::adapters::aws::{applied, is_transient_code, sdk_error};
use crate::domain::error::RuleViolation;
use crate::domain::events::EventEnvelope;
use crate::ports::{IdempotentAnswer, PortError, PortResult};
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{ReturnValuesOnConditionCheckFailure, TransactWriteItem};
use serde::de::DeserializeOwned;
use std::time::Duration;

/// How one transaction item fared when the transaction was cancelled.
#[derive(Debug)]
pub(super) enum Reason {
    Passed,
    /// Its condition failed; DynamoDB returns the item as it was, when it existed.
    Failed(Option<Item>),
}

/// How often a transaction that collided with another in flight is tried again. Only
/// collisions are retried: a failed condition is an answer, never retried.
pub(super) const CONFLICT_ATTEMPTS: u32 = 3;

impl DynamoStore {
    /// The transaction's first item when the request carried an idempotency key: its answer,
    /// put only over the claim this request holds on the key.
    pub(super) fn claim_answer(&self, answer: Option<&IdempotentAnswer>) -> PortResult<Vec<TransactWriteItem>> {
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
    pub(super) fn put_outbox(&self, event: &EventEnvelope) -> PortResult<TransactWriteItem> {
        let event = event.in_trace(crate::trace::current());
        self.put(&self.tables.state, to_item(&OutboxItem::from(&event))?, Some(&format!("attribute_not_exists({PK})")))
    }

    /// Runs one transaction; `Err` reasons say which conditions failed.
    pub(super) async fn transact(&self, items: Vec<TransactWriteItem>) -> PortResult<Result<(), Vec<Reason>>> {
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

    /// The item a failed condition saw: from the cancellation reason, or read now when
    /// DynamoDB did not return it (it returns nothing for an item that did not exist).
    pub(super) async fn seen<T: DeserializeOwned>(&self, reason: Option<&Reason>, key: Item) -> PortResult<Option<T>> {
        match reason {
            Some(Reason::Failed(Some(item))) => from_item(item.clone()).map(Some),
            _ => self.get(&self.tables.state, key).await,
        }
    }
}

/// The refusal of a transaction whose idempotency claim (its first item) failed.
pub(super) fn duplicate(answer: Option<&IdempotentAnswer>, reasons: &[Reason]) -> Option<PortError> {
    match (answer, reasons.first()) {
        (Some(_), Some(Reason::Failed(_))) => Some(RuleViolation::DuplicateRequest.into()),
        _ => None,
    }
}

/// Runs a conditional put: `false` when its condition failed.
pub(super) async fn conditional_put(
    put: aws_sdk_dynamodb::operation::put_item::builders::PutItemFluentBuilder,
) -> PortResult<bool> {
    applied(put.send().await)
}

/// Runs a conditional put that claims something: `Err` with the item that held it (when
/// DynamoDB returned one) if its condition failed.
pub(super) async fn claiming_put(
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
