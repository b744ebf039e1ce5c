//! Payment that degrades gracefully, against the payment simulator over HTTP on loopback:
//! the shared breaker opens on failures and slowness, refuses at once while open, lets one
//! probe through after the cool-down, and nothing is ever charged twice.

use chrono::Duration;
use hyper::{Method, StatusCode};
use kickboard_common::adapters::aws::DynamoStore;
use kickboard_common::adapters::http_payments::{HttpPaymentProvider, PaymentTimeouts};
use kickboard_common::adapters::sqlite::SqliteStore;
use kickboard_common::domain::breaker::BreakerPolicy;
use kickboard_common::domain::ids::{CustomerId, PassId};
use kickboard_common::domain::plan::Won;
use kickboard_common::payments::{GuardedPayments, PAYMENT_BREAKER, PaymentRefused};
use kickboard_common::ports::{BreakerStore, ChargeRequest, Clock};
use kickboard_local::config::{LocalConfig, Storage};
use kickboard_tests::moto::{Moto, deploy};
use kickboard_tests::{ManualClock, Reply, TestServer};
use payment_simulator::{FailureKind, RunningSimulator, Settings, Stats};
use std::sync::Arc;
use std::time::Instant;

const TIMEOUTS: PaymentTimeouts =
    PaymentTimeouts { connect: std::time::Duration::from_millis(200), total: std::time::Duration::from_millis(300) };

fn policy() -> BreakerPolicy {
    BreakerPolicy {
        window: Duration::seconds(30),
        min_calls: 4,
        failure_rate: 0.5,
        cool_down: Duration::seconds(10),
        probe_timeout: Duration::seconds(2),
    }
}

async fn simulator(settings: Settings) -> RunningSimulator {
    payment_simulator::start("127.0.0.1:0".parse().unwrap(), settings).await.unwrap()
}

/// A local server paying `provider` through a breaker with the test policy.
async fn server_paying(provider: &RunningSimulator) -> TestServer {
    let config = LocalConfig {
        addr: "127.0.0.1:0".parse().unwrap(),
        storage: Storage::InMemory,
        payment_url: Some(provider.url()),
        payment_timeouts: TIMEOUTS,
        breaker: policy(),
        ..LocalConfig::default()
    };
    TestServer::start_configured(config, ManualClock::new()).await
}

async fn pay(kb: &TestServer, token: &str, pass: &str) -> Reply {
    kb.call(Method::POST, &format!("/passes/{pass}/payment"), Some(token), None).await
}

fn stats(provider: &RunningSimulator) -> Stats {
    provider.simulator.stats()
}

fn assert_pay_later(reply: &Reply) {
    assert_eq!((reply.status, reply.problem()), (StatusCode::SERVICE_UNAVAILABLE, "payment-unavailable"), "{reply:?}");
    assert!(reply.body["detail"].as_str().unwrap().contains("later"), "{reply:?}");
    assert!(reply.retry_after.is_some_and(|secs| secs >= 1), "Retry-After: {reply:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_answering_5xx_opens_the_breaker_and_is_then_left_alone() {
    failing_provider_opens_the_breaker(FailureKind::Error).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_resetting_connections_opens_the_breaker_and_is_then_left_alone() {
    failing_provider_opens_the_breaker(FailureKind::Reset).await;
}

async fn failing_provider_opens_the_breaker(failure_kind: FailureKind) {
    let provider = simulator(Settings { failure_rate: 1.0, failure_kind, ..Settings::default() }).await;
    let kb = server_paying(&provider).await;
    let alice = kb.customer_token("alice");
    let mut passes = Vec::new();
    for _ in 0..10 {
        passes.push(kb.unpaid_pass(&alice, "basic-60").await);
    }
    for pass in &passes[..4] {
        assert_pay_later(&pay(&kb, &alice, pass).await);
    }
    assert_eq!(stats(&provider).requests, 4, "the provider saw the calls that opened the breaker");
    for pass in &passes[4..] {
        let reply = pay(&kb, &alice, pass).await;
        assert_pay_later(&reply);
        assert!(reply.retry_after.unwrap() <= 10, "seconds until the probe: {reply:?}");
    }
    assert_eq!(stats(&provider).requests, 4, "an open breaker does not call the provider");
    for pass in &passes {
        assert_eq!(kb.get(&format!("/passes/{pass}"), &alice).await.body["status"], "PENDING_PAYMENT");
    }
    assert_eq!(stats(&provider).charges, 0);
    kb.stop().await;
    provider.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_provider_times_out_opens_the_breaker_and_no_request_waits_past_the_timeout() {
    let provider = simulator(Settings { latency_ms: 5_000, ..Settings::default() }).await;
    let kb = server_paying(&provider).await;
    let alice = kb.customer_token("alice");
    for attempt in 0..8 {
        let pass = kb.unpaid_pass(&alice, "basic-60").await;
        let started = Instant::now();
        let reply = pay(&kb, &alice, &pass).await;
        let waited = started.elapsed();
        assert_pay_later(&reply);
        // The provider would take 5 s; the 300 ms timeout (or the open breaker) answers first.
        assert!(waited < std::time::Duration::from_secs(2), "attempt {attempt} waited {waited:?}");
    }
    assert_eq!(stats(&provider).requests, 4, "after four timeouts the breaker stopped calling");
    kb.stop().await;
    provider.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_the_cool_down_one_probe_of_fifty_payers_reaches_the_provider_and_closes_it() {
    let provider = simulator(Settings { failure_rate: 1.0, ..Settings::default() }).await;
    let kb = Arc::new(server_paying(&provider).await);
    let alice = kb.customer_token("alice");
    for _ in 0..4 {
        let pass = kb.unpaid_pass(&alice, "basic-60").await;
        assert_pay_later(&pay(&kb, &alice, &pass).await);
    }
    provider.simulator.set(Settings { latency_ms: 200, ..Settings::default() });
    let mut passes = Vec::new();
    for _ in 0..50 {
        passes.push(kb.unpaid_pass(&alice, "basic-60").await);
    }
    kb.clock.advance(Duration::seconds(11));

    let before = stats(&provider).requests;
    let mut payers = tokio::task::JoinSet::new();
    for pass in passes.clone() {
        let (kb, alice) = (Arc::clone(&kb), alice.clone());
        payers.spawn(async move { pay(&kb, &alice, &pass).await });
    }
    let replies = payers.join_all().await;
    assert_eq!(stats(&provider).requests - before, 1, "exactly one probe reached the provider");
    let paid = replies.iter().filter(|reply| reply.status == StatusCode::OK).count();
    assert_eq!(paid, 1, "the probe's payer paid");
    replies.iter().filter(|reply| reply.status != StatusCode::OK).for_each(assert_pay_later);

    let unpaid = passes.iter().find(|pass| {
        !replies.iter().any(|reply| reply.status == StatusCode::OK && reply.body["passId"] == pass.as_str())
    });
    let after = pay(&kb, &alice, unpaid.unwrap()).await;
    assert_eq!(after.status, StatusCode::OK, "the probe's success closed the breaker: {after:?}");
    provider.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timed_out_charge_that_landed_is_found_not_charged_again() {
    let provider = simulator(Settings {
        failure_rate: 1.0,
        failure_kind: FailureKind::Timeout,
        hang_ms: 2_000,
        ..Settings::default()
    })
    .await;
    let kb = server_paying(&provider).await;
    let alice = kb.customer_token("alice");
    let passes = [kb.unpaid_pass(&alice, "basic-60").await, kb.unpaid_pass(&alice, "plus-120").await];
    for pass in &passes {
        assert_pay_later(&pay(&kb, &alice, pass).await);
    }
    assert_eq!(stats(&provider).charges, 2, "both charges landed though no answer arrived");

    provider.simulator.set(Settings::default());
    for pass in &passes {
        let retried = pay(&kb, &alice, pass).await;
        assert_eq!(retried.status, StatusCode::OK, "{retried:?}");
        let again = pay(&kb, &alice, pass).await;
        assert_eq!((again.status, again.problem()), (StatusCode::CONFLICT, "pass-already-paid"));
    }
    assert_eq!(stats(&provider).charges, 2, "one charge per pass");
    assert_eq!(stats(&provider).requests, 2, "the retries asked about their key instead of charging again");
    kb.stop().await;
    provider.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declined_payment_is_402_and_charges_nothing() {
    let provider = simulator(Settings { decline_rate: 1.0, ..Settings::default() }).await;
    let kb = server_paying(&provider).await;
    let alice = kb.customer_token("alice");
    let pass = kb.unpaid_pass(&alice, "basic-60").await;
    let before = kb.row_counts().await;
    let declined = pay(&kb, &alice, &pass).await;
    assert_eq!((declined.status, declined.problem()), (StatusCode::PAYMENT_REQUIRED, "payment-declined"));
    assert_eq!(kb.get(&format!("/passes/{pass}"), &alice).await.body["status"], "PENDING_PAYMENT");
    assert_eq!(stats(&provider).charges, 0);
    let mut after = kb.row_counts().await;
    assert_eq!(after.remove("breaker_counts"), Some(1), "the answered call is counted");
    let mut before = before;
    before.remove("breaker_counts");
    assert_eq!(after, before, "nothing but the breaker's tally was written");
    kb.stop().await;
    provider.stop();
}

fn charge(pass: &str) -> ChargeRequest {
    ChargeRequest {
        pass_id: PassId::try_from(pass).unwrap(),
        customer: CustomerId::try_from("alice").unwrap(),
        amount: Won(6_000),
        idempotency_key: format!("pass-{pass}"),
    }
}

/// Two instances (their own provider clients) sharing one breaker store.
async fn two_instances_share_one_breaker(store: Arc<dyn BreakerStore>) {
    let provider = simulator(Settings { failure_rate: 1.0, ..Settings::default() }).await;
    let clock = ManualClock::new();
    let instance = || {
        let client = Arc::new(HttpPaymentProvider::new(&provider.url(), TIMEOUTS).unwrap());
        GuardedPayments::new(client, Arc::clone(&store), policy(), clock.clone())
    };
    let (first, second) = (instance(), instance());
    for i in 0..4 {
        let refused = first.charge(&charge(&format!("p{i}"))).await.unwrap();
        assert!(matches!(refused, Err(PaymentRefused::ProviderFailed { .. })), "{refused:?}");
    }
    let refused = second.charge(&charge("p9")).await.unwrap();
    assert!(matches!(refused, Err(PaymentRefused::BreakerOpen { .. })), "the other instance sees it open");
    assert_eq!(stats(&provider).requests, 4);

    provider.simulator.set(Settings::default());
    clock.advance(Duration::seconds(11));
    assert!(second.charge(&charge("p10")).await.unwrap().is_ok(), "the second instance probes");
    assert!(first.charge(&charge("p11")).await.unwrap().is_ok(), "and the first sees it closed");
    provider.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_share_the_breaker_on_sqlite() {
    two_instances_share_one_breaker(Arc::new(SqliteStore::open_in_memory().unwrap())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_share_the_breaker_on_dynamodb() {
    let moto = Moto::start();
    let config = moto.sdk_config().await;
    let deployment = deploy(&config).await;
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&config), deployment.tables);
    two_instances_share_one_breaker(Arc::new(store)).await;
}

/// Thirty instances paying at once against a provider that fails slowly: every outcome is
/// counted (none lost to a contended write), the breaker opens once past its thresholds and
/// is then left alone, and after the cool-down exactly one of thirty probes.
async fn thirty_payers_open_the_breaker_within_its_thresholds(store: Arc<dyn BreakerStore>) {
    let provider = simulator(Settings { failure_rate: 1.0, latency_ms: 100, ..Settings::default() }).await;
    let clock = ManualClock::new();
    // The probe below answers after 250 ms: a timeout well past it, so a busy machine does
    // not fail the probe (and so let another payer probe) by its own slowness.
    let timeouts = PaymentTimeouts { total: std::time::Duration::from_secs(2), ..TIMEOUTS };
    let instance = || {
        let client = Arc::new(HttpPaymentProvider::new(&provider.url(), timeouts).unwrap());
        GuardedPayments::new(client, Arc::clone(&store), policy(), clock.clone())
    };
    let wave = |name: &'static str| {
        // Every instance is made before any pays: making one loads the TLS roots, and on a
        // busy machine thirty of them took longer than the probe below.
        let instances: Vec<_> = (0..30).map(|_| instance()).collect();
        let mut payers = tokio::task::JoinSet::new();
        for (i, payments) in instances.into_iter().enumerate() {
            payers.spawn(async move { payments.charge(&charge(&format!("{name}{i}"))).await.unwrap() });
        }
        payers.join_all()
    };

    // Payers that found the breaker closed call the provider; those that came after it
    // opened are refused at once. However many called, every outcome is counted.
    let first = wave("a").await;
    let failed = first.iter().filter(|paid| matches!(paid, Err(PaymentRefused::ProviderFailed { .. }))).count();
    let refused = first.iter().filter(|paid| matches!(paid, Err(PaymentRefused::BreakerOpen { .. }))).count();
    assert_eq!(failed + refused, 30, "{first:?}");
    assert!(failed >= policy().min_calls as usize, "it opened only past its minimum of calls: {first:?}");
    assert_eq!(stats(&provider).requests, failed as u64);
    let window = policy().window_buckets(clock.now(), None);
    let counted = store.count_window(PAYMENT_BREAKER, &window).await.unwrap();
    assert_eq!((counted.calls, counted.failures), (failed as u64, failed as u64), "every outcome counted");
    let state = store.load_breaker(PAYMENT_BREAKER).await.unwrap();
    assert_eq!(state.value.name(), "OPEN");
    assert_eq!(state.version, 1, "one instance opened it; the state was written once");

    let second = wave("b").await;
    assert!(second.iter().all(|paid| matches!(paid, Err(PaymentRefused::BreakerOpen { .. }))), "{second:?}");
    assert_eq!(stats(&provider).requests, failed as u64, "an open breaker sends nothing");

    // The probe takes long enough for every payer of the wave to find the breaker half-open.
    provider.simulator.set(Settings { latency_ms: 250, ..Settings::default() });
    clock.advance(Duration::seconds(11));
    let third = wave("c").await;
    assert_eq!(stats(&provider).requests, failed as u64 + 1, "exactly one probe");
    assert_eq!(third.iter().filter(|paid| paid.is_ok()).count(), 1, "{third:?}");
    assert_eq!(store.load_breaker(PAYMENT_BREAKER).await.unwrap().value.name(), "CLOSED");
    provider.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_payers_open_the_breaker_within_its_thresholds_on_sqlite() {
    thirty_payers_open_the_breaker_within_its_thresholds(Arc::new(SqliteStore::open_in_memory().unwrap())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_payers_open_the_breaker_within_its_thresholds_on_dynamodb() {
    let moto = Moto::start();
    let config = moto.sdk_config().await;
    let deployment = deploy(&config).await;
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&config), deployment.tables);
    thirty_payers_open_the_breaker_within_its_thresholds(Arc::new(store)).await;
}
