//! `delete-licence`: `DELETE /me/licence`. One DynamoDB client, built once per cold start.

use kickboard_common::handlers::licences::DeleteLicence;
use kickboard_functions::serve;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    serve::<DeleteLicence>().await
}
