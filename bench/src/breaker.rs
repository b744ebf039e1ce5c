//! How fast the shared breaker opens when its provider goes fully down after a stretch of good
//! traffic. Time is simulated (a manual clock steps one payment interval at a time), so the
//! figures are exact and the same on any machine; every outcome goes through the real breaker
//! store (SQLite, or DynamoDB on moto) and the real `GuardedPayments`.

use async_trait::async_trait;
use kickboard_common::adapters::aws::DynamoStore;
use kickboard_common::adapters::sqlite::SqliteStore;
use kickboard_common::domain::ids::{CustomerId, PassId, PaymentId};
use kickboard_common::domain::plan::Won;
use kickboard_common::payments::{GuardedPayments, PaymentRefused};
use kickboard_common::ports::{BreakerStore, ChargeOutcome, ChargeRequest, Clock, PaymentError, PaymentProvider};
use kickboard_common::settings::Settings;
use kickboard_tests::ManualClock;
use kickboard_tests::moto::{Moto, deploy};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Seconds of good traffic before the outage: two whole windows of the default breaker.
const GOOD_SECONDS: u32 = 60;
/// The outage is given this long to open the breaker before the run gives up.
const OUTAGE_LIMIT_SECONDS: u32 = 120;

/// A provider that approves until it is switched down, then fails every call.
#[derive(Default)]
struct Switch {
    down: AtomicBool,
    calls: AtomicU64,
}

#[async_trait]
impl PaymentProvider for Switch {
    async fn charge(&self, _: &ChargeRequest) -> Result<ChargeOutcome, PaymentError> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        if self.down.load(Ordering::Relaxed) {
            return Err(PaymentError::Unavailable("down".into()));
        }
        Ok(ChargeOutcome::Approved { payment_id: PaymentId::random() })
    }
}

/// How one outage went.
pub struct Opening {
    /// Payments a second, before and during the outage.
    pub rate: u32,
    /// Simulated seconds from the outage to the first payment refused by the open breaker.
    pub seconds_to_open: f64,
    /// Calls that went to the dead provider meanwhile.
    pub calls_wasted: u64,
}

/// `rate` payments a second for a minute, then the provider goes down: when does the breaker
/// with the default settings open, and how many calls reached the dead provider first?
pub async fn opening(store: Arc<dyn BreakerStore>, rate: u32) -> Opening {
    let provider = Arc::new(Switch::default());
    let clock = ManualClock::new();
    let policy = Settings::default().payments.breaker;
    let payments = GuardedPayments::new(provider.clone(), store, policy, clock.clone());
    let step = chrono::Duration::microseconds(1_000_000 / i64::from(rate));
    let charge = |i: u64| ChargeRequest {
        pass_id: PassId::random(),
        customer: CustomerId::try_from("rider").expect("a valid id"),
        amount: Won(6_000),
        idempotency_key: format!("bench-{i}"),
    };
    let mut i = 0;
    for _ in 0..GOOD_SECONDS * rate {
        clock.advance(step);
        i += 1;
        let paid = payments.charge(&charge(i)).await.expect("the store answers");
        assert!(paid.is_ok(), "good traffic is approved: {paid:?}");
    }
    provider.down.store(true, Ordering::Relaxed);
    let (down_at, calls_before) = (clock.now(), provider.calls.load(Ordering::Relaxed));
    for _ in 0..OUTAGE_LIMIT_SECONDS * rate {
        clock.advance(step);
        i += 1;
        let refused = payments.charge(&charge(i)).await.expect("the store answers");
        if matches!(refused, Err(PaymentRefused::BreakerOpen { .. })) {
            let seconds_to_open = (clock.now() - down_at).num_milliseconds() as f64 / 1000.0;
            return Opening {
                rate,
                seconds_to_open,
                calls_wasted: provider.calls.load(Ordering::Relaxed) - calls_before,
            };
        }
    }
    panic!("the breaker did not open within {OUTAGE_LIMIT_SECONDS} s of a provider fully down");
}

/// The opening at each rate, on SQLite and on DynamoDB (moto).
pub async fn openings(rates: &[u32]) -> Vec<(&'static str, Opening)> {
    let mut runs = Vec::new();
    for &rate in rates {
        let sqlite = SqliteStore::open_in_memory().expect("an in-memory store");
        runs.push(("SQLite", opening(Arc::new(sqlite), rate).await));
    }
    let moto = Moto::start();
    let config = moto.sdk_config().await;
    for &rate in rates {
        let deployment = deploy(&config).await;
        let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&config), deployment.tables);
        runs.push(("DynamoDB (moto)", opening(Arc::new(store), rate).await));
    }
    runs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_provider_down_after_busy_minutes_opens_the_breaker_within_seconds_not_calls() {
        for rate in [5, 50] {
            let sqlite = SqliteStore::open_in_memory().unwrap();
            let opened = opening(Arc::new(sqlite), rate).await;
            assert!(opened.seconds_to_open <= 3.5, "{rate}/s: {} s", opened.seconds_to_open);
            assert!(opened.calls_wasted >= 10, "never on a handful of calls: {}", opened.calls_wasted);
        }
    }
}
