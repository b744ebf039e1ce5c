//! The licence verification provider over HTTP: `POST {base}/verifications` with the number,
//! name and birth date, and `GET {base}/verifications/{reference}` to re-check a licence
//! verified before. Both answer `200 {"valid": true, "licenceClass", "reference"}` or
//! `200 {"valid": false, "reason"}`; a reference the provider does not know is a `404`.
//! Short connect and total timeouts; nothing sent is logged.

use super::https::{HttpsClient, https_client};
use crate::domain::licence::{LicenceApplication, LicenceClass};
use crate::ports::{LicenceCheckError, LicenceVerdict, LicenceVerifier};
use async_trait::async_trait;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Method, Request, StatusCode};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// The body of a verification request, as the provider API takes it.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VerificationBody {
    pub licence_number: String,
    pub name: String,
    pub birth_date: String,
}

/// The provider's verdict, as its API answers it.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VerificationAnswer {
    pub valid: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub licence_class: Option<LicenceClass>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl From<LicenceVerdict> for VerificationAnswer {
    fn from(verdict: LicenceVerdict) -> Self {
        match verdict {
            LicenceVerdict::Valid { class, reference } => {
                Self { valid: true, licence_class: Some(class), reference: Some(reference), reason: None }
            }
            LicenceVerdict::Invalid { reason } => {
                Self { valid: false, licence_class: None, reference: None, reason: Some(reason) }
            }
        }
    }
}

pub struct HttpLicenceVerifier {
    client: HttpsClient,
    base_url: String,
    timeout: Duration,
}

fn unavailable(detail: impl std::fmt::Display) -> LicenceCheckError {
    LicenceCheckError::Unavailable(detail.to_string())
}

impl HttpLicenceVerifier {
    pub fn new(base_url: &str, timeout: Duration) -> std::io::Result<Self> {
        Ok(Self {
            client: https_client(Some(timeout.min(Duration::from_secs(1))))?,
            base_url: base_url.trim_end_matches('/').to_owned(),
            timeout,
        })
    }

    async fn ask(&self, request: Request<Full<Bytes>>) -> Result<LicenceVerdict, LicenceCheckError> {
        let exchange = async {
            let response = self.client.request(request).await.map_err(unavailable)?;
            let status = response.status();
            let body = response.into_body().collect().await.map_err(unavailable)?.to_bytes();
            Ok::<_, LicenceCheckError>((status, body))
        };
        let (status, body) = tokio::time::timeout(self.timeout, exchange)
            .await
            .map_err(|_| unavailable(format!("no answer within {} ms", self.timeout.as_millis())))??;
        match status {
            StatusCode::OK => {}
            StatusCode::NOT_FOUND => return Ok(LicenceVerdict::Invalid { reason: "unknown to the provider".into() }),
            other => return Err(unavailable(format!("the provider answered {other}"))),
        }
        let answer: VerificationAnswer = serde_json::from_slice(&body).map_err(unavailable)?;
        match answer {
            VerificationAnswer { valid: true, licence_class: Some(class), reference: Some(reference), .. } => {
                Ok(LicenceVerdict::Valid { class, reference })
            }
            VerificationAnswer { valid: true, .. } => Err(unavailable("a valid verdict without class or reference")),
            VerificationAnswer { reason, .. } => {
                Ok(LicenceVerdict::Invalid { reason: reason.unwrap_or_else(|| "not valid".into()) })
            }
        }
    }
}

#[async_trait]
impl LicenceVerifier for HttpLicenceVerifier {
    async fn verify(&self, application: &LicenceApplication) -> Result<LicenceVerdict, LicenceCheckError> {
        let body = VerificationBody {
            licence_number: application.number.dashed(),
            name: application.name.clone(),
            birth_date: application.birth_date.format("%Y-%m-%d").to_string(),
        };
        let request = Request::builder()
            .method(Method::POST)
            .uri(format!("{}/verifications", self.base_url))
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(serde_json::to_vec(&body).map_err(unavailable)?)))
            .map_err(unavailable)?;
        self.ask(request).await
    }

    async fn recheck(&self, reference: &str) -> Result<LicenceVerdict, LicenceCheckError> {
        if !reference.bytes().all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_') {
            return Err(unavailable("a reference that is not a path segment"));
        }
        let request = Request::builder()
            .method(Method::GET)
            .uri(format!("{}/verifications/{reference}", self.base_url))
            .body(Full::new(Bytes::new()))
            .map_err(unavailable)?;
        self.ask(request).await
    }
}
