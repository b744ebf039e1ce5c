//! Benchmarks, each a function that runs a measured scenario on loopback and returns its
//! figures; `src/main.rs` turns them into the tables of BENCHMARKS.md.

use chrono::Duration;
use hyper::{Method, StatusCode};
use kickboard_common::adapters::http_payments::PaymentTimeouts;
use kickboard_common::domain::breaker::BreakerPolicy;
use kickboard_local::config::{LocalConfig, Storage};
use kickboard_tests::{ManualClock, TestServer};
use payment_simulator::Settings;
use std::sync::Arc;
use std::time::Instant;

/// Latency percentiles of a run, in milliseconds.
#[derive(Debug, Clone, PartialEq)]
pub struct Latencies {
    pub count: usize,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
}

impl Latencies {
    pub fn of(mut samples: Vec<std::time::Duration>) -> Self {
        samples.sort();
        let at = |quantile: f64| {
            let index = ((samples.len() as f64 * quantile).ceil() as usize).clamp(1, samples.len()) - 1;
            samples[index].as_secs_f64() * 1000.0
        };
        Self { count: samples.len(), p50: at(0.50), p90: at(0.90), p99: at(0.99), max: at(1.0) }
    }
}

/// What the fallback benchmark measured.
#[derive(Debug, Clone, PartialEq)]
pub struct FallbackReport {
    pub latencies: Latencies,
    /// Answers that were not "503, pay later" (must be 0).
    pub other_answers: usize,
    /// Provider calls made while the breaker was open (must be 0).
    pub provider_calls_while_open: u64,
}

/// Payment requests while the breaker is open: how fast the "pay later" fallback answers.
/// The provider is down; the breaker opens after its first few failures and stays open.
pub async fn fallback(requests: usize, concurrency: usize) -> FallbackReport {
    let provider = payment_simulator::start(
        "127.0.0.1:0".parse().expect("an address"),
        Settings { failure_rate: 1.0, ..Settings::default() },
    )
    .await
    .expect("the simulator starts");
    let config = LocalConfig {
        addr: "127.0.0.1:0".parse().expect("an address"),
        storage: Storage::InMemory,
        payment_url: Some(provider.url()),
        payment_timeouts: PaymentTimeouts::from_env(),
        breaker: BreakerPolicy {
            window: Duration::seconds(30),
            min_calls: 4,
            failure_rate: 0.5,
            cool_down: Duration::hours(1),
            probe_timeout: Duration::seconds(5),
        },
        ..LocalConfig::default()
    };
    let kb = Arc::new(TestServer::start_configured(config, ManualClock::new()).await);
    let token = kb.customer_token("bench");
    let pass = kb.unpaid_pass(&token, "basic-60").await;
    let path = format!("/passes/{pass}/payment");
    for _ in 0..4 {
        kb.call(Method::POST, &path, Some(&token), None).await;
    }
    let calls_before = provider.simulator.stats().requests;

    let per_worker = requests.div_ceil(concurrency.max(1));
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..concurrency.max(1) {
        let (kb, token, path) = (Arc::clone(&kb), token.clone(), path.clone());
        workers.spawn(async move {
            let mut samples = Vec::with_capacity(per_worker);
            let mut other = 0;
            for _ in 0..per_worker {
                let started = Instant::now();
                let reply = kb.call(Method::POST, &path, Some(&token), None).await;
                samples.push(started.elapsed());
                if reply.status != StatusCode::SERVICE_UNAVAILABLE || reply.retry_after.is_none() {
                    other += 1;
                }
            }
            (samples, other)
        });
    }
    let mut samples = Vec::new();
    let mut other_answers = 0;
    for (worker_samples, other) in workers.join_all().await {
        samples.extend(worker_samples);
        other_answers += other;
    }
    let report = FallbackReport {
        latencies: Latencies::of(samples),
        other_answers,
        provider_calls_while_open: provider.simulator.stats().requests - calls_before,
    };
    provider.stop();
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_fallback_bench_runs_on_a_tiny_input() {
        let report = fallback(20, 4).await;
        assert_eq!(report.latencies.count, 20);
        assert_eq!(report.other_answers, 0, "every answer is 503 with Retry-After");
        assert_eq!(report.provider_calls_while_open, 0);
    }

    #[test]
    fn percentiles_pick_the_right_samples() {
        let samples = (1..=100).map(std::time::Duration::from_millis).collect();
        let latencies = Latencies::of(samples);
        assert_eq!((latencies.p50, latencies.p99, latencies.max), (50.0, 99.0, 100.0));
    }
}
