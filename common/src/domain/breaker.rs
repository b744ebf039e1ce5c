//! The circuit breaker as a state machine: closed until failures pass a rate over a sliding
//! window (with a minimum number of calls), or over its last few seconds alone, open for a
//! cool-down, then half-open with exactly one probe whose result closes or reopens it. The
//! state is plain data so a store shared by every instance can hold it.

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

/// The window is counted in this many time buckets, so it slides without storing every call:
/// one-second buckets for the default 30-s window.
const BUCKETS: i64 = 30;

/// The last buckets of the window, counted on their own too: a provider gone fully down after
/// busy minutes fails every call of the last seconds long before its failures outnumber the
/// whole window's successes.
const RECENT_BUCKETS: usize = 3;

/// Calls and failures counted over the window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WindowCounts {
    pub calls: u64,
    pub failures: u64,
}

impl BreakerPolicy {
    fn bucket_width_ms(&self) -> i64 {
        (self.window.num_milliseconds() / BUCKETS).max(1)
    }

    /// The bucket a call at `now` is counted in: its start, in epoch milliseconds.
    pub fn bucket_of(&self, now: DateTime<Utc>) -> i64 {
        let now_ms = now.timestamp_millis();
        now_ms - now_ms.rem_euclid(self.bucket_width_ms())
    }

    /// The buckets whose counts make up the window at `now`, oldest first: the last
    /// [`BUCKETS`], none from before the breaker last closed (`since`).
    pub fn window_buckets(&self, now: DateTime<Utc>, since: Option<DateTime<Utc>>) -> Vec<i64> {
        let width = self.bucket_width_ms();
        let current = self.bucket_of(now);
        let oldest = since.map_or(i64::MIN, |since| self.bucket_of(since));
        (0..BUCKETS).rev().map(|back| current - back * width).filter(|start| *start >= oldest).collect()
    }

    /// The last [`RECENT_BUCKETS`] of the window at `now`, oldest first.
    pub fn recent_buckets(&self, now: DateTime<Utc>, since: Option<DateTime<Utc>>) -> Vec<i64> {
        let mut buckets = self.window_buckets(now, since);
        buckets.split_off(buckets.len().saturating_sub(RECENT_BUCKETS))
    }

    /// Whether the window's counts open the breaker.
    pub fn trips(&self, counts: WindowCounts) -> bool {
        counts.calls >= u64::from(self.min_calls) && self.failing(counts)
    }

    /// Whether the counts of the recent buckets alone open the breaker: as many failures as
    /// the window needs calls, at the failure rate. Never a handful of calls, however quiet
    /// the traffic; within seconds of a provider going down, however busy it was before.
    pub fn trips_recently(&self, recent: WindowCounts) -> bool {
        recent.failures >= u64::from(self.min_calls) && self.failing(recent)
    }

    fn failing(&self, counts: WindowCounts) -> bool {
        counts.failures as f64 / counts.calls.max(1) as f64 >= self.failure_rate
    }
}

/// The breaker's state, written only when it changes. While closed, outcomes are counted
/// apart (atomic additions to per-bucket counters), so recording one never rewrites this.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "SCREAMING_SNAKE_CASE", rename_all_fields = "camelCase")]
pub enum BreakerState {
    /// Counting; failures from before `since` (the last time it closed) no longer count.
    Closed {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        since: Option<DateTime<Utc>>,
    },
    Open {
        until: DateTime<Utc>,
    },
    HalfOpen {
        probe_started_at: DateTime<Utc>,
    },
}

impl Default for BreakerState {
    fn default() -> Self {
        BreakerState::Closed { since: None }
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

    /// The state a probe's outcome leaves: closed (counting afresh) or open again.
    pub fn after_probe(policy: &BreakerPolicy, outcome: CallOutcome, now: DateTime<Utc>) -> BreakerState {
        match outcome {
            CallOutcome::Answered => BreakerState::Closed { since: Some(now) },
            CallOutcome::Failed => BreakerState::Open { until: now + policy.cool_down },
        }
    }

    /// The open state the breaker trips to at `now`.
    pub fn tripped(policy: &BreakerPolicy, now: DateTime<Utc>) -> BreakerState {
        BreakerState::Open { until: now + policy.cool_down }
    }
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

    fn counts(calls: u64, failures: u64) -> WindowCounts {
        WindowCounts { calls, failures }
    }

    #[test]
    fn opens_at_the_failure_rate_only_with_enough_calls() {
        assert!(!policy().trips(counts(3, 3)), "three calls are under the minimum");
        assert!(policy().trips(counts(4, 3)), "3 of 4 failed");
        assert!(policy().trips(counts(4, 2)), "half failed");
        assert!(!policy().trips(counts(5, 2)));
    }

    #[test]
    fn the_last_seconds_alone_open_it_only_on_as_many_failures_as_the_window_needs_calls() {
        assert!(!policy().trips_recently(counts(4, 3)), "three failures are a handful");
        assert!(policy().trips_recently(counts(8, 4)), "four failures, half the calls");
        assert!(!policy().trips_recently(counts(9, 4)), "under the failure rate");
    }

    #[test]
    fn the_window_is_the_last_thirty_seconds_since_the_breaker_closed() {
        let buckets = policy().window_buckets(at(40), None);
        assert_eq!(buckets.len(), 30);
        assert_eq!(*buckets.last().unwrap(), policy().bucket_of(at(40)));
        assert_eq!(buckets[0], policy().bucket_of(at(11)), "1 s buckets: 11..40 s");
        assert!(!buckets.contains(&policy().bucket_of(at(5))), "old failures slide out");
        let since_closed = policy().window_buckets(at(40), Some(at(38)));
        assert_eq!(since_closed, [policy().bucket_of(at(38)), policy().bucket_of(at(39)), policy().bucket_of(at(40))]);
        assert_eq!(policy().recent_buckets(at(40), None), since_closed, "the last three seconds");
        assert_eq!(policy().recent_buckets(at(40), Some(at(40))), [policy().bucket_of(at(40))]);
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
            BreakerState::after_probe(&policy(), CallOutcome::Answered, at(11)),
            BreakerState::Closed { since: Some(at(11)) }
        );
        assert_eq!(
            BreakerState::after_probe(&policy(), CallOutcome::Failed, at(11)),
            BreakerState::Open { until: at(21) }
        );
        assert_eq!(half_open.permit(&policy(), at(13)).0, Permission::Probe, "a probe that never reported is replaced");
    }

    #[test]
    fn a_state_stored_with_the_old_window_reads_as_closed() {
        let stored = r#"{"state":"CLOSED","buckets":[{"startMs":1,"calls":2,"failures":1}]}"#;
        assert_eq!(serde_json::from_str::<BreakerState>(stored).unwrap(), BreakerState::default());
    }
}
