//! An HTTP client that stands under the AWS SDK, between its clients and the emulator, and
//! hands every request to something that may look at it, change it or answer it itself:
//! the fault injector and the request tap are two.

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use std::sync::Arc;

/// What stands under the SDK: given each request and the real connector, the answer.
pub trait Stand: Send + Sync + 'static {
    fn call(&self, inner: &SharedHttpConnector, request: HttpRequest) -> HttpConnectorFuture;
}

/// The service and operation a request asks for: `X-Amz-Target` for the JSON protocols
/// (`DynamoDB` for any DynamoDB API version, else the target's prefix), the form's `Action`
/// for SNS (whose query protocol has no target); empty for anything else.
pub fn operation(request: &HttpRequest) -> (String, String) {
    if let Some(target) = request.headers().get("x-amz-target") {
        let (service, operation) = target.split_once('.').unwrap_or(("", target));
        let service = if service.starts_with("DynamoDB_") { "DynamoDB" } else { service };
        return (service.to_owned(), operation.to_owned());
    }
    let body = request.body().bytes().map(String::from_utf8_lossy).unwrap_or_default();
    match body.split('&').find_map(|pair| pair.strip_prefix("Action=")) {
        Some(action) if body.contains("Version=2010-03-31") => ("SNS".to_owned(), action.to_owned()),
        _ => (String::new(), String::new()),
    }
}

/// An HTTP client to the emulator (plain HTTP) with `stand` in front of it.
pub fn client(stand: Arc<dyn Stand>) -> SharedHttpClient {
    SharedHttpClient::new(Client { inner: aws_smithy_http_client::Builder::new().build_http(), stand })
}

#[derive(Clone)]
struct Client {
    inner: SharedHttpClient,
    stand: Arc<dyn Stand>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("under_sdk::Client")
    }
}

impl HttpClient for Client {
    fn http_connector(&self, settings: &HttpConnectorSettings, components: &RuntimeComponents) -> SharedHttpConnector {
        let inner = self.inner.http_connector(settings, components);
        SharedHttpConnector::new(Connector { inner, stand: Arc::clone(&self.stand) })
    }
}

#[derive(Clone)]
struct Connector {
    inner: SharedHttpConnector,
    stand: Arc<dyn Stand>,
}

impl std::fmt::Debug for Connector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("under_sdk::Connector")
    }
}

impl HttpConnector for Connector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        self.stand.call(&self.inner, request)
    }
}
