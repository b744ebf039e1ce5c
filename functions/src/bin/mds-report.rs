//! `mds-report`: `GET /mds/reports/{filename}` (MDS 2.0, agency group). One DynamoDB client, built once per cold start.

use kickboard_common::handlers::mds::MdsReport;
use kickboard_functions::serve;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    serve::<MdsReport>().await
}
