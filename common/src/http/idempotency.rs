//! `Idempotency-Key` handling, as Powertools for AWS Lambda and zero2prod do it: the key is
//! claimed first, as in progress until the function's deadline; the guarded write stores the
//! answer over that claim in its own transaction. The same key with the same body gets the
//! first answer again and writes nothing; with another body it is refused (422); while the
//! first request still runs, a retry is told to wait (409) instead of doing the work twice.

use super::problem::{Problem, ProblemType};
use super::{HandlerResult, request};
use crate::domain::ids::{CustomerId, IdError};
use crate::ports::{Clock, IdempotencyStore, IdempotentAnswer, KeyClaim, KeyClaimed};
use chrono::{DateTime, Duration, Utc};
use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Request, RequestExt, Response};
use std::future::Future;

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

    /// The stored answer again, if it was given to this same request.
    pub fn replay(&self, stored: &IdempotentAnswer) -> HandlerResult {
        if stored.request != self.request {
            return Err(Problem::new(ProblemType::IdempotencyKeyReused));
        }
        let mut response = Response::new(Body::Text(stored.body.clone()));
        *response.status_mut() = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK);
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(super::response::JSON));
        headers.insert(REPLAYED, HeaderValue::from_static("true"));
        Ok(response)
    }
}

/// The header that marks an answer given again to a retry.
pub const REPLAYED: &str = "idempotent-replayed";

/// A key this request holds while it works; the guarded write stores the answer over it.
#[derive(Debug, Clone)]
pub struct HeldKey {
    key: IdempotencyKey,
    claim: KeyClaim,
}

impl HeldKey {
    /// The answer to store with the write.
    pub fn answer(&self, response: &Response<Body>, now: DateTime<Utc>) -> IdempotentAnswer {
        let body = match response.body() {
            Body::Text(text) => text.clone(),
            Body::Binary(bytes) => String::from_utf8_lossy(bytes).into_owned(),
            _ => String::new(),
        };
        IdempotentAnswer {
            scope: self.key.scope.clone(),
            request: self.key.request.clone(),
            status: response.status().as_u16(),
            body,
            created_at: now,
            token: self.claim.token.clone(),
        }
    }
}

/// How long a request holds its key when the runtime does not say how long it may run.
const DEFAULT_HOLD: Duration = Duration::seconds(30);

/// Until when this request may run: the Lambda invocation's deadline, else [`DEFAULT_HOLD`].
fn held_until(request: &Request, now: DateTime<Utc>) -> DateTime<Utc> {
    let deadline = request
        .lambda_context_ref()
        .and_then(|context| i64::try_from(context.deadline).ok())
        .and_then(DateTime::<Utc>::from_timestamp_millis);
    deadline.filter(|deadline| *deadline > now).unwrap_or(now + DEFAULT_HOLD)
}

/// Runs a command that takes an `Idempotency-Key`, the way every such command does: the key
/// is claimed before any work (a retry of an answered request gets the answer again, 422 if
/// the body differs; a retry while the first is still running gets `409
/// request-in-progress` with `Retry-After` and does nothing); `work` gets the held key to
/// store its answer with its write; if `work` fails, the key is given back. Without a key,
/// `work` just runs.
pub async fn guarded<F, Fut>(
    request: &Request,
    customer: &CustomerId,
    route: &str,
    answers: &dyn IdempotencyStore,
    clock: &dyn Clock,
    work: F,
) -> HandlerResult
where
    F: FnOnce(Option<HeldKey>) -> Fut,
    Fut: Future<Output = HandlerResult>,
{
    let Some(key) = idempotency_key(request, customer, route)? else {
        return work(None).await;
    };
    let now = clock.now();
    let claim = KeyClaim {
        scope: key.scope.clone(),
        request: key.request.clone(),
        token: uuid::Uuid::new_v4().to_string(),
        now,
        until: held_until(request, now),
    };
    match answers.claim_key(&claim).await? {
        KeyClaimed::Answered(stored) => return key.replay(&stored),
        KeyClaimed::InProgress { until } => return Err(in_progress(until, now)),
        KeyClaimed::Claimed => {}
    }
    let held = HeldKey { key: key.clone(), claim: claim.clone() };
    let result = work(Some(held)).await;
    let Err(problem) = result else { return result };
    if let Err(error) = answers.release_key(&claim).await {
        // The claim expires at its `until` anyway; a retry waits until then.
        tracing::warn!(%error, "could not give an idempotency key back");
    }
    if problem.kind != ProblemType::RequestInProgress {
        return Err(problem);
    }
    // Our claim expired and another request answered meanwhile: its answer.
    match answers.find_answer(&key.scope, clock.now()).await? {
        Some(stored) => key.replay(&stored),
        None => Err(problem),
    }
}

/// `409 request-in-progress`, to try again once the other request is done or gave up.
fn in_progress(until: DateTime<Utc>, now: DateTime<Utc>) -> Problem {
    let secs = (until - now).num_seconds().clamp(1, 60);
    Problem::new(ProblemType::RequestInProgress).retry_after(u64::try_from(secs).unwrap_or(1))
}
