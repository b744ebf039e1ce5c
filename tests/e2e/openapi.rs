//! openapi.yaml describes exactly the routes the server has, and the server serves it.

use hyper::{Method, StatusCode};
use kickboard_common::handlers::ROUTES;
use kickboard_common::http::routes::Access;
use kickboard_local::local_routes::openapi;
use kickboard_tests::TestServer;
use std::collections::BTreeSet;

#[test]
fn the_document_has_every_route_and_no_other() {
    let document = openapi();
    assert_eq!(document["openapi"], "3.1.0");
    let mut documented = BTreeSet::new();
    for (path, operations) in document["paths"].as_object().unwrap() {
        for (method, operation) in operations.as_object().unwrap() {
            documented.insert((method.to_uppercase(), path.clone()));
            let route = ROUTES
                .iter()
                .find(|route| route.method.as_str().eq_ignore_ascii_case(method) && route.path == path)
                .unwrap_or_else(|| panic!("{method} {path} is documented but not routed"));
            assert_eq!(operation["operationId"], route.function, "{method} {path}");
            let open = operation["security"].as_array().is_some_and(|security| security.is_empty());
            assert_eq!(open, route.access == Access::Anyone, "{method} {path}: security");
        }
    }
    let routed: BTreeSet<_> = ROUTES.iter().map(|route| (route.method.to_string(), route.path.to_owned())).collect();
    assert_eq!(documented, routed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_serves_the_document_and_its_keys() {
    let kb = TestServer::start().await;
    let served = kb.call(Method::GET, "/openapi.json", None, None).await;
    assert_eq!(served.status, StatusCode::OK);
    assert_eq!(&served.body, openapi());
    let jwks = kb.call(Method::GET, "/.well-known/jwks.json", None, None).await;
    assert_eq!(jwks.body["keys"][0]["alg"], "ES256");
    kb.stop().await;
}
