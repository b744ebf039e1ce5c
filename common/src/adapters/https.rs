//! The one HTTP client the adapters that call providers over the internet build: TLS with the
//! system's roots, or plain HTTP (the local simulators and emulators on loopback), HTTP/1.

use bytes::Bytes;
use http_body_util::Full;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use std::time::Duration;

pub type HttpsClient = Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

/// A client that gives up connecting after `connect_timeout` (when given).
pub fn https_client(connect_timeout: Option<Duration>) -> std::io::Result<HttpsClient> {
    let mut http = HttpConnector::new();
    http.set_connect_timeout(connect_timeout);
    http.enforce_http(false);
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_native_roots()?
        .https_or_http()
        .enable_http1()
        .wrap_connector(http);
    Ok(Client::builder(TokioExecutor::new()).build(https))
}
