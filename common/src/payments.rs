//! Paying through the circuit breaker: the provider is only called when the shared breaker
//! allows it; while it is open the caller is told at once to pay later.

use crate::domain::breaker::{BreakerPolicy, BreakerState, CallOutcome, Permission};
use crate::ports::{BreakerStore, ChargeOutcome, ChargeRequest, Clock, PaymentError, PaymentProvider, PortResult};
use chrono::Duration;
use std::sync::Arc;

/// The breaker that guards the payment provider.
pub const PAYMENT_BREAKER: &str = "payments";
/// Compare-and-set attempts before a breaker update is given up (and logged).
const CAS_ATTEMPTS: usize = 16;
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

/// Breaker thresholds, from `KICKBOARD_BREAKER_*` variables or defaults.
pub fn policy_from_env(payment_timeout: std::time::Duration) -> BreakerPolicy {
    let number = |name: &str, default: f64| {
        std::env::var(name)
            .ok()
            .and_then(|value| value.parse::<f64>().ok())
            .filter(|v| v.is_finite())
            .unwrap_or(default)
    };
    let millis = |seconds: f64| Duration::milliseconds((seconds * 1000.0) as i64);
    BreakerPolicy {
        window: millis(number("KICKBOARD_BREAKER_WINDOW_SECS", 30.0)),
        min_calls: number("KICKBOARD_BREAKER_MIN_CALLS", 10.0) as u32,
        failure_rate: number("KICKBOARD_BREAKER_FAILURE_RATE", 0.5).clamp(0.0, 1.0),
        cool_down: millis(number("KICKBOARD_BREAKER_COOL_DOWN_SECS", 15.0)),
        // A probe that outlives the provider timeout has failed; leave a second of slack.
        probe_timeout: Duration::from_std(payment_timeout).unwrap_or(Duration::seconds(2)) + Duration::seconds(1),
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
        let permission = match self.take_permission().await? {
            Permission::Refuse { retry_after_secs } => {
                return Ok(Err(PaymentRefused::BreakerOpen { retry_after_secs }));
            }
            permission => permission,
        };
        let result = self.provider.charge(request).await;
        let outcome = if result.is_ok() { CallOutcome::Answered } else { CallOutcome::Failed };
        self.record(permission, outcome).await?;
        Ok(result.map_err(|PaymentError::Unavailable(detail)| {
            tracing::warn!(%detail, "payment provider failed");
            PaymentRefused::ProviderFailed { retry_after_secs: RETRY_AFTER_FAILURE_SECS }
        }))
    }

    async fn take_permission(&self) -> PortResult<Permission> {
        for _ in 0..CAS_ATTEMPTS {
            let stored = self.breakers.load_breaker(PAYMENT_BREAKER).await?;
            let (permission, next) = stored.value.permit(&self.policy, self.clock.now());
            let Some(next) = next else { return Ok(permission) };
            if self.breakers.save_breaker(PAYMENT_BREAKER, &next, stored.version).await? {
                announce(&stored.value, &next);
                return Ok(permission);
            }
        }
        // Others keep changing the state: do not add load to a struggling provider.
        Ok(Permission::Refuse { retry_after_secs: 1 })
    }

    async fn record(&self, permission: Permission, outcome: CallOutcome) -> PortResult<()> {
        for _ in 0..CAS_ATTEMPTS {
            let stored = self.breakers.load_breaker(PAYMENT_BREAKER).await?;
            let Some(next) = stored.value.record(&self.policy, permission, outcome, self.clock.now()) else {
                return Ok(());
            };
            if self.breakers.save_breaker(PAYMENT_BREAKER, &next, stored.version).await? {
                announce(&stored.value, &next);
                return Ok(());
            }
        }
        tracing::warn!("breaker outcome not recorded: too many concurrent updates");
        Ok(())
    }
}

/// A state change, as a log line and as a CloudWatch metric in Embedded Metric Format.
fn announce(from: &BreakerState, to: &BreakerState) {
    if from.name() == to.name() {
        return;
    }
    tracing::warn!(breaker = PAYMENT_BREAKER, from = from.name(), to = to.name(), "circuit breaker changed state");
    let metric = match to {
        BreakerState::Open { .. } => "BreakerOpened",
        BreakerState::HalfOpen { .. } => "BreakerHalfOpened",
        BreakerState::Closed { .. } => "BreakerClosed",
    };
    let emf = serde_json::json!({
        "_aws": {
            "Timestamp": chrono::Utc::now().timestamp_millis(),
            "CloudWatchMetrics": [{
                "Namespace": "Kickboard",
                "Dimensions": [["Breaker"]],
                "Metrics": [{ "Name": metric, "Unit": "Count" }],
            }],
        },
        "Breaker": PAYMENT_BREAKER,
        metric: 1,
        "from": from.name(),
        "to": to.name(),
    });
    println!("{emf}");
}
