//! `mds-compliance`: GET /mds/compliance, the city's fleet caps in force and the fleet against
//! them. One DynamoDB client, built once per cold start.

use kickboard_common::handlers::city_rules::GetCompliance;
use kickboard_functions::serve;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    serve::<GetCompliance>().await
}
