//! `set-kickboard-status`: `PUT /kickboards/{kickboardId}/status`. One DynamoDB client.

use kickboard_common::handlers::fleet::SetKickboardStatus;
use kickboard_functions::serve;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    serve::<SetKickboardStatus>().await
}
