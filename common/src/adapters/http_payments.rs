//! The payment provider over HTTP: `POST {base}/charges` with an `Idempotency-Key` (the
//! provider charges a key at most once) and `GET {base}/charges/{key}` to learn what became
//! of a charge whose answer never arrived. Short connect and total timeouts.

use super::https::{HttpsClient, https_client};
use crate::domain::ids::PaymentId;
use crate::ports::{ChargeOutcome, ChargeRequest, PaymentError, PaymentProvider};
use async_trait::async_trait;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Method, Request, StatusCode};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::sync::Mutex;
use std::time::Duration;

/// How long to wait for a connection and for a whole answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PaymentTimeouts {
    pub connect: Duration,
    pub total: Duration,
}

/// The body of a charge request, as the provider API takes it.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChargeBody {
    pub pass_id: String,
    pub customer_id: String,
    pub amount_won: u64,
}

/// An approved charge, as the provider API answers it.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChargeReceipt {
    pub payment_id: String,
    pub idempotency_key: String,
    pub amount_won: u64,
}

/// A declined charge.
#[derive(Debug, Serialize, Deserialize)]
pub struct Decline {
    pub reason: String,
}

pub struct HttpPaymentProvider {
    client: HttpsClient,
    base_url: String,
    total_timeout: Duration,
    /// Keys whose charge may have landed without us hearing the answer: asked about first.
    uncertain: Mutex<HashSet<String>>,
}

fn unavailable(detail: impl std::fmt::Display) -> PaymentError {
    PaymentError::Unavailable(detail.to_string())
}

enum Answer {
    Status(StatusCode, Bytes),
    /// No answer: refused, reset or timed out. The request may or may not have landed.
    None(String),
}

impl HttpPaymentProvider {
    pub fn new(base_url: &str, timeouts: PaymentTimeouts) -> std::io::Result<Self> {
        Ok(Self {
            client: https_client(Some(timeouts.connect))?,
            base_url: base_url.trim_end_matches('/').to_owned(),
            total_timeout: timeouts.total,
            uncertain: Mutex::new(HashSet::new()),
        })
    }

    async fn send(&self, request: Request<Full<Bytes>>) -> Answer {
        let exchange = async {
            let response = self.client.request(request).await.map_err(|error| error.to_string())?;
            let status = response.status();
            let body = response.into_body().collect().await.map_err(|error| error.to_string())?.to_bytes();
            Ok::<_, String>((status, body))
        };
        match tokio::time::timeout(self.total_timeout, exchange).await {
            Ok(Ok((status, body))) => Answer::Status(status, body),
            Ok(Err(error)) => Answer::None(error),
            Err(_) => Answer::None(format!("no answer within {} ms", self.total_timeout.as_millis())),
        }
    }

    fn uncertain(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.uncertain.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The provider's record of a charge made with `key`, if any.
    async fn lookup(&self, key: &str) -> Result<Option<ChargeOutcome>, PaymentError> {
        let request = Request::builder()
            .method(Method::GET)
            .uri(format!("{}/charges/{key}", self.base_url))
            .body(Full::new(Bytes::new()))
            .map_err(unavailable)?;
        match self.send(request).await {
            Answer::Status(StatusCode::OK, body) => approved(&body).map(Some),
            Answer::Status(StatusCode::NOT_FOUND, _) => Ok(None),
            Answer::Status(status, _) => Err(unavailable(format!("lookup answered {status}"))),
            Answer::None(error) => Err(unavailable(error)),
        }
    }
}

fn approved(body: &[u8]) -> Result<ChargeOutcome, PaymentError> {
    let receipt: ChargeReceipt = serde_json::from_slice(body).map_err(unavailable)?;
    let payment_id = PaymentId::try_from(receipt.payment_id).map_err(unavailable)?;
    Ok(ChargeOutcome::Approved { payment_id })
}

#[async_trait]
impl PaymentProvider for HttpPaymentProvider {
    async fn charge(&self, charge: &ChargeRequest) -> Result<ChargeOutcome, PaymentError> {
        let key = &charge.idempotency_key;
        // An earlier attempt went unanswered: find out whether it charged before charging.
        let uncertain = self.uncertain().contains(key);
        if uncertain && let Some(outcome) = self.lookup(key).await? {
            self.uncertain().remove(key);
            return Ok(outcome);
        }
        let body = ChargeBody {
            pass_id: charge.pass_id.to_string(),
            customer_id: charge.customer.to_string(),
            amount_won: charge.amount.0,
        };
        let request = Request::builder()
            .method(Method::POST)
            .uri(format!("{}/charges", self.base_url))
            .header("content-type", "application/json")
            .header("idempotency-key", key)
            .body(Full::new(Bytes::from(serde_json::to_vec(&body).map_err(unavailable)?)))
            .map_err(unavailable)?;
        let answer = self.send(request).await;
        match answer {
            Answer::Status(StatusCode::OK | StatusCode::CREATED, body) => {
                self.uncertain().remove(key);
                approved(&body)
            }
            Answer::Status(StatusCode::PAYMENT_REQUIRED, body) => {
                self.uncertain().remove(key);
                let decline: Decline = serde_json::from_slice(&body).unwrap_or(Decline { reason: "declined".into() });
                Ok(ChargeOutcome::Declined { reason: decline.reason })
            }
            Answer::Status(status, _) => {
                self.uncertain().insert(key.clone());
                Err(unavailable(format!("provider answered {status}")))
            }
            Answer::None(error) => {
                self.uncertain().insert(key.clone());
                Err(unavailable(error))
            }
        }
    }
}
