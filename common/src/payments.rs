//! Paying through the circuit breaker: the provider is only called when the shared breaker
//! allows it; while it is open the caller is told at once to pay later.

use crate::domain::breaker::{BreakerPolicy, BreakerState, CallOutcome, Permission};
use crate::metrics::{self, Metric};
use crate::ports::{
    BreakerStore, ChargeOutcome, ChargeRequest, Clock, PaymentError, PaymentProvider, PortResult, Versioned,
};

use std::sync::Arc;

/// The breaker that guards the payment provider.
pub const PAYMENT_BREAKER: &str = "payments";
/// Tries at taking the probe when other instances keep changing the state meanwhile.
const PROBE_ATTEMPTS: usize = 3;
/// The `Retry-After` for a failed call while the breaker is still closed.
const RETRY_AFTER_FAILURE_SECS: u64 = 5;

/// Why no charge was made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PaymentRefused {
    #[error("the payment provider failed")]
    ProviderFailed { retry_after_secs: u64 },
    #[error("the payment breaker is open")]
    BreakerOpen { retry_after_secs: u64 },
}

impl PaymentRefused {
    pub fn retry_after_secs(&self) -> u64 {
        match self {
            PaymentRefused::ProviderFailed { retry_after_secs } | PaymentRefused::BreakerOpen { retry_after_secs } => {
                *retry_after_secs
            }
        }
    }
}

pub struct GuardedPayments {
    provider: Arc<dyn PaymentProvider>,
    breakers: Arc<dyn BreakerStore>,
    policy: BreakerPolicy,
    clock: Arc<dyn Clock>,
}

impl GuardedPayments {
    pub fn new(
        provider: Arc<dyn PaymentProvider>,
        breakers: Arc<dyn BreakerStore>,
        policy: BreakerPolicy,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self { provider, breakers, policy, clock }
    }

    /// Charges unless the breaker says not to; records the outcome in the shared breaker.
    pub async fn charge(&self, request: &ChargeRequest) -> PortResult<Result<ChargeOutcome, PaymentRefused>> {
        let (stored, permission) = match self.take_permission().await? {
            Err(retry_after_secs) => return Ok(Err(PaymentRefused::BreakerOpen { retry_after_secs })),
            Ok(taken) => taken,
        };
        let result = self.provider.charge(request).await;
        let outcome = if result.is_ok() { CallOutcome::Answered } else { CallOutcome::Failed };
        self.record(&stored, permission, outcome).await?;
        Ok(result.map_err(|PaymentError::Unavailable(detail)| {
            tracing::warn!(%detail, "payment provider failed");
            PaymentRefused::ProviderFailed { retry_after_secs: RETRY_AFTER_FAILURE_SECS }
        }))
    }

    /// What the call may do (call, or probe) and the breaker as it found it (its version
    /// after taking the probe, if it did); `Err` with the seconds to wait when refused.
    async fn take_permission(&self) -> PortResult<Result<(Versioned<BreakerState>, Permission), u64>> {
        for _ in 0..PROBE_ATTEMPTS {
            let stored = self.breakers.load_breaker(PAYMENT_BREAKER).await?;
            let (permission, next) = stored.value.permit(&self.policy, self.clock.now());
            if let Permission::Refuse { retry_after_secs } = permission {
                return Ok(Err(retry_after_secs));
            }
            let Some(next) = next else { return Ok(Ok((stored, permission))) };
            if self.breakers.save_breaker(PAYMENT_BREAKER, &next, stored.version).await? {
                announce(&stored.value, &next);
                return Ok(Ok((Versioned { value: next, version: stored.version + 1 }, permission)));
            }
            // Another instance changed the state first (took the probe, or it reported).
        }
        // Others keep changing the state: do not add load to a struggling provider.
        Ok(Err(1))
    }

    /// A probe's outcome decides the state. A call's outcome is counted (one atomic
    /// addition); a failure then reads the window and, past the thresholds, opens the
    /// breaker with a write conditioned on the state this call saw, so one instance wins.
    async fn record(
        &self,
        stored: &Versioned<BreakerState>,
        permission: Permission,
        outcome: CallOutcome,
    ) -> PortResult<()> {
        let now = self.clock.now();
        let next = match (permission, &stored.value) {
            (Permission::Probe, _) => BreakerState::after_probe(&self.policy, outcome, now),
            (Permission::Call, BreakerState::Closed { since }) => {
                let failed = outcome == CallOutcome::Failed;
                self.breakers.count_call(PAYMENT_BREAKER, self.policy.bucket_of(now), failed).await?;
                if !failed {
                    return Ok(());
                }
                let window = self.policy.window_buckets(now, *since);
                let counts = self.breakers.count_window(PAYMENT_BREAKER, &window).await?;
                if !self.policy.trips(counts) {
                    return Ok(());
                }
                BreakerState::tripped(&self.policy, now)
            }
            _ => return Ok(()),
        };
        if self.breakers.save_breaker(PAYMENT_BREAKER, &next, stored.version).await? {
            announce(&stored.value, &next);
        }
        Ok(())
    }
}

/// A state change, as a log line and a metric.
fn announce(from: &BreakerState, to: &BreakerState) {
    if from.name() == to.name() {
        return;
    }
    tracing::warn!(breaker = PAYMENT_BREAKER, from = from.name(), to = to.name(), "circuit breaker changed state");
    let metric = match to {
        BreakerState::Open { .. } => Metric::BreakerOpened,
        BreakerState::HalfOpen { .. } => Metric::BreakerHalfOpened,
        BreakerState::Closed { .. } => Metric::BreakerClosed,
    };
    metrics::record(metric, 1.0);
}
