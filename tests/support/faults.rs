//! Faults injected on purpose under the AWS SDK: an HTTP client that stands between the
//! clients and moto and, at a seeded rate, answers DynamoDB, EventBridge and SNS calls with
//! throttling, 500s, timeouts, `TransactionConflict` cancellations and partial `PutEvents`
//! failures, the answers moto never gives.
//!
//! An SDK interceptor can rewrite a response, but it cannot keep a request from reaching the
//! service; a throttled write must not land, so the faults live in the HTTP client. Every
//! fault except a partial `PutEvents` is given before the request is sent (nothing written,
//! as with a real throttle), and the SDK's own retries see it exactly as they would on AWS.
//! A partial `PutEvents` sends only the entries that "succeed" and reports the others failed.

use super::Xorshift;
use super::under_sdk::{self, Stand};
use aws_smithy_runtime_api::client::http::{HttpConnector, HttpConnectorFuture, SharedHttpClient, SharedHttpConnector};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::byte_stream::ByteStream;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// What was injected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Fault {
    Throttling,
    ServerError,
    Timeout,
    TransactionConflict,
    PartialPutEvents,
}

/// Which calls get faults, and how often.
#[derive(Debug, Clone, Copy)]
pub struct FaultRates {
    /// Share of DynamoDB calls that fail (transactions: half of them as conflicts).
    pub dynamodb: f64,
    /// Share of `PutEvents` calls that fail (half partly, half whole). The first call always
    /// fails partly, so a short run sees that fault too.
    pub eventbridge: f64,
    /// Share of SNS `Publish` calls that fail.
    pub sns: f64,
}

struct Injector {
    rates: FaultRates,
    /// Whether a `PutEvents` call was seen yet.
    put_events_seen: AtomicBool,
    random: Mutex<Xorshift>,
    injected: Mutex<BTreeMap<Fault, usize>>,
    /// Faults asked for, given before any drawn at the rates.
    scripted: Mutex<Vec<Scripted>>,
}

/// Faults asked for: the next `times` calls of `operation` whose body holds `holding`.
struct Scripted {
    operation: String,
    holding: String,
    fault: Fault,
    times: usize,
}

impl Injector {
    fn chance(&self) -> f64 {
        (self.random.lock().unwrap().next_u64() % 1_000_000) as f64 / 1_000_000.0
    }

    fn count(&self, fault: Fault) {
        *self.injected.lock().unwrap().entry(fault).or_default() += 1;
    }
}

/// The faulty HTTP client, and what it injected so far.
#[derive(Clone)]
pub struct FaultyAws {
    injector: Arc<Injector>,
}

impl FaultyAws {
    pub fn new(rates: FaultRates, seed: u64) -> Self {
        let injector = Injector {
            rates,
            put_events_seen: AtomicBool::new(false),
            random: Mutex::new(Xorshift(seed)),
            injected: Mutex::default(),
            scripted: Mutex::default(),
        };
        Self { injector: Arc::new(injector) }
    }

    /// An HTTP client that injects faults in front of plain HTTP to the emulator.
    pub fn http_client(&self) -> SharedHttpClient {
        under_sdk::client(Arc::clone(&self.injector) as Arc<dyn Stand>)
    }

    /// Answers the next `times` calls of `operation` (e.g. SNS's `Publish`) with `fault`,
    /// whatever the rates say.
    pub fn fail_next(&self, operation: &str, fault: Fault, times: usize) {
        self.fail_next_holding(operation, "", fault, times);
    }

    /// The same, for the calls whose body holds `holding` (e.g. a key's prefix, to fault the
    /// writes of one item among many).
    pub fn fail_next_holding(&self, operation: &str, holding: &str, fault: Fault, times: usize) {
        let scripted = Scripted { operation: operation.to_owned(), holding: holding.to_owned(), fault, times };
        self.injector.scripted.lock().unwrap().push(scripted);
    }

    /// Faults asked for that were not given yet.
    pub fn scripted_left(&self) -> usize {
        self.injector.scripted.lock().unwrap().iter().map(|scripted| scripted.times).sum()
    }

    /// Faults injected so far, by kind.
    pub fn injected(&self) -> BTreeMap<Fault, usize> {
        self.injector.injected.lock().unwrap().clone()
    }
}

/// The service and operation of a request, as far as faults go.
fn operation(request: &HttpRequest) -> (Service, String) {
    let (service, operation) = under_sdk::operation(request);
    let service = match service.as_str() {
        "DynamoDB" => Service::DynamoDb,
        "AWSEvents" => Service::EventBridge,
        "SNS" => Service::Sns,
        _ => Service::Other,
    };
    (service, operation)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Service {
    DynamoDb,
    EventBridge,
    Sns,
    /// Streams and SQS: the wiring AWS runs for us, left alone.
    Other,
}

fn response(status: u16, content_type: &str, body: String) -> HttpResponse {
    let mut response = HttpResponse::new(StatusCode::try_from(status).unwrap(), SdkBody::from(body));
    response.headers_mut().insert("content-type", content_type.to_owned());
    response
}

fn json_error(status: u16, content_type: &str, code: &str, extra: Value) -> HttpResponse {
    let mut body = json!({ "__type": code, "message": format!("injected {code}") });
    if let (Some(body), Value::Object(extra)) = (body.as_object_mut(), extra) {
        body.extend(extra);
    }
    response(status, content_type, body.to_string())
}

fn sns_error(status: u16, code: &str) -> HttpResponse {
    let body = format!(
        "<ErrorResponse><Error><Type>{}</Type><Code>{code}</Code><Message>injected {code}</Message></Error>\
         <RequestId>injected</RequestId></ErrorResponse>",
        if status >= 500 { "Receiver" } else { "Sender" }
    );
    response(status, "text/xml", body)
}

const DYNAMODB_JSON: &str = "application/x-amz-json-1.0";
const EVENTBRIDGE_JSON: &str = "application/x-amz-json-1.1";

impl Injector {
    fn decide(&self, service: Service, operation: &str, request: &HttpRequest) -> Option<Fault> {
        let body = request.body().bytes().map(String::from_utf8_lossy).unwrap_or_default();
        let mut scripted = self.scripted.lock().unwrap();
        let asked =
            |next: &&mut Scripted| next.operation == operation && next.times > 0 && body.contains(&next.holding);
        if let Some(next) = scripted.iter_mut().find(asked) {
            next.times -= 1;
            return Some(next.fault);
        }
        drop(scripted);
        let rate = match service {
            Service::DynamoDb => self.rates.dynamodb,
            Service::EventBridge if operation == "PutEvents" => self.rates.eventbridge,
            Service::Sns if operation == "Publish" => self.rates.sns,
            _ => return None,
        };
        let first_put_events = service == Service::EventBridge && !self.put_events_seen.swap(true, Ordering::SeqCst);
        if first_put_events {
            return Some(Fault::PartialPutEvents);
        }
        if self.chance() >= rate {
            return None;
        }
        let pick = self.chance();
        Some(match (service, operation) {
            (Service::DynamoDb, "TransactWriteItems") if pick < 0.5 => Fault::TransactionConflict,
            (Service::EventBridge, _) if pick < 0.5 => Fault::PartialPutEvents,
            _ if pick < 0.4 => Fault::Throttling,
            _ if pick < 0.75 => Fault::ServerError,
            _ => Fault::Timeout,
        })
    }
}

/// A cancellation of every item of the transaction, one of them in conflict.
fn conflict(request: &HttpRequest) -> HttpResponse {
    let body: Value = request.body().bytes().and_then(|bytes| serde_json::from_slice(bytes).ok()).unwrap_or_default();
    let items = body["TransactItems"].as_array().map_or(1, Vec::len);
    let mut reasons = vec![json!({ "Code": "None" }); items];
    reasons[items - 1] = json!({ "Code": "TransactionConflict", "Message": "Transaction is ongoing for the item" });
    json_error(
        400,
        DYNAMODB_JSON,
        "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
        json!({ "CancellationReasons": reasons }),
    )
}

/// Sends only every other entry of a `PutEvents`, and reports the rest failed, in order.
async fn partial_put_events(
    inner: SharedHttpConnector,
    mut request: HttpRequest,
) -> Result<HttpResponse, ConnectorError> {
    let body: Value = request.body().bytes().and_then(|bytes| serde_json::from_slice(bytes).ok()).unwrap_or_default();
    let entries = body["Entries"].as_array().cloned().unwrap_or_default();
    let failed = |index: usize| index % 2 == 1;
    let kept: Vec<Value> = entries.iter().enumerate().filter(|(i, _)| !failed(*i)).map(|(_, e)| e.clone()).collect();
    let mut answers = Vec::new();
    if !kept.is_empty() {
        let mut forwarded = body.clone();
        forwarded["Entries"] = Value::Array(kept);
        let forwarded = forwarded.to_string();
        request.headers_mut().insert("content-length", forwarded.len().to_string());
        *request.body_mut() = SdkBody::from(forwarded);
        let response = inner.call(request).await?;
        let bytes = ByteStream::new(response.into_body())
            .collect()
            .await
            .map_err(|error| ConnectorError::io(error.into()))?
            .into_bytes();
        let sent: Value = serde_json::from_slice(&bytes).unwrap_or_default();
        answers = sent["Entries"].as_array().cloned().unwrap_or_default();
    }
    let mut answers = answers.into_iter();
    let entries: Vec<Value> = (0..entries.len())
        .map(|index| match failed(index) {
            true => json!({ "ErrorCode": "InternalFailure", "ErrorMessage": "injected partial failure" }),
            false => answers.next().unwrap_or_else(|| json!({ "EventId": "injected" })),
        })
        .collect();
    let failures = entries.iter().filter(|entry| entry.get("ErrorCode").is_some()).count();
    Ok(response(200, EVENTBRIDGE_JSON, json!({ "FailedEntryCount": failures, "Entries": entries }).to_string()))
}

impl Stand for Injector {
    fn call(&self, inner: &SharedHttpConnector, request: HttpRequest) -> HttpConnectorFuture {
        let (service, operation) = operation(&request);
        let Some(fault) = self.decide(service, &operation, &request) else {
            return inner.call(request);
        };
        self.count(fault);
        let answer = match (fault, service) {
            (Fault::PartialPutEvents, _) => {
                return HttpConnectorFuture::new(partial_put_events(inner.clone(), request));
            }
            (Fault::Timeout, _) => Err(ConnectorError::timeout("injected timeout before sending".into())),
            (Fault::TransactionConflict, _) => Ok(conflict(&request)),
            (Fault::Throttling, Service::DynamoDb) => {
                Ok(json_error(400, DYNAMODB_JSON, "com.amazonaws.dynamodb.v20120810#ThrottlingException", Value::Null))
            }
            (Fault::ServerError, Service::DynamoDb) => {
                Ok(json_error(500, DYNAMODB_JSON, "com.amazonaws.dynamodb.v20120810#InternalServerError", Value::Null))
            }
            (Fault::Throttling, Service::EventBridge) => {
                Ok(json_error(400, EVENTBRIDGE_JSON, "ThrottlingException", Value::Null))
            }
            (Fault::ServerError, Service::EventBridge) => {
                Ok(json_error(500, EVENTBRIDGE_JSON, "InternalException", Value::Null))
            }
            (Fault::Throttling, _) => Ok(sns_error(400, "Throttled")),
            (Fault::ServerError, _) => Ok(sns_error(500, "InternalError")),
        };
        HttpConnectorFuture::ready(answer)
    }
}
