//! `list-crew-alerts`: GET /admin/alerts, the crew's alerts of the last day. One DynamoDB client, built once per cold start.

use kickboard_common::handlers::operations::ListCrewAlerts;
use kickboard_functions::serve;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    serve::<ListCrewAlerts>().await
}
