//! `PassStore` on SQLite.

use super::idempotency::claim_answer;
use super::outbox::append_event;
use super::store::{SqliteStore, exec, load, to_json};
use crate::domain::error::RuleViolation;
use crate::domain::events::EventEnvelope;
use crate::domain::ids::{PassId, PaymentId};
use crate::domain::pass::Pass;
use crate::ports::{Answering, IdempotentAnswer, PassStore, PortResult};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{Connection, params};

pub(super) fn load_pass(tx: &Connection, pass_id: &PassId) -> PortResult<Option<Pass>> {
    load(tx, "SELECT item FROM passes WHERE pass_id = ?1", pass_id.as_str())
}

pub(super) fn save_pass(tx: &Connection, pass: &Pass) -> PortResult<()> {
    exec(
        tx,
        "INSERT INTO passes (pass_id, customer_id, item) VALUES (?1, ?2, ?3)
         ON CONFLICT (pass_id) DO UPDATE SET item = excluded.item",
        params![pass.pass_id.as_str(), pass.customer_id.as_str(), to_json(pass)?],
    )?;
    Ok(())
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
        answer: Option<&Answering<Pass>>,
    ) -> PortResult<Pass> {
        let (pass_id, answer) = (pass.pass_id.clone(), answer.cloned());
        self.write(move |tx| {
            let stored = load_pass(tx, &pass_id)?.ok_or(RuleViolation::PassNotFound)?;
            let (paid, event) = stored.activate(payment_id, now)?;
            claim_answer(tx, answer.map(|answer| answer.answer_for(&paid)).as_ref())?;
            save_pass(tx, &paid)?;
            append_event(tx, &event)?;
            Ok(paid)
        })
        .await
    }
}
