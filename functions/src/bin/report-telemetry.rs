//! `report-telemetry`: `PUT /kickboards/{kickboardId}/telemetry`, for vehicles and tools that
//! speak HTTP (vehicles on MQTT reach `ingest-telemetry`). One DynamoDB client.

use kickboard_common::handlers::fleet::ReportTelemetry;
use kickboard_functions::serve;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    serve::<ReportTelemetry>().await
}
