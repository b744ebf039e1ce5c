//! The payment circuit breaker as a state machine: closed until failures pass a rate over a
//! sliding window (with a minimum number of calls), open for a cool-down, then half-open
//! with exactly one probe whose result closes or reopens it. The state is plain data so a
//! store shared by every instance can hold it.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// When the breaker opens and for how long.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BreakerPolicy {
    /// The sliding window failures are counted over.
    pub window: Duration,
    /// Fewer calls than this in the window never open the breaker.
    pub min_calls: u32,
    /// The failure share (0..=1) at which it opens.
    pub failure_rate: f64,
    /// How long it stays open before one probe is let through.
    pub cool_down: Duration,
    /// How long a probe may take before another caller may probe instead.
    pub probe_timeout: Duration,
}

/// The window is kept as this many time buckets, so it slides without storing every call.
const BUCKETS: i64 = 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Bucket {
    /// Start of the bucket, epoch milliseconds.
    pub start_ms: i64,
    pub calls: u32,
    pub failures: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "SCREAMING_SNAKE_CASE", rename_all_fields = "camelCase")]
pub enum BreakerState {
    Closed { buckets: Vec<Bucket> },
    Open { until: DateTime<Utc> },
    HalfOpen { probe_started_at: DateTime<Utc> },
}

impl Default for BreakerState {
    fn default() -> Self {
        BreakerState::Closed { buckets: Vec::new() }
    }
}

/// What a caller may do now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// Call the provider and record the outcome.
    Call,
    /// Call the provider as the one probe; its outcome decides the breaker.
    Probe,
    /// Do not call; answer "pay later", retrying after this many seconds.
    Refuse { retry_after_secs: u64 },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallOutcome {
    /// The provider answered (approved or declined).
    Answered,
    /// Timeout, 5xx or a reset.
    Failed,
}

fn seconds_until(until: DateTime<Utc>, now: DateTime<Utc>) -> u64 {
    let millis = (until - now).num_milliseconds().max(0);
    u64::try_from((millis + 999) / 1000).unwrap_or(0).max(1)
}

impl BreakerState {
    pub fn name(&self) -> &'static str {
        match self {
            BreakerState::Closed { .. } => "CLOSED",
            BreakerState::Open { .. } => "OPEN",
            BreakerState::HalfOpen { .. } => "HALF_OPEN",
        }
    }

    /// Whether a call may go to the provider now, and the state to store first if taking
    /// that permission changes it (open → half-open: whoever stores it is the one probe).
    pub fn permit(&self, policy: &BreakerPolicy, now: DateTime<Utc>) -> (Permission, Option<BreakerState>) {
        match self {
            BreakerState::Closed { .. } => (Permission::Call, None),
            BreakerState::Open { until } if now < *until => {
                (Permission::Refuse { retry_after_secs: seconds_until(*until, now) }, None)
            }
            BreakerState::HalfOpen { probe_started_at } if now < *probe_started_at + policy.probe_timeout => {
                let retry_at = *probe_started_at + policy.probe_timeout;
                (Permission::Refuse { retry_after_secs: seconds_until(retry_at, now) }, None)
            }
            // Cool-down over, or the last probe never reported: this caller probes.
            BreakerState::Open { .. } | BreakerState::HalfOpen { .. } => {
                (Permission::Probe, Some(BreakerState::HalfOpen { probe_started_at: now }))
            }
        }
    }

    /// The state after a call's outcome, when it changes.
    pub fn record(
        &self,
        policy: &BreakerPolicy,
        permission: Permission,
        outcome: CallOutcome,
        now: DateTime<Utc>,
    ) -> Option<BreakerState> {
        match (self, permission) {
            (BreakerState::HalfOpen { .. }, Permission::Probe) => Some(match outcome {
                CallOutcome::Answered => BreakerState::default(),
                CallOutcome::Failed => BreakerState::Open { until: now + policy.cool_down },
            }),
            (BreakerState::Closed { buckets }, Permission::Call) => {
                let buckets = add_to_window(buckets, policy, outcome, now);
                let (calls, failures) = buckets.iter().fold((0, 0), |(c, f), b| (c + b.calls, f + b.failures));
                let rate = f64::from(failures) / f64::from(calls.max(1));
                if calls >= policy.min_calls && rate >= policy.failure_rate {
                    Some(BreakerState::Open { until: now + policy.cool_down })
                } else {
                    Some(BreakerState::Closed { buckets })
                }
            }
            // A late outcome of a call let through before the state changed: it decides nothing.
            _ => None,
        }
    }
}

fn add_to_window(buckets: &[Bucket], policy: &BreakerPolicy, outcome: CallOutcome, now: DateTime<Utc>) -> Vec<Bucket> {
    let width_ms = (policy.window.num_milliseconds() / BUCKETS).max(1);
    let now_ms = now.timestamp_millis();
    let current_start = now_ms - now_ms.rem_euclid(width_ms);
    let oldest_kept = current_start - width_ms * (BUCKETS - 1);
    let mut kept: Vec<Bucket> = buckets.iter().copied().filter(|bucket| bucket.start_ms >= oldest_kept).collect();
    let failed = u32::from(outcome == CallOutcome::Failed);
    match kept.iter_mut().find(|bucket| bucket.start_ms == current_start) {
        Some(bucket) => {
            bucket.calls += 1;
            bucket.failures += failed;
        }
        None => kept.push(Bucket { start_ms: current_start, calls: 1, failures: failed }),
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn policy() -> BreakerPolicy {
        BreakerPolicy {
            window: Duration::seconds(30),
            min_calls: 4,
            failure_rate: 0.5,
            cool_down: Duration::seconds(10),
            probe_timeout: Duration::seconds(3),
        }
    }

    fn at(seconds: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 25, 9, 0, 0).unwrap() + Duration::seconds(seconds)
    }

    fn after(state: &BreakerState, outcome: CallOutcome, now: DateTime<Utc>) -> BreakerState {
        state.record(&policy(), Permission::Call, outcome, now).unwrap_or_else(|| state.clone())
    }

    #[test]
    fn opens_at_the_failure_rate_only_with_enough_calls() {
        let mut state = BreakerState::default();
        for second in 0..3 {
            state = after(&state, CallOutcome::Failed, at(second));
        }
        assert_eq!(state.name(), "CLOSED", "three calls are under the minimum");
        state = after(&state, CallOutcome::Answered, at(3));
        assert_eq!(state, BreakerState::Open { until: at(13) }, "3 of 4 failed");
    }

    #[test]
    fn old_failures_slide_out_of_the_window() {
        let mut state = BreakerState::default();
        for second in 0..3 {
            state = after(&state, CallOutcome::Failed, at(second));
        }
        for second in 40..44 {
            state = after(&state, CallOutcome::Answered, at(second));
        }
        assert_eq!(state.name(), "CLOSED");
        let BreakerState::Closed { buckets } = &state else { unreachable!() };
        assert_eq!(buckets.iter().map(|b| b.failures).sum::<u32>(), 0);
    }

    #[test]
    fn refuses_while_open_then_lets_exactly_one_probe_decide() {
        let open = BreakerState::Open { until: at(10) };
        assert_eq!(open.permit(&policy(), at(4)), (Permission::Refuse { retry_after_secs: 6 }, None));
        let (permission, next) = open.permit(&policy(), at(10));
        assert_eq!(permission, Permission::Probe);
        let half_open = next.unwrap();
        assert!(matches!(half_open.permit(&policy(), at(11)).0, Permission::Refuse { .. }), "one probe at a time");
        assert_eq!(
            half_open.record(&policy(), Permission::Probe, CallOutcome::Answered, at(11)),
            Some(BreakerState::default())
        );
        assert_eq!(
            half_open.record(&policy(), Permission::Probe, CallOutcome::Failed, at(11)),
            Some(BreakerState::Open { until: at(21) })
        );
        assert_eq!(half_open.permit(&policy(), at(13)).0, Permission::Probe, "a probe that never reported is replaced");
    }

    #[test]
    fn late_outcomes_change_nothing() {
        let open = BreakerState::Open { until: at(10) };
        assert_eq!(open.record(&policy(), Permission::Call, CallOutcome::Answered, at(1)), None);
    }
}
