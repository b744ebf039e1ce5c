//! Paying through the circuit breaker: the provider is only called when the shared breaker
//! allows it; while it is open the caller is told at once to pay later.

use crate::domain::breaker::BreakerPolicy;
use crate::guard::{BreakerOpen, SharedBreaker};
use crate::ports::{BreakerStore, ChargeOutcome, ChargeRequest, Clock, PaymentError, PaymentProvider, PortResult};
use std::sync::Arc;

/// The breaker that guards the payment provider.
pub const PAYMENT_BREAKER: &str = "payments";
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
    breaker: SharedBreaker,
}

impl GuardedPayments {
    pub fn new(
        provider: Arc<dyn PaymentProvider>,
        breakers: Arc<dyn BreakerStore>,
        policy: BreakerPolicy,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self { provider, breaker: SharedBreaker::new(PAYMENT_BREAKER, breakers, policy, clock) }
    }

    /// Charges unless the breaker says not to; records the outcome in the shared breaker.
    pub async fn charge(&self, request: &ChargeRequest) -> PortResult<Result<ChargeOutcome, PaymentRefused>> {
        let result = match self.breaker.call(self.provider.charge(request)).await? {
            Err(BreakerOpen { retry_after_secs }) => return Ok(Err(PaymentRefused::BreakerOpen { retry_after_secs })),
            Ok(result) => result,
        };
        Ok(result.map_err(|PaymentError::Unavailable(detail)| {
            tracing::warn!(%detail, "payment provider failed");
            PaymentRefused::ProviderFailed { retry_after_secs: RETRY_AFTER_FAILURE_SECS }
        }))
    }
}
