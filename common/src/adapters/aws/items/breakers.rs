//! Circuit breaker items (`BreakerStore`): the shared state and the sharded call counts.

use super::{BREAKER_SK, breaker_pk};
use crate::domain::breaker::BreakerState;
use chrono::Duration;
use serde::{Deserialize, Serialize};

/// A circuit breaker's shared state, updated only with `version` conditions.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BreakerItem {
    pub pk: String,
    pub sk: String,
    pub version: u64,
    pub breaker: BreakerState,
}

impl BreakerItem {
    pub fn new(name: &str, breaker: &BreakerState, version: u64) -> Self {
        Self { pk: breaker_pk(name), sk: BREAKER_SK.to_owned(), version, breaker: breaker.clone() }
    }
}

/// Counter items a breaker's bucket is spread over: one counter item takes about 1,000
/// writes/s, so four take a brown-out of 4,000 payments/s in one 1 s bucket.
pub const BREAKER_COUNTER_SHARDS: u8 = 4;
/// How long a bucket's counts are kept: far longer than any window.
const BREAKER_COUNT_TTL: Duration = Duration::hours(1);

/// When a bucket's counter items expire (epoch seconds).
pub fn breaker_count_ttl(bucket_ms: i64) -> i64 {
    bucket_ms / 1000 + BREAKER_COUNT_TTL.num_seconds()
}

/// What a counter item holds.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct BreakerCountItem {
    #[serde(default)]
    pub calls: u64,
    #[serde(default)]
    pub failures: u64,
}
