//! Property test of request parsing: arbitrary bodies, bytes or JSON objects made of the
//! fields the routes know, never get a 5xx and never write unless the request succeeded.

use hyper::Method;
use kickboard_tests::TestServer;
use proptest::prelude::*;
use serde_json::{Map, Value};
use std::sync::Arc;

const WRITING_ROUTES: &[(&str, &str)] = &[
    ("POST", "/passes"),
    ("POST", "/passes/p-1/payment"),
    ("POST", "/kickboards"),
    ("POST", "/rentals"),
    ("POST", "/rentals/p-1.0a1b2c3d/return"),
    ("PUT", "/me/contact"),
];

const FIELDS: &[&str] = &[
    "planId",
    "passId",
    "kickboardId",
    "model",
    "lat",
    "lon",
    "phone",
    "pushEndpointArn",
    "pushPlatform",
    "pushToken",
    "extra",
];

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|n| serde_json::Number::from_f64(n).map_or(Value::Null, Value::Number)),
        "[ -~]{0,80}".prop_map(Value::from),
        prop::sample::select(
            &["basic-60", "kb-1", "p-1", "+821012345678", "arn:aws:sns:x:1:endpoint/a/b/c", "FCM"][..]
        )
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(2, 8, 4, |inner| prop::collection::vec(inner, 0..4).prop_map(Value::Array))
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    let object = prop::collection::btree_map(prop::sample::select(FIELDS), json_value(), 0..6).prop_map(|fields| {
        let map: Map<String, Value> = fields.into_iter().map(|(key, value)| (key.to_owned(), value)).collect();
        Value::Object(map).to_string().into_bytes()
    });
    prop_oneof![prop::collection::vec(any::<u8>(), 0..512), object]
}

#[test]
fn arbitrary_bodies_never_fail_the_server_nor_write_when_refused() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let kb = Arc::new(runtime.block_on(TestServer::start()));
    let token = kb.server.app.tokens.mint("fuzzer", &["admin".to_owned()]);
    let config = ProptestConfig { cases: 400, failure_persistence: None, ..ProptestConfig::default() };
    proptest!(config, |(route in prop::sample::select(WRITING_ROUTES), body in body())| {
        let (method, path) = route;
        let reply = runtime.block_on(async {
            let before = kb.row_counts().await;
            let method = Method::from_bytes(method.as_bytes()).unwrap();
            let reply = kb.send_raw(method, path, Some(&token), Some("application/json"), body.clone()).await;
            let after = kb.row_counts().await;
            (reply, before == after)
        });
        let (reply, unchanged) = reply;
        prop_assert!(reply.status.as_u16() < 500, "{method} {path} with {:?}: {reply:?}", String::from_utf8_lossy(&body));
        prop_assert!(reply.status.is_success() || unchanged, "a refused request wrote: {reply:?}");
    });
}
