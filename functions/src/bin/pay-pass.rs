//! `pay-pass`: `POST /passes/{passId}/payment`. One DynamoDB client (passes and the shared
//! payment breaker) and one HTTP client for the provider at `PAYMENT_PROVIDER_URL`. With
//! `PAYMENT_MODE=simulator` it pays the built-in simulator instead (`PAYMENT_SIMULATOR_*`
//! rates), for trying a stack out before a provider is contracted. With neither, every
//! payment is refused (`503 payment-not-configured`): a stack is never free by default.

use kickboard_common::handlers::passes::PayPass;
use kickboard_functions::serve;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    serve::<PayPass>().await
}
