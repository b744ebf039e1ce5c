//! `gbfs-feed`: `GET /gbfs/v3/{feed}`, the public GBFS feed. One DynamoDB client; the fleet
//! snapshot is kept for the feed's `ttl` across the invocations of this instance.

use kickboard_common::handlers::fleet::battery_rules_from_env;
use kickboard_common::handlers::gbfs::{FleetSnapshots, GbfsDeps, GbfsSettings, gbfs_feed};
use kickboard_common::handlers::geofencing::{Geofence, ZONE_CHECK_INTERVAL, ZoneCache};
use kickboard_common::ports::SystemClock;
use kickboard_functions::{aws_config, dynamo_store, run_http};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    let rules = battery_rules_from_env()?;
    let settings = GbfsSettings::from_env()?;
    let store = dynamo_store(&aws_config().await)?;
    let snapshots = FleetSnapshots::default();
    let cache = ZoneCache::new(ZONE_CHECK_INTERVAL);
    let geofence = Geofence { store: &store, cache: &cache };
    let deps = GbfsDeps {
        fleet: &store,
        snapshots: &snapshots,
        geofence,
        clock: &SystemClock,
        settings: &settings,
        rules: &rules,
    };
    run_http(|request| gbfs_feed(&deps, request)).await
}
