//! `pay-pass`: `POST /passes/{passId}/payment`. One DynamoDB client. The payment provider
//! is the simulator, configured by `PAYMENT_SIMULATOR_LATENCY_MS`, `…_FAILURE_RATE` and
//! `…_DECLINE_RATE`, until the HTTP provider adapter lands.

use kickboard_common::adapters::payment_simulator::{PaymentSimulator, SimulatorSettings};
use kickboard_common::handlers::passes::pay_pass;
use kickboard_common::ports::SystemClock;
use kickboard_functions::{aws_config, dynamo_store, run_http};

fn setting<T: std::str::FromStr + Default>(name: &str) -> T {
    std::env::var(name).ok().and_then(|value| value.parse().ok()).unwrap_or_default()
}

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    let store = dynamo_store(&aws_config().await)?;
    let settings = SimulatorSettings {
        latency_ms: setting("PAYMENT_SIMULATOR_LATENCY_MS"),
        failure_rate: setting("PAYMENT_SIMULATOR_FAILURE_RATE"),
        decline_rate: setting("PAYMENT_SIMULATOR_DECLINE_RATE"),
    }
    .validated()?;
    let payments = PaymentSimulator::new(settings);
    run_http(|request| pay_pass(&store, &payments, &SystemClock, request)).await
}
