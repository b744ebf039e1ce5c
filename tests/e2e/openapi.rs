//! The OpenAPI document is generated from the route table: it has every route and no other,
//! the server serves it, and the checked-in `openapi.yaml` (what schemathesis and readers
//! use) is exactly what the code generates.

use hyper::{Method, StatusCode};
use kickboard_common::handlers::{ROUTES, openapi_file};
use kickboard_common::http::ProblemType;
use kickboard_common::http::routes::Access;
use kickboard_local::local_routes::openapi;
use kickboard_tests::TestServer;
use std::collections::BTreeSet;
use std::path::Path;

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

#[test]
fn every_refusal_is_documented_under_its_own_status() {
    let document = openapi();
    let mut seen = BTreeSet::new();
    for (path, operations) in document["paths"].as_object().unwrap() {
        for (method, operation) in operations.as_object().unwrap() {
            for (status, response) in operation["responses"].as_object().unwrap() {
                let Some(schema) = response.pointer("/content/application~1problem+json/schema") else { continue };
                let types = schema.pointer("/allOf/1/properties/type/enum").unwrap().as_array().unwrap();
                for uri in types {
                    let kind = ProblemType::ALL.iter().find(|kind| kind.uri() == *uri).expect("a known problem type");
                    assert_eq!(kind.status().as_str(), status, "{method} {path}: {uri}");
                    seen.insert(kind.slug());
                }
            }
        }
    }
    // Method-not-allowed is the gateway's, for routes that do not exist.
    let unused: Vec<_> = ProblemType::ALL
        .iter()
        .map(|kind| kind.slug())
        .filter(|slug| !seen.contains(slug) && *slug != "method-not-allowed")
        .collect();
    assert!(unused.is_empty(), "problem types no endpoint answers: {unused:?}");
}

#[test]
fn the_checked_in_document_is_the_generated_one() {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../openapi.yaml");
    let generated = openapi_file();
    if std::env::var_os("KICKBOARD_WRITE_OPENAPI").is_some() {
        std::fs::write(&file, &generated).unwrap();
    }
    let checked_in = std::fs::read_to_string(&file).unwrap();
    assert!(
        checked_in == generated,
        "openapi.yaml is stale: rewrite it with KICKBOARD_WRITE_OPENAPI=1 cargo nextest run -p kickboard-tests -E 'test(openapi::)'"
    );
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
