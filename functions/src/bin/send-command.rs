//! `send-command`: `POST /kickboards/{kickboardId}/commands`. Answers 503 until this
//! deployment has its link to the vehicles (AWS IoT Core).

use kickboard_common::handlers::commands::SendCommand;
use kickboard_functions::serve;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    serve::<SendCommand>().await
}
