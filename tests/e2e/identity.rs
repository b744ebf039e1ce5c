//! Identity: every route that needs a token refuses a missing, forged, expired, unsigned or
//! misaddressed one with 401 and writes nothing.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hyper::StatusCode;
use jsonwebtoken::get_current_timestamp;
use kickboard_common::handlers::ROUTES;
use kickboard_common::http::routes::Access;
use kickboard_local::tokens::{Claims, TokenAuthority};
use kickboard_tests::TestServer;

/// The route's path with its parameters filled in.
fn concrete(path: &str) -> String {
    path.replace("{passId}", "p-1").replace("{kickboardId}", "kb-1").replace("{rentalId}", "p-1.0a1b2c3d")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_protected_route_refuses_bad_tokens_and_writes_nothing() {
    let kb = TestServer::start().await;
    let authority = &kb.server.app.tokens;
    let valid = Claims::new("alice", &["admin".to_owned()]);
    let unsigned = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#),
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&valid).unwrap())
    );
    let bad_tokens: Vec<(&str, Option<String>)> = vec![
        ("missing", None),
        ("garbage", Some("not-a-jwt".into())),
        ("another key", Some(TokenAuthority::ephemeral().unwrap().sign(&valid))),
        ("expired", Some(authority.sign(&Claims { exp: get_current_timestamp() - 60, ..valid.clone() }))),
        ("alg none", Some(unsigned)),
        ("another audience", Some(authority.sign(&Claims { aud: "someone-else".into(), ..valid.clone() }))),
        ("another issuer", Some(authority.sign(&Claims { iss: "someone-else".into(), ..valid.clone() }))),
    ];
    let before = kb.row_counts().await;
    for route in ROUTES.iter().filter(|route| route.access != Access::Anyone) {
        let path = concrete(route.path);
        let body = br#"{"planId":"basic-60","passId":"p-1","kickboardId":"kb-1","model":"X","lat":1,"lon":1,"phone":"+821012345678"}"#;
        for (name, token) in &bad_tokens {
            let reply = kb
                .send_raw(route.method.clone(), &path, token.as_deref(), Some("application/json"), body.to_vec())
                .await;
            assert_eq!((reply.status, reply.problem()), (StatusCode::UNAUTHORIZED, "unauthorized"), "{name} on {path}");
        }
    }
    assert_eq!(kb.row_counts().await, before, "refused requests wrote nothing");
    kb.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bearer_header_is_no_identity_without_the_authorizers_claims() {
    // On Lambda the handler reads only the authorizer's claims: a raw header proves nothing.
    let event = serde_json::json!({
        "version": "2.0",
        "routeKey": "GET /me/passes",
        "rawPath": "/me/passes",
        "rawQueryString": "",
        "headers": { "authorization": "Bearer whatever", "x-customer-id": "alice" },
        "requestContext": {
            "accountId": "123456789012", "apiId": "abc", "domainName": "x", "domainPrefix": "x",
            "http": { "method": "GET", "path": "/me/passes", "protocol": "HTTP/1.1", "sourceIp": "203.0.113.1", "userAgent": "t" },
            "requestId": "r", "routeKey": "GET /me/passes", "stage": "$default", "time": "25/Nov/2026:09:00:00 +0000", "timeEpoch": 0
        },
        "isBase64Encoded": false
    });
    let request = lambda_http::request::from_str(&event.to_string()).unwrap();
    // Every endpoint's handler gets its caller from this admission, before it runs.
    use kickboard_common::http::endpoint::{Caller, Customer};
    let Err(refused) = Customer::admit(&request) else { panic!("a header was taken for an identity") };
    assert_eq!(refused.into_response().status(), StatusCode::UNAUTHORIZED);
}
