//! `list-geographies`: GET /mds/geographies, the city's Geographies imported. One DynamoDB client, built once per cold start.

use kickboard_common::handlers::city_rules::ListGeographies;
use kickboard_functions::serve;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    serve::<ListGeographies>().await
}
