//! `gbfs-feed`: `GET /gbfs/v3/{feed}`, the public GBFS feed. One DynamoDB client; the fleet
//! snapshot is kept for the feed's `ttl` across the invocations of this instance.

use kickboard_common::handlers::gbfs::GbfsFeed;
use kickboard_functions::serve;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    serve::<GbfsFeed>().await
}
