//! `purchase-pass`: `POST /passes`. One DynamoDB client, built once per cold start.

use kickboard_common::handlers::passes::PurchasePass;
use kickboard_functions::serve;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    serve::<PurchasePass>().await
}
