//! `put-contact`: `PUT /me/contact`. Two clients, built once per cold start: DynamoDB (the
//! contact) and SNS (the push endpoint, in the platform applications named by
//! `PUSH_PLATFORM_APPLICATION_FCM_ARN` / `PUSH_PLATFORM_APPLICATION_APNS_ARN`).

use kickboard_common::handlers::customers::PutContact;
use kickboard_functions::serve;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    serve::<PutContact>().await
}
