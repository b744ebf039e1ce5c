//! The local API Gateway: turns each HTTP request into the HTTP API (v2) event that API
//! Gateway would send, with verified JWT claims in its authorizer context, and passes it
//! through `lambda_http`'s own event decoding to the route's handler.

use crate::App;
use base64::Engine;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use kickboard_common::handlers::geofencing::{self, Geofence};
use kickboard_common::handlers::{customers, fleet, gbfs, passes, rentals};
use kickboard_common::http::request::MAX_ZONE_BODY_BYTES;
use kickboard_common::http::routes::{Access, Route, RouteId, RouteMatch, match_route};
use kickboard_common::http::{Problem, ProblemType};
use kickboard_common::{invocation, trace};
use lambda_http::http::{Method, header, request::Parts};
use lambda_http::{Body, Request, Response};
use serde_json::{Map, Value, json};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::watch;

/// The header API Gateway carries a request's X-Ray trace in.
const TRACE_HEADER: &str = "x-amzn-trace-id";

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
    let (route, params) = match match_route(&parts.method, path) {
        RouteMatch::Found { route, params } => (route, params),
        RouteMatch::MethodNotAllowed => return Problem::new(ProblemType::MethodNotAllowed).into_response(),
        RouteMatch::NotFound => return Problem::new(ProblemType::NotFound).into_response(),
    };
    let claims = match route.access {
        Access::Anyone => None,
        Access::Customer | Access::Vehicle | Access::Admin => match verified_claims(app, parts) {
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
    let event = api_gateway_event(parts, route, &params, claims, &body, &trace);
    let request = match lambda_http::request::from_str(&event.to_string()) {
        Ok(request) => request,
        Err(error) => {
            tracing::error!(%error, "could not decode the API Gateway event");
            return Problem::new(ProblemType::Internal).into_response();
        }
    };
    let response =
        trace::within(Some(trace), invocation::running_as(route.function, dispatch(app, route.id, request))).await;
    if parts.method != Method::GET {
        app.outbox_may_have_grown();
    }
    response
}

/// Calls the route's handler with the local adapters: the same call each Lambda `main` makes.
async fn dispatch(app: &App, route: RouteId, request: Request) -> Response<Body> {
    let (ports, clock) = (&app.ports, app.clock.as_ref());
    let geofence = Geofence { store: ports.zones.as_ref(), cache: &app.zones };
    match route {
        RouteId::ListPlans => passes::list_plans(request).await,
        RouteId::PurchasePass => {
            passes::purchase_pass(ports.passes.as_ref(), ports.answers.as_ref(), clock, request).await
        }
        RouteId::PayPass => {
            passes::pay_pass(ports.passes.as_ref(), ports.answers.as_ref(), &app.payments, clock, request).await
        }
        RouteId::GetPass => passes::get_pass(ports.passes.as_ref(), clock, request).await,
        RouteId::GetBalance => customers::get_balance(ports.balances.as_ref(), clock, request).await,
        RouteId::ListBalances => customers::list_balances(ports.balances.as_ref(), clock, request).await,
        RouteId::ListKickboards => fleet::list_kickboards(ports.fleet.as_ref(), &app.rules, request).await,
        RouteId::RegisterKickboard => fleet::register_kickboard(ports.fleet.as_ref(), clock, request).await,
        RouteId::DeleteKickboard => fleet::delete_kickboard(ports.fleet.as_ref(), clock, request).await,
        RouteId::RentKickboard => {
            let answers = ports.answers.as_ref();
            rentals::rent_kickboard(ports.rentals.as_ref(), answers, clock, &app.rules, geofence, request).await
        }
        RouteId::ReturnKickboard => {
            rentals::return_kickboard(ports.rentals.as_ref(), clock, &app.rules, geofence, request).await
        }
        RouteId::GetRental => rentals::get_rental(ports.rentals.as_ref(), request).await,
        RouteId::PutContact => customers::put_contact(ports.contacts.as_ref(), ports.push.as_ref(), request).await,
        RouteId::GetContact => customers::get_contact(ports.contacts.as_ref(), request).await,
        RouteId::ListVehicleTypes => fleet::list_vehicle_types(request).await,
        RouteId::ReportTelemetry => fleet::report_telemetry(ports.fleet.as_ref(), clock, &app.rules, request).await,
        RouteId::SetKickboardStatus => fleet::set_kickboard_status(ports.fleet.as_ref(), request).await,
        RouteId::GbfsFeed => {
            let deps = gbfs::GbfsDeps {
                fleet: ports.fleet.as_ref(),
                snapshots: &app.snapshots,
                geofence,
                clock,
                settings: &app.gbfs,
                rules: &app.rules,
            };
            gbfs::gbfs_feed(&deps, request).await
        }
        RouteId::PutZone => geofencing::put_zone(ports.zones.as_ref(), clock, request).await,
        RouteId::ListZones => geofencing::list_zones(ports.zones.as_ref(), request).await,
        RouteId::DeleteZone => geofencing::delete_zone(ports.zones.as_ref(), clock, request).await,
        RouteId::PutGlobalRules => geofencing::put_global_rules(ports.zones.as_ref(), clock, request).await,
        RouteId::GetGlobalRules => geofencing::get_global_rules(ports.zones.as_ref(), request).await,
    }
}

/// The bearer token's claims, as API Gateway's JWT authorizer would pass them: every value
/// a string, arrays as `[a b]`. `None` when the token is missing or does not verify.
fn verified_claims(app: &App, parts: &Parts) -> Option<Map<String, Value>> {
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
    Some(claims.into_iter().map(|(name, value)| (name, Value::String(as_authorizer_string(value)))).collect())
}

fn api_gateway_event(
    parts: &Parts,
    route: &Route,
    params: &[(String, String)],
    claims: Option<Map<String, Value>>,
    body: &Bytes,
    trace: &str,
) -> Value {
    let mut headers = Map::new();
    for (name, value) in &parts.headers {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        match headers.get_mut(name.as_str()) {
            Some(Value::String(existing)) => {
                existing.push(',');
                existing.push_str(&value);
            }
            _ => {
                headers.insert(name.as_str().to_owned(), Value::String(value));
            }
        }
    }
    // API Gateway tells the function which scheme the client used; here it is plain HTTP.
    headers.insert("x-forwarded-proto".to_owned(), Value::String("http".to_owned()));
    headers.insert(TRACE_HEADER.to_owned(), Value::String(trace.to_owned()));
    let path_parameters: Map<String, Value> =
        params.iter().map(|(name, value)| (name.clone(), Value::String(value.clone()))).collect();
    let route_key = format!("{} {}", route.method, route.path);
    let now = chrono::Utc::now();
    let mut request_context = json!({
        "accountId": "000000000000",
        "apiId": "local",
        "domainName": "localhost",
        "domainPrefix": "localhost",
        "http": {
            "method": parts.method.as_str(),
            "path": parts.uri.path(),
            "protocol": "HTTP/1.1",
            "sourceIp": "127.0.0.1",
            "userAgent": parts.headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).unwrap_or(""),
        },
        "requestId": uuid::Uuid::new_v4().to_string(),
        "routeKey": route_key,
        "stage": "$default",
        "time": now.format("%d/%b/%Y:%H:%M:%S %z").to_string(),
        "timeEpoch": now.timestamp_millis(),
    });
    if let Some(claims) = claims {
        request_context["authorizer"] = json!({ "jwt": { "claims": claims, "scopes": null } });
    }
    let (body, is_base64) = match std::str::from_utf8(body) {
        _ if body.is_empty() => (Value::Null, false),
        Ok(text) => (Value::String(text.to_owned()), false),
        Err(_) => (Value::String(base64::engine::general_purpose::STANDARD.encode(body)), true),
    };
    json!({
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": parts.uri.path(),
        "rawQueryString": parts.uri.query().unwrap_or(""),
        "headers": headers,
        "pathParameters": if path_parameters.is_empty() { Value::Null } else { Value::Object(path_parameters) },
        "requestContext": request_context,
        "body": body,
        "isBase64Encoded": is_base64,
    })
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
