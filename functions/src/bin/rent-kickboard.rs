//! `rent-kickboard`: `POST /rentals`. One DynamoDB client, built once per cold start; the
//! zones are kept between invocations and read again when their version moves.

use kickboard_common::handlers::fleet::battery_rules_from_env;
use kickboard_common::handlers::geofencing::{Geofence, ZONE_CHECK_INTERVAL, ZoneCache};
use kickboard_common::handlers::rentals::rent_kickboard;
use kickboard_common::ports::SystemClock;
use kickboard_functions::{aws_config, dynamo_store, run_http};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    let rules = battery_rules_from_env()?;
    let store = dynamo_store(&aws_config().await)?;
    let cache = ZoneCache::new(ZONE_CHECK_INTERVAL);
    let geofence = Geofence { store: &store, cache: &cache };
    run_http(|request| rent_kickboard(&store, &store, &SystemClock, &rules, geofence, request)).await
}
