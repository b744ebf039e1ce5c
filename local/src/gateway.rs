//! The local API Gateway: matches each HTTP request against the route table, verifies its
//! token as API Gateway's JWT authorizer would, and hands the route's handler the
//! `lambda_http` request that decoding API Gateway's HTTP API (v2) event gives on Lambda,
//! the verified claims in its authorizer context.

use crate::App;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use kickboard_common::handlers;
use kickboard_common::http::endpoint::Routed;
use kickboard_common::http::request::MAX_ZONE_BODY_BYTES;
use kickboard_common::http::routes::{Access, Route, RouteMatch, match_route};
use kickboard_common::http::{Problem, ProblemType};
use kickboard_common::{invocation, trace};
use lambda_http::aws_lambda_events::apigw::{
    ApiGatewayRequestAuthorizer, ApiGatewayRequestAuthorizerJwtDescription, ApiGatewayV2httpRequestContext,
};
use lambda_http::aws_lambda_events::query_map::QueryMap;
use lambda_http::http::{HeaderValue, Method, header, request::Parts};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use serde_json::Value;
use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, LazyLock};
use tokio::net::TcpListener;
use tokio::sync::watch;

/// The header API Gateway carries a request's X-Ray trace in.
const TRACE_HEADER: &str = "x-amzn-trace-id";

/// Every route with its handler on the local services: the same handlers each Lambda runs.
static ROUTE_TABLE: LazyLock<Vec<Routed<App>>> = LazyLock::new(handlers::table::<App>);

/// Accepts connections until `stopping` turns true, then drains those in flight.
pub async fn serve(listener: TcpListener, app: Arc<App>, mut stopping: watch::Receiver<bool>) {
    let graceful = GracefulShutdown::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, peer)) = accepted else { continue };
                let app = Arc::clone(&app);
                let service = service_fn(move |request| handle(Arc::clone(&app), peer, request));
                let connection = http1::Builder::new().serve_connection(TokioIo::new(stream), service);
                let connection = graceful.watch(connection);
                tokio::spawn(async move {
                    if let Err(error) = connection.await {
                        tracing::debug!(%error, "connection ended with an error");
                    }
                });
            }
            _ = stopping.changed() => break,
        }
    }
    drop(listener);
    graceful.shutdown().await;
}

async fn handle(
    app: Arc<App>,
    peer: SocketAddr,
    request: hyper::Request<Incoming>,
) -> Result<hyper::Response<Full<Bytes>>, Infallible> {
    let (parts, body) = request.into_parts();
    // Read up to the largest body any route takes (a zone's); each handler holds its own.
    let response = match Limited::new(body, MAX_ZONE_BODY_BYTES).collect().await {
        Ok(collected) => route(&app, peer, &parts, collected.to_bytes()).await,
        Err(error) if error.is::<http_body_util::LengthLimitError>() => Problem::new(ProblemType::PayloadTooLarge)
            .with_detail(format!("bodies are limited to {MAX_ZONE_BODY_BYTES} bytes"))
            .into_response(),
        Err(_) => Problem::new(ProblemType::InvalidRequest).with_detail("the body could not be read").into_response(),
    };
    Ok(into_hyper(response))
}

async fn route(app: &App, peer: SocketAddr, parts: &Parts, body: Bytes) -> Response<Body> {
    let path = parts.uri.path();
    // The local-only routes mint tokens and reveal alerts: never to another machine. The
    // contract and the token keys are public.
    let public = matches!(path, "/.well-known/jwks.json" | "/openapi.json");
    let local_only = path == "/healthz" || path.starts_with("/local/");
    if public || (local_only && peer.ip().is_loopback()) {
        return crate::local_routes::handle(app, parts, &body).await;
    }
    // The operator console's page: public files, like a CloudFront distribution's; the API
    // calls it makes carry their own tokens.
    if path == "/console" || path.starts_with("/console/") {
        return crate::console::handle(&app.console, parts);
    }
    let table = &*ROUTE_TABLE;
    let (routed, params) = match match_route(table.iter().map(|routed| &routed.route), &parts.method, path) {
        RouteMatch::Found { index, params } => (&table[index], params),
        RouteMatch::MethodNotAllowed => return Problem::new(ProblemType::MethodNotAllowed).into_response(),
        RouteMatch::NotFound => return Problem::new(ProblemType::NotFound).into_response(),
    };
    let route = &routed.route;
    let claims = match route.access {
        Access::Anyone => None,
        Access::Customer | Access::Vehicle | Access::Admin | Access::Agency => match verified_claims(app, parts) {
            Some(claims) => Some(claims),
            None => return Problem::new(ProblemType::Unauthorized).into_response(),
        },
    };
    // API Gateway starts (or continues) an X-Ray trace per request and passes it on in
    // `x-amzn-trace-id`; here the server does, so events carry it as on AWS.
    let trace = parts
        .headers
        .get(TRACE_HEADER)
        .and_then(|value| value.to_str().ok())
        .map_or_else(|| trace::new_header(app.clock.now()), str::to_owned);
    let request = lambda_request(parts, route, params, claims, body, &trace);
    let response =
        trace::within(Some(trace), invocation::running_as(route.function, (routed.dispatch)(app, request))).await;
    if parts.method != Method::GET {
        app.outbox_may_have_grown();
    }
    response
}

/// The bearer token's claims, as API Gateway's JWT authorizer would pass them: every value
/// a string, arrays as `[a b]`. `None` when the token is missing or does not verify.
fn verified_claims(app: &App, parts: &Parts) -> Option<HashMap<String, String>> {
    let authorization = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let token = authorization.strip_prefix("Bearer ")?;
    let claims = app.tokens.verify(token.trim()).map_err(|error| tracing::debug!(%error, "token refused")).ok()?;
    let Value::Object(claims) = serde_json::to_value(claims).ok()? else { return None };
    let as_authorizer_string = |value: Value| match value {
        Value::String(text) => text,
        Value::Array(items) => {
            let items: Vec<String> =
                items.into_iter().map(|item| item.as_str().map_or_else(|| item.to_string(), str::to_owned)).collect();
            format!("[{}]", items.join(" "))
        }
        other => other.to_string(),
    };
    Some(claims.into_iter().map(|(name, value)| (name, as_authorizer_string(value))).collect())
}

/// The request as `lambda_http` hands it to a handler after decoding API Gateway's event:
/// the same URI, headers, path and query parameters and authorizer context, built directly
/// (encoding the event as JSON only for `lambda_http` to decode it again cost a third of a
/// request's time).
fn lambda_request(
    parts: &Parts,
    route: &Route,
    params: Vec<(String, String)>,
    claims: Option<HashMap<String, String>>,
    body: Bytes,
    trace: &str,
) -> Request {
    let mut context = ApiGatewayV2httpRequestContext::default();
    context.route_key = Some(format!("{} {}", route.method, route.path));
    context.account_id = Some("000000000000".to_owned());
    context.apiid = Some("local".to_owned());
    context.stage = Some("$default".to_owned());
    context.domain_name = Some("localhost".to_owned());
    context.request_id = Some(uuid::Uuid::new_v4().to_string());
    context.time_epoch = chrono::Utc::now().timestamp_millis();
    context.http.method = parts.method.clone();
    context.http.path = Some(parts.uri.path().to_owned());
    context.http.protocol = Some("HTTP/1.1".to_owned());
    context.http.source_ip = Some("127.0.0.1".to_owned());
    if let Some(claims) = claims {
        let mut jwt = ApiGatewayRequestAuthorizerJwtDescription::default();
        jwt.claims = claims;
        let mut authorizer = ApiGatewayRequestAuthorizer::default();
        authorizer.jwt = Some(jwt);
        context.authorizer = Some(authorizer);
    }
    let host = parts.headers.get(header::HOST).and_then(|host| host.to_str().ok()).unwrap_or("localhost");
    let query = parts.uri.query().unwrap_or("");
    // API Gateway tells the function which scheme the client used; here it is plain HTTP.
    let uri = match query {
        "" => format!("http://{host}{}", parts.uri.path()),
        query => format!("http://{host}{}?{query}", parts.uri.path()),
    };
    let body = match String::from_utf8(body.to_vec()) {
        _ if body.is_empty() => Body::Empty,
        Ok(text) => Body::Text(text),
        Err(binary) => Body::Binary(binary.into_bytes()),
    };
    let mut request = Request::new(body);
    *request.method_mut() = parts.method.clone();
    *request.uri_mut() = uri.parse().unwrap_or_default();
    *request.headers_mut() = parts.headers.clone();
    let headers = request.headers_mut();
    headers.insert("x-forwarded-proto", HeaderValue::from_static("http"));
    if let Ok(trace) = HeaderValue::from_str(trace) {
        headers.insert(TRACE_HEADER, trace);
    }
    let path_parameters: HashMap<String, String> = params.into_iter().collect();
    request
        .with_raw_http_path(parts.uri.path())
        .with_query_string_parameters(query.parse::<QueryMap>().unwrap_or_default())
        .with_path_parameters(path_parameters)
        .with_request_context(RequestContext::ApiGatewayV2(context))
}

fn into_hyper(response: Response<Body>) -> hyper::Response<Full<Bytes>> {
    let (parts, body) = response.into_parts();
    let bytes = match body {
        Body::Text(text) => Bytes::from(text),
        Body::Binary(bytes) => Bytes::from(bytes),
        _ => Bytes::new(),
    };
    hyper::Response::from_parts(parts, Full::new(bytes))
}
