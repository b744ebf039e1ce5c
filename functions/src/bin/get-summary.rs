//! `get-summary`: GET /admin/summary, today's figures and the payment breaker. One DynamoDB client, built once per cold start.

use kickboard_common::handlers::operations::GetSummary;
use kickboard_functions::serve;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    serve::<GetSummary>().await
}
