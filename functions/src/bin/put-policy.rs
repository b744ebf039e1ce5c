//! `put-policy`: PUT /mds/policies/{policy_id}, a city's MDS Policy imported and compiled. One DynamoDB client, built once per cold start.

use kickboard_common::handlers::city_rules::PutPolicy;
use kickboard_functions::serve;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    serve::<PutPolicy>().await
}
