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
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
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

struct State {
    settings: Settings,
    random: u64,
    ledger: HashMap<String, ChargeReceipt>,
}

/// The simulator's shared state; cheap to clone.
#[derive(Clone)]
pub struct Simulator {
    state: Arc<Mutex<State>>,
    requests: Arc<AtomicU64>,
}

fn next_unit(random: &mut u64) -> f64 {
    *random ^= *random << 13;
    *random ^= *random >> 7;
    *random ^= *random << 17;
    (*random >> 11) as f64 / (1u64 << 53) as f64
}

enum Decision {
    Known(String),
    Approve(String),
    Decline,
    Fail(FailureKind, String),
}

impl Simulator {
    pub fn new(settings: Settings) -> Self {
        let seed = uuid::Uuid::new_v4().as_u64_pair().0 | 1;
        Self {
            state: Arc::new(Mutex::new(State { settings, random: seed, ledger: HashMap::new() })),
            requests: Arc::new(AtomicU64::new(0)),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn set(&self, settings: Settings) {
        self.lock().settings = settings;
    }

    pub fn stats(&self) -> Stats {
        Stats { requests: self.requests.load(Ordering::SeqCst), charges: self.lock().ledger.len() as u64 }
    }

    /// Decides a charge: a known key returns its receipt; otherwise fail, decline or approve.
    /// Approvals and timeouts (whose charge lands) enter the ledger at once.
    fn decide(&self, key: &str, body: &ChargeBody) -> Decision {
        let mut state = self.lock();
        if let Some(receipt) = state.ledger.get(key) {
            return Decision::Known(serde_json::to_string(receipt).expect("receipts serialize"));
        }
        let settings = state.settings;
        let receipt = |state: &mut State| {
            let receipt = ChargeReceipt {
                payment_id: uuid::Uuid::new_v4().to_string(),
                idempotency_key: key.to_owned(),
                amount_won: body.amount_won,
            };
            let json = serde_json::to_string(&receipt).expect("receipts serialize");
            state.ledger.insert(key.to_owned(), receipt);
            json
        };
        if next_unit(&mut state.random) < settings.failure_rate {
            let landed =
                if settings.failure_kind == FailureKind::Timeout { receipt(&mut state) } else { String::new() };
            return Decision::Fail(settings.failure_kind, landed);
        }
        if next_unit(&mut state.random) < settings.decline_rate {
            return Decision::Decline;
        }
        Decision::Approve(receipt(&mut state))
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
                let latency = self.lock().settings.latency_ms;
                tokio::time::sleep(Duration::from_millis(latency)).await;
                let key = parts.headers.get("idempotency-key").and_then(|value| value.to_str().ok()).unwrap_or("");
                let Ok(charge) = serde_json::from_slice::<ChargeBody>(&body) else {
                    return answer(StatusCode::BAD_REQUEST, r#"{"error":"bad charge"}"#.into());
                };
                if key.is_empty() {
                    return answer(StatusCode::BAD_REQUEST, r#"{"error":"Idempotency-Key is required"}"#.into());
                }
                match self.decide(key, &charge) {
                    Decision::Known(receipt) => answer(StatusCode::OK, receipt),
                    Decision::Approve(receipt) => answer(StatusCode::CREATED, receipt),
                    Decision::Decline => {
                        let decline = Decline { reason: "card declined (simulated)".into() };
                        answer(StatusCode::PAYMENT_REQUIRED, serde_json::to_string(&decline).expect("serializes"))
                    }
                    Decision::Fail(FailureKind::Error, _) => {
                        answer(StatusCode::SERVICE_UNAVAILABLE, r#"{"error":"overloaded (simulated)"}"#.into())
                    }
                    Decision::Fail(FailureKind::Timeout, receipt) => {
                        let hang = self.lock().settings.hang_ms;
                        tokio::time::sleep(Duration::from_millis(hang)).await;
                        answer(StatusCode::CREATED, receipt)
                    }
                    Decision::Fail(FailureKind::Reset, _) => Err("simulated connection reset"),
                }
            }
            (&Method::GET, path) if path.starts_with("/charges/") => {
                let key = &path["/charges/".len()..];
                match self.lock().ledger.get(key) {
                    Some(receipt) => answer(StatusCode::OK, serde_json::to_string(receipt).expect("serializes")),
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
