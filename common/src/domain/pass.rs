//! The ride pass (이용권): bought, paid, ridden down to zero, or expired.

use super::error::RuleViolation;
use super::events::{DomainEvent, EventEnvelope};
use super::ids::{CustomerId, PassId, PaymentId, PlanId, RentalId};
use super::plan::{Plan, Won};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// The status a customer sees. `Expired` is derived from the clock, never stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PassStatus {
    PendingPayment,
    Active,
    Exhausted,
    Expired,
}

/// A successful charge for a pass.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Payment {
    pub payment_id: PaymentId,
    pub paid_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// The stored lifecycle. Only an active pass can have an open rental; only a paid pass has a payment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "SCREAMING_SNAKE_CASE", rename_all_fields = "camelCase")]
pub enum PassState {
    PendingPayment,
    Active {
        #[serde(flatten)]
        payment: Payment,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        open_rental_id: Option<RentalId>,
    },
    Exhausted {
        #[serde(flatten)]
        payment: Payment,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Pass {
    pub pass_id: PassId,
    pub customer_id: CustomerId,
    pub plan_id: PlanId,
    pub price_won: Won,
    pub valid_days: u32,
    pub minutes_total: u32,
    pub minutes_left: u32,
    pub minutes_used: u32,
    pub overage_minutes: u32,
    pub purchased_at: DateTime<Utc>,
    /// Bumped by every change of the balance; the balance view keeps the highest it has seen.
    pub version: u64,
    #[serde(flatten)]
    pub state: PassState,
}

/// What the balance view shows of a pass, as carried by the events that change it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PassBalance {
    pub pass_id: PassId,
    pub status: PassStatus,
    pub minutes_total: u32,
    pub minutes_left: u32,
    pub minutes_used: u32,
    pub overage_minutes: u32,
    pub version: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
}

impl PassBalance {
    /// The status as of `now`: an active balance past its expiry reads as expired.
    pub fn status_at(&self, now: DateTime<Utc>) -> PassStatus {
        match (self.status, self.expires_at) {
            (PassStatus::Active, Some(expires_at)) if now >= expires_at => PassStatus::Expired,
            (status, _) => status,
        }
    }
}

impl Pass {
    /// A new pass awaiting payment, and its `PassPurchased` event.
    pub fn purchase(
        pass_id: PassId,
        customer_id: CustomerId,
        plan: &Plan,
        now: DateTime<Utc>,
    ) -> (Pass, EventEnvelope) {
        let pass = Pass {
            pass_id,
            customer_id,
            plan_id: plan.plan_id.clone(),
            price_won: plan.price_won,
            valid_days: plan.valid_days,
            minutes_total: plan.minutes,
            minutes_left: plan.minutes,
            minutes_used: 0,
            overage_minutes: 0,
            purchased_at: now,
            version: 1,
            state: PassState::PendingPayment,
        };
        let event = pass.event(now, DomainEvent::PassPurchased { balance: pass.balance() });
        (pass, event)
    }

    pub fn status_at(&self, now: DateTime<Utc>) -> PassStatus {
        self.balance().status_at(now)
    }

    pub fn payment(&self) -> Option<&Payment> {
        match &self.state {
            PassState::PendingPayment => None,
            PassState::Active { payment, .. } | PassState::Exhausted { payment } => Some(payment),
        }
    }

    pub fn open_rental_id(&self) -> Option<&RentalId> {
        match &self.state {
            PassState::Active { open_rental_id, .. } => open_rental_id.as_ref(),
            _ => None,
        }
    }

    /// Refuses to pay a pass twice.
    pub fn ensure_payable(&self) -> Result<(), RuleViolation> {
        match self.state {
            PassState::PendingPayment => Ok(()),
            _ => Err(RuleViolation::PassAlreadyPaid),
        }
    }

    /// The pass once its charge succeeded: active for `valid_days` from `now`.
    pub fn activate(&self, payment_id: PaymentId, now: DateTime<Utc>) -> Result<(Pass, EventEnvelope), RuleViolation> {
        self.ensure_payable()?;
        let payment =
            Payment { payment_id, paid_at: now, expires_at: now + Duration::days(i64::from(self.valid_days)) };
        let paid = Pass {
            version: self.version + 1,
            state: PassState::Active { payment: payment.clone(), open_rental_id: None },
            ..self.clone()
        };
        let event = paid.event(
            now,
            DomainEvent::PassPaid {
                balance: paid.balance(),
                payment_id: payment.payment_id,
                expires_at: payment.expires_at,
                price_won: Some(self.price_won),
            },
        );
        Ok((paid, event))
    }

    /// Refuses a rental unless the pass is active, unexpired, has minutes and no open rental.
    pub fn ensure_rentable(&self, now: DateTime<Utc>) -> Result<(), RuleViolation> {
        match &self.state {
            PassState::PendingPayment => Err(RuleViolation::PassNotActive),
            PassState::Exhausted { .. } => Err(RuleViolation::PassExhausted),
            PassState::Active { payment, .. } if now >= payment.expires_at => Err(RuleViolation::PassExpired),
            PassState::Active { .. } if self.minutes_left == 0 => Err(RuleViolation::PassExhausted),
            PassState::Active { open_rental_id: Some(_), .. } => Err(RuleViolation::PassHasOpenRental),
            PassState::Active { .. } => Ok(()),
        }
    }

    pub fn balance(&self) -> PassBalance {
        let status = match self.state {
            PassState::PendingPayment => PassStatus::PendingPayment,
            PassState::Active { .. } => PassStatus::Active,
            PassState::Exhausted { .. } => PassStatus::Exhausted,
        };
        PassBalance {
            pass_id: self.pass_id.clone(),
            status,
            minutes_total: self.minutes_total,
            minutes_left: self.minutes_left,
            minutes_used: self.minutes_used,
            overage_minutes: self.overage_minutes,
            version: self.version,
            expires_at: self.payment().map(|payment| payment.expires_at),
        }
    }

    fn event(&self, now: DateTime<Utc>, event: DomainEvent) -> EventEnvelope {
        EventEnvelope::new(now, self.pass_id.to_string(), self.version, Some(self.customer_id.clone()), event)
    }
}
