//! `put-geography`: PUT /mds/geographies/{geography_id}, a city's MDS Geography imported. One DynamoDB client, built once per cold start.

use kickboard_common::handlers::city_rules::PutGeography;
use kickboard_functions::serve;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    serve::<PutGeography>().await
}
