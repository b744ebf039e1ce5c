//! `pay-pass`: `POST /passes/{passId}/payment`. One DynamoDB client (passes and the shared
//! payment breaker) and one HTTP client for the provider at `PAYMENT_PROVIDER_URL`. With
//! `PAYMENT_MODE=simulator` it pays the built-in simulator instead (`PAYMENT_SIMULATOR_*`
//! rates), for trying a stack out before a provider is contracted. With neither, every
//! payment is refused (`503 payment-not-configured`): a stack is never free by default.

use kickboard_common::adapters::http_payments::{HttpPaymentProvider, PaymentTimeouts};
use kickboard_common::adapters::payment_simulator::{PaymentSimulator, SimulatorSettings};
use kickboard_common::handlers::passes::{pay_pass, payment_not_configured};
use kickboard_common::payments::{GuardedPayments, policy_from_env};
use kickboard_common::ports::{PaymentProvider, SystemClock};
use kickboard_functions::{aws_config, dynamo_store, run_http};
use std::sync::Arc;

fn setting<T: std::str::FromStr + Default>(name: &str) -> T {
    std::env::var(name).ok().and_then(|value| value.parse().ok()).unwrap_or_default()
}

/// The provider the environment names, if it names one.
fn provider(timeouts: PaymentTimeouts) -> Result<Option<Arc<dyn PaymentProvider>>, lambda_http::Error> {
    if std::env::var("PAYMENT_MODE").is_ok_and(|mode| mode == "simulator") {
        let settings = SimulatorSettings {
            latency_ms: setting("PAYMENT_SIMULATOR_LATENCY_MS"),
            failure_rate: setting("PAYMENT_SIMULATOR_FAILURE_RATE"),
            decline_rate: setting("PAYMENT_SIMULATOR_DECLINE_RATE"),
        };
        return Ok(Some(Arc::new(PaymentSimulator::new(settings.validated()?))));
    }
    match std::env::var("PAYMENT_PROVIDER_URL").ok().filter(|url| !url.is_empty()) {
        Some(url) => Ok(Some(Arc::new(HttpPaymentProvider::new(&url, timeouts)?))),
        None => Ok(None),
    }
}

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    let timeouts = PaymentTimeouts::from_env();
    let Some(provider) = provider(timeouts)? else {
        return run_http(payment_not_configured).await;
    };
    let store = Arc::new(dynamo_store(&aws_config().await)?);
    let payments =
        GuardedPayments::new(provider, store.clone(), policy_from_env(timeouts.total), Arc::new(SystemClock));
    run_http(|request| pay_pass(store.as_ref(), store.as_ref(), &payments, &SystemClock, request)).await
}
