//! `PassStore` on DynamoDB.

use super::client::{DynamoStore, n, to_item, unavailable, values};
use super::transact::duplicate;
use crate::adapters::aws::items::attr::{PK, VERSION};
use crate::adapters::aws::items::{PassItem, pass_key};
use crate::domain::error::RuleViolation;
use crate::domain::events::EventEnvelope;
use crate::domain::ids::{PassId, PaymentId};
use crate::domain::pass::Pass;
use crate::ports::{Answering, IdempotentAnswer, PassStore, PortResult};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

pub(super) fn pass_of(item: Option<PassItem>) -> Option<Pass> {
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
        answer: Option<&Answering<Pass>>,
    ) -> PortResult<Pass> {
        let (paid, event) = pass.activate(payment_id.clone(), now)?;
        let answer = answer.map(|answer| answer.answer_for(&paid));
        let answer = answer.as_ref();
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
