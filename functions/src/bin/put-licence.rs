//! `put-licence`: `PUT /me/licence`. One DynamoDB client, built once per cold start; the
//! licence provider's client (or the simulator, `LICENCE_MODE=simulator`) at the first
//! verification.

use kickboard_common::handlers::licences::PutLicence;
use kickboard_functions::serve;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    serve::<PutLicence>().await
}
