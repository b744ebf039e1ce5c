//! `Idempotency-Key` handling: the same key with the same body gets the first answer again
//! and writes nothing; the same key with another body is refused (422).

use super::problem::{Problem, ProblemType};
use super::{HandlerResult, request};
use crate::domain::ids::{CustomerId, IdError};
use crate::ports::{IdempotencyStore, IdempotentAnswer};
use chrono::{DateTime, Utc};
use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Request, Response};

pub const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// A request's idempotency key, scoped to its caller and route, and its body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey {
    scope: String,
    request: String,
}

/// The request's key, if it has one. Keys follow the id rules: 1 to 64 of `A-Z a-z 0-9 - _ . :`.
pub fn idempotency_key(req: &Request, customer: &CustomerId, route: &str) -> Result<Option<IdempotencyKey>, Problem> {
    let Some(value) = req.headers().get(IDEMPOTENCY_KEY) else { return Ok(None) };
    let bad = |detail: String| Problem::invalid_field("Idempotency-Key", detail);
    let key = value.to_str().map_err(|_| bad("must be visible ASCII".into()))?;
    // Same rules as ids, so a key can live in any store key.
    let key = crate::domain::ids::EventId::try_from(key).map_err(|error: IdError| bad(error.to_string()))?;
    let body: Option<serde_json::Value> = request::optional_json_body(req)?;
    Ok(Some(IdempotencyKey {
        scope: format!("{customer}/{route}/{key}"),
        request: body.map(|value| value.to_string()).unwrap_or_default(),
    }))
}

impl IdempotencyKey {
    pub fn scope(&self) -> &str {
        &self.scope
    }

    /// The answer to store with the write.
    pub fn answer(&self, response: &Response<Body>, now: DateTime<Utc>) -> IdempotentAnswer {
        let body = match response.body() {
            Body::Text(text) => text.clone(),
            Body::Binary(bytes) => String::from_utf8_lossy(bytes).into_owned(),
            _ => String::new(),
        };
        IdempotentAnswer {
            scope: self.scope.clone(),
            request: self.request.clone(),
            status: response.status().as_u16(),
            body,
            created_at: now,
        }
    }

    /// The stored answer again, if it was given to this same request.
    pub fn replay(&self, stored: &IdempotentAnswer) -> HandlerResult {
        if stored.request != self.request {
            return Err(Problem::new(ProblemType::IdempotencyKeyReused));
        }
        let mut response = Response::new(Body::Text(stored.body.clone()));
        *response.status_mut() = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK);
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.insert("idempotent-replayed", HeaderValue::from_static("true"));
        Ok(response)
    }
}

/// Where a request with an optional `Idempotency-Key` stands before any work.
pub enum Idempotent {
    /// Answered before: give this again (or 422 when it was for another body).
    Replay(HandlerResult),
    /// New: do the work, storing the answer under this key when there is one.
    Fresh(Option<IdempotencyKey>),
}

/// Reads the request's key and, when that key was answered before, the answer.
pub async fn idempotent(
    request: &Request,
    customer: &CustomerId,
    route: &str,
    answers: &dyn IdempotencyStore,
) -> Result<Idempotent, Problem> {
    let key = idempotency_key(request, customer, route)?;
    match replay(answers, key.as_ref()).await? {
        Some(replayed) => Ok(Idempotent::Replay(replayed)),
        None => Ok(Idempotent::Fresh(key)),
    }
}

/// The stored answer when this key was answered before (or 422 if it was for another body).
async fn replay(
    answers: &dyn IdempotencyStore,
    key: Option<&IdempotencyKey>,
) -> Result<Option<HandlerResult>, Problem> {
    let Some(key) = key else { return Ok(None) };
    Ok(answers.find_answer(key.scope()).await?.map(|stored| key.replay(&stored)))
}

/// A concurrent request with the same key wrote first: give its answer.
pub async fn replay_raced(answers: &dyn IdempotencyStore, key: Option<&IdempotencyKey>) -> HandlerResult {
    match replay(answers, key).await? {
        Some(replayed) => replayed,
        None => Err(Problem::new(ProblemType::RequestInProgress)),
    }
}
