//! A provider behind a breaker shared by every instance of the service: the provider is only
//! called when the breaker allows it; while it is open the caller is told at once to come back
//! later. Payments and licence checks each have one.

use crate::domain::breaker::{BreakerPolicy, BreakerState, CallOutcome, Permission};
use crate::metrics::{self, Metric};
use crate::ports::{BreakerStore, Clock, PortResult, Versioned};
use std::future::Future;
use std::sync::Arc;

/// Tries at taking the probe when other instances keep changing the state meanwhile.
const PROBE_ATTEMPTS: usize = 3;

/// One named breaker over the shared store.
pub struct SharedBreaker {
    name: &'static str,
    breakers: Arc<dyn BreakerStore>,
    policy: BreakerPolicy,
    clock: Arc<dyn Clock>,
}

/// The call was not made: the breaker is open, try again in this many seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerOpen {
    pub retry_after_secs: u64,
}

impl SharedBreaker {
    pub fn new(
        name: &'static str,
        breakers: Arc<dyn BreakerStore>,
        policy: BreakerPolicy,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self { name, breakers, policy, clock }
    }

    /// Makes `call` unless the breaker says not to, and records whether it failed (`Err`: a
    /// timeout, a 5xx, no answer) in the shared breaker.
    pub async fn call<T, E>(
        &self,
        call: impl Future<Output = Result<T, E>>,
    ) -> PortResult<Result<Result<T, E>, BreakerOpen>> {
        let (stored, permission) = match self.take_permission().await? {
            Err(retry_after_secs) => return Ok(Err(BreakerOpen { retry_after_secs })),
            Ok(taken) => taken,
        };
        let result = call.await;
        let outcome = if result.is_ok() { CallOutcome::Answered } else { CallOutcome::Failed };
        self.record(&stored, permission, outcome).await?;
        Ok(Ok(result))
    }

    /// What the call may do (call, or probe) and the breaker as it found it (its version
    /// after taking the probe, if it did); `Err` with the seconds to wait when refused.
    async fn take_permission(&self) -> PortResult<Result<(Versioned<BreakerState>, Permission), u64>> {
        for _ in 0..PROBE_ATTEMPTS {
            let stored = self.breakers.load_breaker(self.name).await?;
            let (permission, next) = stored.value.permit(&self.policy, self.clock.now());
            if let Permission::Refuse { retry_after_secs } = permission {
                return Ok(Err(retry_after_secs));
            }
            let Some(next) = next else { return Ok(Ok((stored, permission))) };
            if self.breakers.save_breaker(self.name, &next, stored.version).await? {
                self.announce(&stored.value, &next);
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
                self.breakers.count_call(self.name, self.policy.bucket_of(now), failed).await?;
                if !failed {
                    return Ok(());
                }
                // The last seconds first (one small read): a provider gone fully down trips
                // them within seconds, whatever the traffic before; then the whole window.
                let recent = self.policy.recent_buckets(now, *since);
                let mut tripped = self.policy.trips_recently(self.breakers.count_window(self.name, &recent).await?);
                if !tripped {
                    let window = self.policy.window_buckets(now, *since);
                    tripped = self.policy.trips(self.breakers.count_window(self.name, &window).await?);
                }
                if !tripped {
                    return Ok(());
                }
                BreakerState::tripped(&self.policy, now)
            }
            _ => return Ok(()),
        };
        if self.breakers.save_breaker(self.name, &next, stored.version).await? {
            self.announce(&stored.value, &next);
        }
        Ok(())
    }

    /// A state change, as a log line and a metric.
    fn announce(&self, from: &BreakerState, to: &BreakerState) {
        if from.name() == to.name() {
            return;
        }
        tracing::warn!(breaker = self.name, from = from.name(), to = to.name(), "circuit breaker changed state");
        let metric = match to {
            BreakerState::Open { .. } => Metric::BreakerOpened,
            BreakerState::HalfOpen { .. } => Metric::BreakerHalfOpened,
            BreakerState::Closed { .. } => Metric::BreakerClosed,
        };
        metrics::record(metric, 1.0);
    }
}
