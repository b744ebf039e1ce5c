//! `mds-events-recent`: `GET /mds/events/recent` (MDS 2.0, agency group). One DynamoDB client, built once per cold start.

use kickboard_common::handlers::mds::MdsEventsRecent;
use kickboard_functions::serve;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    serve::<MdsEventsRecent>().await
}
