//! Answers every event with `{"hello": "world"}`: a Lambda function with nothing but the runtime.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::{Value, json};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(|_event: LambdaEvent<Value>| async { Ok::<_, Error>(json!({ "hello": "world" })) }))
        .await
}
