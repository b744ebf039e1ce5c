//! Routes that exist only on the local server (never in template.yaml): tokens, the alert
//! log, the local push platform's endpoints, the metrics (Prometheus text), the payment
//! simulator's and the vehicle simulator's knobs, the clock, and a health check.

use crate::vehicles::simulator::Control;
use crate::{App, Backend};
use bytes::Bytes;
use kickboard_common::adapters::licence_simulator::LicenceSimulatorSettings;
use kickboard_common::adapters::payment_simulator::SimulatorSettings;
use kickboard_common::domain::ids::{CustomerId, KickboardId};
use kickboard_common::http::response::{json, no_content};
use kickboard_common::http::{Problem, ProblemType, respond};
use kickboard_common::metrics;
use lambda_http::http::{HeaderValue, Method, StatusCode, header, request::Parts};
use lambda_http::{Body, Response};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenRequest {
    sub: CustomerId,
    #[serde(default)]
    groups: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct AlertQuery {
    customer_id: Option<CustomerId>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ClockShift {
    offset_seconds: i64,
}

/// What `GET` and `PUT /local/clock` answer: how far ahead the clock runs, and its time.
fn clock_state(app: &App) -> Response<Body> {
    json(
        StatusCode::OK,
        &serde_json::json!({ "offsetSeconds": app.shifted_clock.offset_seconds(), "now": app.clock.now() }),
    )
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct EndpointRequest {
    endpoint_arn: String,
}

/// `PUT /local/vehicles/{id}`: how the simulated board behaves (`online`, `ackDelayMs`), or a
/// report for it to publish (`report`).
const VEHICLES_PREFIX: &str = "/local/vehicles/";

fn parse<T: serde::de::DeserializeOwned>(body: &Bytes) -> Result<T, Problem> {
    serde_json::from_slice(body)
        .map_err(|error| Problem::new(ProblemType::InvalidRequest).with_detail(error.to_string()))
}

pub async fn handle(app: &App, parts: &Parts, body: &Bytes) -> Response<Body> {
    respond(
        async {
            match (&parts.method, parts.uri.path()) {
                (&Method::GET, "/healthz") => Ok(json(StatusCode::OK, &serde_json::json!({ "status": "ok" }))),
                (&Method::GET, "/.well-known/jwks.json") => Ok(json(StatusCode::OK, app.tokens.jwks())),
                (&Method::GET, "/openapi.json") => Ok(json(StatusCode::OK, openapi())),
                (&Method::POST, "/local/tokens") => {
                    let request: TokenRequest = parse(body)?;
                    let token = app.tokens.mint(request.sub.as_str(), &request.groups);
                    Ok(json(StatusCode::OK, &serde_json::json!({ "token": token })))
                }
                (&Method::GET, "/local/clock") => Ok(clock_state(app)),
                (&Method::PUT, "/local/clock") => {
                    let shift: ClockShift = parse(body)?;
                    app.shifted_clock
                        .shift_to(shift.offset_seconds)
                        .map_err(|error| Problem::invalid_field("offsetSeconds", error.to_string()))?;
                    Ok(clock_state(app))
                }
                (&Method::GET, "/local/metrics") => {
                    let mut answer = Response::new(Body::Text(metrics::prometheus_text()));
                    answer.headers_mut().insert(
                        header::CONTENT_TYPE,
                        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
                    );
                    Ok(answer)
                }
                (&Method::GET, "/local/alerts") => {
                    let query: AlertQuery = alert_query(parts.uri.query().unwrap_or(""))?;
                    let alerts = match &app.backend {
                        Backend::Sqlite { alerts, .. } => alerts.list(query.customer_id.as_ref()).await?,
                        Backend::Aws { alerts, .. } => alerts.list(query.customer_id.as_ref()),
                    };
                    Ok(json(StatusCode::OK, &alerts))
                }
                (&Method::GET, "/local/push-endpoints") => {
                    let query: AlertQuery = alert_query(parts.uri.query().unwrap_or(""))?;
                    Ok(json(StatusCode::OK, &local_push(app)?.list(query.customer_id.as_ref()).await?))
                }
                (&Method::POST, "/local/push-endpoints/disable") => {
                    let request: EndpointRequest = parse(body)?;
                    match local_push(app)?.disable(&request.endpoint_arn).await? {
                        true => Ok(no_content()),
                        false => Err(Problem::new(ProblemType::NotFound).with_detail("no such local endpoint")),
                    }
                }
                (&Method::PUT, "/local/payment-simulator") => {
                    let settings: SimulatorSettings = parse(body)?;
                    let settings = settings
                        .validated()
                        .map_err(|error| Problem::new(ProblemType::InvalidRequest).with_detail(error.to_string()))?;
                    let Some(simulator) = &app.simulator else {
                        return Err(Problem::new(ProblemType::NotFound)
                            .with_detail("payments go to --payment-url: set that provider instead"));
                    };
                    simulator.set_settings(settings);
                    Ok(no_content())
                }
                (&Method::PUT, "/local/licence-simulator") => {
                    let settings: LicenceSimulatorSettings = parse(body)?;
                    let Some(simulator) = &app.licence_simulator else {
                        return Err(Problem::new(ProblemType::NotFound)
                            .with_detail("licences go to --licence-url: set that provider instead"));
                    };
                    simulator
                        .configure(settings)
                        .map_err(|error| Problem::new(ProblemType::InvalidRequest).with_detail(error.to_string()))?;
                    Ok(no_content())
                }
                (&Method::PUT, path) if path.starts_with(VEHICLES_PREFIX) => {
                    let board = KickboardId::try_from(&path[VEHICLES_PREFIX.len()..])
                        .map_err(|error| Problem::invalid_field("kickboardId", error.to_string()))?;
                    let control: Control = parse(body)?;
                    let Some(vehicles) = &app.vehicles else {
                        return Err(Problem::new(ProblemType::NotFound)
                            .with_detail("vehicles are simulated on the SQLite store only"));
                    };
                    match vehicles.simulator.control(&board, control).await {
                        Some(behaviour) => Ok(json(StatusCode::OK, &behaviour)),
                        None => {
                            Err(Problem::new(ProblemType::NotFound).with_detail("no simulated vehicle for this id"))
                        }
                    }
                }
                _ => Err(Problem::new(ProblemType::NotFound)),
            }
        }
        .await,
    )
}

/// The local push platform, which plays SNS's platform applications on the embedded store.
fn local_push(app: &App) -> Result<&crate::local_push::LocalPushPlatform, Problem> {
    match &app.backend {
        Backend::Sqlite { push, .. } => Ok(push),
        Backend::Aws { .. } => Err(Problem::new(ProblemType::NotFound)
            .with_detail("push endpoints are SNS's here: use its SetEndpointAttributes and DeleteEndpoint")),
    }
}

/// The HTTP contract as OpenAPI 3.1, generated from the route table once.
pub fn openapi() -> &'static serde_json::Value {
    static DOCUMENT: std::sync::OnceLock<serde_json::Value> = std::sync::OnceLock::new();
    DOCUMENT.get_or_init(kickboard_common::handlers::openapi)
}

/// `customerId=…` from the query string.
fn alert_query(query: &str) -> Result<AlertQuery, Problem> {
    let mut customer_id = None;
    for pair in query.split('&').filter(|pair| !pair.is_empty()) {
        match pair.split_once('=') {
            Some(("customerId", value)) => {
                customer_id = Some(
                    CustomerId::try_from(value)
                        .map_err(|error| Problem::invalid_field("customerId", error.to_string()))?,
                );
            }
            _ => return Err(Problem::new(ProblemType::InvalidRequest).with_detail("only customerId is accepted")),
        }
    }
    Ok(AlertQuery { customer_id })
}
