//! A payment provider to test against, over HTTP on loopback. It speaks the API of
//! `kickboard_common::adapters::http_payments`, can be slow, fail (5xx, hang past any
//! timeout, reset the connection) or decline at set rates, and keeps a ledger of charges by
//! idempotency key so a test can count what was really charged.
//!
//! | route | answer |
//! |---|---|
//! | `POST /charges` (`Idempotency-Key`) | 201 receipt, 402 decline, or a failure; a known key returns its first receipt |
//! | `GET /charges/{key}` | 200 receipt or 404 |
//! | `PUT /settings` | 204 |
//! | `GET /stats` | 200 `{requests, charges}` |

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use kickboard_common::adapters::http_payments::{ChargeBody, ChargeReceipt, Decline};
use kickboard_common::adapters::payment_simulator::{Decision, PaymentSimulator, SimulatedCharge, SimulatorSettings};
use kickboard_common::domain::plan::Won;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;

/// How a failing call fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FailureKind {
    /// 503 at once.
    #[default]
    Error,
    /// Charges, then answers only after `hangMs`: a client timeout with the charge landed.
    Timeout,
    /// Closes the connection without an answer.
    Reset,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct Settings {
    pub latency_ms: u64,
    pub failure_rate: f64,
    pub decline_rate: f64,
    pub failure_kind: FailureKind,
    /// How long a `timeout` failure holds its answer.
    pub hang_ms: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Self { latency_ms: 0, failure_rate: 0.0, decline_rate: 0.0, failure_kind: FailureKind::Error, hang_ms: 30_000 }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    /// Charge requests received (POST /charges).
    pub requests: u64,
    /// Distinct charges taken.
    pub charges: u64,
}

/// How the HTTP API fails, on top of the shared simulator's rates.
#[derive(Clone, Copy)]
struct Failures {
    kind: FailureKind,
    hang_ms: u64,
}

/// The simulator's shared state; cheap to clone. Charging, the ledger and the rates are the
/// one simulator of `kickboard-common`; this adds the ways an HTTP provider fails.
#[derive(Clone)]
pub struct Simulator {
    core: Arc<PaymentSimulator>,
    failures: Arc<Mutex<Failures>>,
    requests: Arc<AtomicU64>,
}

fn core_settings(settings: &Settings) -> SimulatorSettings {
    SimulatorSettings {
        latency_ms: settings.latency_ms,
        failure_rate: settings.failure_rate,
        decline_rate: settings.decline_rate,
    }
}

fn receipt(key: &str, charge: &SimulatedCharge) -> String {
    let receipt = ChargeReceipt {
        payment_id: charge.payment_id.to_string(),
        idempotency_key: key.to_owned(),
        amount_won: charge.amount.0,
    };
    serde_json::to_string(&receipt).expect("receipts serialize")
}

impl Simulator {
    pub fn new(settings: Settings) -> Self {
        Self {
            core: Arc::new(PaymentSimulator::new(core_settings(&settings))),
            failures: Arc::new(Mutex::new(Failures { kind: settings.failure_kind, hang_ms: settings.hang_ms })),
            requests: Arc::new(AtomicU64::new(0)),
        }
    }

    fn failures(&self) -> Failures {
        *self.failures.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn set(&self, settings: Settings) {
        self.core.set_settings(core_settings(&settings));
        *self.failures.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) =
            Failures { kind: settings.failure_kind, hang_ms: settings.hang_ms };
    }

    pub fn stats(&self) -> Stats {
        Stats { requests: self.requests.load(Ordering::SeqCst), charges: self.core.charge_count() as u64 }
    }

    async fn handle(&self, request: Request<Incoming>) -> Result<Response<Full<Bytes>>, &'static str> {
        let (parts, body) = request.into_parts();
        let body = body.collect().await.map(|collected| collected.to_bytes()).unwrap_or_default();
        let path = parts.uri.path().to_owned();
        let answer = |status: StatusCode, body: String| {
            let mut response = Response::new(Full::new(Bytes::from(body)));
            *response.status_mut() = status;
            response.headers_mut().insert("content-type", "application/json".parse().expect("a valid header"));
            Ok(response)
        };
        match (&parts.method, path.as_str()) {
            (&Method::POST, "/charges") => {
                self.requests.fetch_add(1, Ordering::SeqCst);
                let latency = self.core.settings().latency_ms;
                tokio::time::sleep(Duration::from_millis(latency)).await;
                let key = parts.headers.get("idempotency-key").and_then(|value| value.to_str().ok()).unwrap_or("");
                let Ok(charge) = serde_json::from_slice::<ChargeBody>(&body) else {
                    return answer(StatusCode::BAD_REQUEST, r#"{"error":"bad charge"}"#.into());
                };
                if key.is_empty() {
                    return answer(StatusCode::BAD_REQUEST, r#"{"error":"Idempotency-Key is required"}"#.into());
                }
                let failures = self.failures();
                // A timeout charges, then answers too late: the charge lands.
                match self.core.decide(key, Won(charge.amount_won), failures.kind == FailureKind::Timeout) {
                    Decision::Known(charge) => answer(StatusCode::OK, receipt(key, &charge)),
                    Decision::Approved(charge) => answer(StatusCode::CREATED, receipt(key, &charge)),
                    Decision::Declined => {
                        let decline = Decline { reason: "card declined (simulated)".into() };
                        answer(StatusCode::PAYMENT_REQUIRED, serde_json::to_string(&decline).expect("serializes"))
                    }
                    Decision::Failed { landed: Some(charge) } => {
                        tokio::time::sleep(Duration::from_millis(failures.hang_ms)).await;
                        answer(StatusCode::CREATED, receipt(key, &charge))
                    }
                    Decision::Failed { landed: None } if failures.kind == FailureKind::Reset => {
                        Err("simulated connection reset")
                    }
                    Decision::Failed { landed: None } => {
                        answer(StatusCode::SERVICE_UNAVAILABLE, r#"{"error":"overloaded (simulated)"}"#.into())
                    }
                }
            }
            (&Method::GET, path) if path.starts_with("/charges/") => {
                let key = &path["/charges/".len()..];
                match self.core.charge_of(key) {
                    Some(charge) => answer(StatusCode::OK, receipt(key, &charge)),
                    None => answer(StatusCode::NOT_FOUND, r#"{"error":"no such charge"}"#.into()),
                }
            }
            (&Method::PUT, "/settings") => match serde_json::from_slice::<Settings>(&body) {
                Ok(settings)
                    if (0.0..=1.0).contains(&settings.failure_rate) && (0.0..=1.0).contains(&settings.decline_rate) =>
                {
                    self.set(settings);
                    answer(StatusCode::NO_CONTENT, String::new())
                }
                _ => answer(StatusCode::BAD_REQUEST, r#"{"error":"bad settings"}"#.into()),
            },
            (&Method::GET, "/stats") => {
                answer(StatusCode::OK, serde_json::to_string(&self.stats()).expect("serializes"))
            }
            _ => answer(StatusCode::NOT_FOUND, r#"{"error":"no such route"}"#.into()),
        }
    }
}

/// A running simulator; [`RunningSimulator::stop`] stops it.
pub struct RunningSimulator {
    pub addr: SocketAddr,
    pub simulator: Simulator,
    stop: watch::Sender<bool>,
}

impl RunningSimulator {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn stop(self) {
        let _ = self.stop.send(true);
    }
}

/// Serves the simulator on `addr` (use port 0 for a free one).
pub async fn start(addr: SocketAddr, settings: Settings) -> std::io::Result<RunningSimulator> {
    let listener = TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let simulator = Simulator::new(settings);
    let (stop, mut stopping) = watch::channel(false);
    let serving = simulator.clone();
    tokio::spawn(async move {
        loop {
            tokio::select! {
                accepted = listener.accept() => {
                    let Ok((stream, _)) = accepted else { continue };
                    let simulator = serving.clone();
                    let service = service_fn(move |request| {
                        let simulator = simulator.clone();
                        async move { simulator.handle(request).await }
                    });
                    tokio::spawn(http1::Builder::new().serve_connection(TokioIo::new(stream), service));
                }
                _ = stopping.changed() => break,
            }
        }
    });
    Ok(RunningSimulator { addr, simulator, stop })
}
