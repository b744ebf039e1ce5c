//! `mds-telemetry`: `GET /mds/telemetry` (MDS 2.0, agency group). One DynamoDB client, built once per cold start.

use kickboard_common::handlers::mds::MdsTelemetryOfHour;
use kickboard_functions::serve;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    serve::<MdsTelemetryOfHour>().await
}
