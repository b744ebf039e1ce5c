//! `list-policies`: GET /mds/policies, the city's Policies imported. One DynamoDB client, built once per cold start.

use kickboard_common::handlers::city_rules::ListPolicies;
use kickboard_functions::serve;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    serve::<ListPolicies>().await
}
