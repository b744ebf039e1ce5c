//! `delete-kickboard`: `DELETE /kickboards/{kickboardId}`. One DynamoDB client, built once per cold start.

use kickboard_common::handlers::fleet::DeleteKickboard;
use kickboard_functions::serve;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    serve::<DeleteKickboard>().await
}
