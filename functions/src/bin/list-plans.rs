//! `list-plans`: `GET /plans`. The catalogue is in code, so no AWS client at all.

use kickboard_common::handlers::passes::list_plans;
use kickboard_functions::run_http;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    run_http(list_plans).await
}
