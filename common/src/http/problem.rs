//! Errors as `application/problem+json` (RFC 9457): one stable type per failure.

use crate::domain::error::RuleViolation;
use crate::ports::PortError;
use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Response};
use serde::Serialize;

/// Every problem type the API answers with. The slug is part of the contract: never rename one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProblemType {
    InvalidRequest,
    Unauthorized,
    Forbidden,
    NotFound,
    MethodNotAllowed,
    PayloadTooLarge,
    UnsupportedMediaType,
    UnknownPlan,
    PassNotFound,
    PassAlreadyPaid,
    PassNotActive,
    PassExhausted,
    PassExpired,
    PassHasOpenRental,
    KickboardNotFound,
    KickboardUnavailable,
    KickboardRented,
    BatteryTooLow,
    ZoneNotFound,
    RideStartNotAllowed,
    RideEndNotAllowed,
    KickboardIdTaken,
    RentalNotFound,
    RentalAlreadyReturned,
    ContactNotFound,
    PushPlatformNotOffered,
    BalanceNotFound,
    PaymentDeclined,
    PaymentUnavailable,
    PaymentNotConfigured,
    IdempotencyKeyReused,
    RequestInProgress,
    ServiceUnavailable,
    Internal,
}

/// How long a client is asked to wait after a busy backend (`503 service-unavailable`).
pub const BUSY_RETRY_AFTER_SECS: u64 = 1;

/// The prefix of every problem `type` URI.
pub const PROBLEM_TYPE_PREFIX: &str = "urn:kickboard:problem:";

impl ProblemType {
    pub fn slug(self) -> &'static str {
        use ProblemType::*;
        match self {
            InvalidRequest => "invalid-request",
            Unauthorized => "unauthorized",
            Forbidden => "forbidden",
            NotFound => "not-found",
            MethodNotAllowed => "method-not-allowed",
            PayloadTooLarge => "payload-too-large",
            UnsupportedMediaType => "unsupported-media-type",
            UnknownPlan => "unknown-plan",
            PassNotFound => "pass-not-found",
            PassAlreadyPaid => "pass-already-paid",
            PassNotActive => "pass-not-active",
            PassExhausted => "pass-exhausted",
            PassExpired => "pass-expired",
            PassHasOpenRental => "pass-has-open-rental",
            KickboardNotFound => "kickboard-not-found",
            KickboardUnavailable => "kickboard-unavailable",
            KickboardRented => "kickboard-rented",
            BatteryTooLow => "battery-too-low",
            ZoneNotFound => "zone-not-found",
            RideStartNotAllowed => "ride-start-not-allowed",
            RideEndNotAllowed => "ride-end-not-allowed",
            KickboardIdTaken => "kickboard-id-taken",
            RentalNotFound => "rental-not-found",
            RentalAlreadyReturned => "rental-already-returned",
            ContactNotFound => "contact-not-found",
            PushPlatformNotOffered => "push-platform-not-offered",
            BalanceNotFound => "balance-not-found",
            PaymentDeclined => "payment-declined",
            PaymentUnavailable => "payment-unavailable",
            PaymentNotConfigured => "payment-not-configured",
            IdempotencyKeyReused => "idempotency-key-reused",
            RequestInProgress => "request-in-progress",
            ServiceUnavailable => "service-unavailable",
            Internal => "internal",
        }
    }

    pub fn status(self) -> StatusCode {
        use ProblemType::*;
        match self {
            InvalidRequest => StatusCode::BAD_REQUEST,
            Unauthorized => StatusCode::UNAUTHORIZED,
            Forbidden => StatusCode::FORBIDDEN,
            NotFound | PassNotFound | KickboardNotFound | RentalNotFound | ContactNotFound | BalanceNotFound
            | ZoneNotFound => StatusCode::NOT_FOUND,
            MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            PassAlreadyPaid
            | PassHasOpenRental
            | KickboardUnavailable
            | KickboardRented
            | KickboardIdTaken
            | RentalAlreadyReturned => StatusCode::CONFLICT,
            UnknownPlan
            | PassNotActive
            | PassExhausted
            | PassExpired
            | BatteryTooLow
            | RideStartNotAllowed
            | RideEndNotAllowed
            | IdempotencyKeyReused
            | PushPlatformNotOffered => StatusCode::UNPROCESSABLE_ENTITY,
            RequestInProgress => StatusCode::CONFLICT,
            PaymentDeclined => StatusCode::PAYMENT_REQUIRED,
            PaymentUnavailable | PaymentNotConfigured | ServiceUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn title(self) -> &'static str {
        use ProblemType::*;
        match self {
            InvalidRequest => "The request is malformed",
            Unauthorized => "A valid bearer token is required",
            Forbidden => "You may not do this",
            NotFound => "Nothing here",
            MethodNotAllowed => "Method not allowed on this route",
            PayloadTooLarge => "The request body is too large",
            UnsupportedMediaType => "The body must be application/json",
            UnknownPlan => "There is no such plan",
            PassNotFound => "No such pass",
            PassAlreadyPaid => "The pass is already paid",
            PassNotActive => "The pass is not paid yet",
            PassExhausted => "The pass has no minutes left",
            PassExpired => "The pass has expired",
            PassHasOpenRental => "The pass already has an open rental",
            KickboardNotFound => "No such kickboard",
            KickboardUnavailable => "The kickboard is not available",
            KickboardRented => "The kickboard is rented",
            BatteryTooLow => "The kickboard's battery is too low to ride; please choose another",
            ZoneNotFound => "No such zone",
            RideStartNotAllowed => "Rides may not start where this kickboard is",
            RideEndNotAllowed => "Rides may not end here; please park where parking is allowed",
            KickboardIdTaken => "The kickboard id is taken",
            RentalNotFound => "No such rental",
            RentalAlreadyReturned => "The rental is already returned",
            ContactNotFound => "No contact details yet",
            PushPlatformNotOffered => "Push alerts are not offered on this platform; alerts can go by SMS",
            BalanceNotFound => "No balance for this pass yet",
            PaymentDeclined => "The payment was declined",
            PaymentUnavailable => "Payment is unavailable right now; please pay a little later",
            PaymentNotConfigured => "Payment is not set up on this service yet",
            IdempotencyKeyReused => "This Idempotency-Key was used with another request",
            RequestInProgress => "A request with this Idempotency-Key is being handled",
            ServiceUnavailable => "We are busy right now; please try again in a moment",
            Internal => "Something went wrong on our side",
        }
    }

    pub fn uri(self) -> String {
        format!("{PROBLEM_TYPE_PREFIX}{}", self.slug())
    }
}

/// A failed request, ready to become a response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub kind: ProblemType,
    pub detail: Option<String>,
    /// The request field at fault, for 400s.
    pub field: Option<String>,
    /// Seconds the client should wait, sent as `Retry-After`.
    pub retry_after_secs: Option<u64>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ProblemBody<'a> {
    #[serde(rename = "type")]
    kind: String,
    title: &'a str,
    status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
}

impl Problem {
    pub fn new(kind: ProblemType) -> Self {
        Self { kind, detail: None, field: None, retry_after_secs: None }
    }

    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    /// A 400 naming the field at fault.
    pub fn invalid_field(field: impl Into<String>, detail: impl Into<String>) -> Self {
        let field = field.into();
        let detail = format!("{field}: {}", detail.into());
        Self { field: Some(field), ..Self::new(ProblemType::InvalidRequest).with_detail(detail) }
    }

    pub fn retry_after(mut self, secs: u64) -> Self {
        self.retry_after_secs = Some(secs);
        self
    }

    pub fn into_response(self) -> Response<Body> {
        let status = self.kind.status();
        let body = ProblemBody {
            kind: self.kind.uri(),
            title: self.kind.title(),
            status: status.as_u16(),
            detail: self.detail.as_deref(),
            field: self.field.as_deref(),
        };
        let json = serde_json::to_string(&body).unwrap_or_else(|_| String::from("{}"));
        let mut response = Response::new(Body::Text(json));
        *response.status_mut() = status;
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        if let Some(secs) = self.retry_after_secs {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

impl From<RuleViolation> for Problem {
    fn from(violation: RuleViolation) -> Self {
        use RuleViolation as V;
        let kind = match violation {
            V::UnknownPlan => ProblemType::UnknownPlan,
            V::PassNotFound => ProblemType::PassNotFound,
            V::PassAlreadyPaid => ProblemType::PassAlreadyPaid,
            V::PassNotActive => ProblemType::PassNotActive,
            V::PassExhausted => ProblemType::PassExhausted,
            V::PassExpired => ProblemType::PassExpired,
            V::PassHasOpenRental => ProblemType::PassHasOpenRental,
            V::KickboardNotFound => ProblemType::KickboardNotFound,
            V::KickboardUnavailable => ProblemType::KickboardUnavailable,
            V::KickboardRented => ProblemType::KickboardRented,
            V::BatteryTooLow => ProblemType::BatteryTooLow,
            V::ZoneNotFound => ProblemType::ZoneNotFound,
            V::RideStartNotAllowed(place) => {
                return Problem::new(ProblemType::RideStartNotAllowed).with_detail(format!("the kickboard is {place}"));
            }
            V::RideEndNotAllowed(place) => {
                return Problem::new(ProblemType::RideEndNotAllowed).with_detail(format!("the ride would end {place}"));
            }
            V::KickboardIdTaken => ProblemType::KickboardIdTaken,
            V::RentalNotFound => ProblemType::RentalNotFound,
            V::RentalAlreadyReturned => ProblemType::RentalAlreadyReturned,
            V::DuplicateRequest => ProblemType::RequestInProgress,
            V::Inconsistent(what) => {
                tracing::error!(what, "inconsistent stored state");
                ProblemType::Internal
            }
        };
        Problem::new(kind)
    }
}

impl From<PortError> for Problem {
    fn from(error: PortError) -> Self {
        match error {
            PortError::Rule(violation) => violation.into(),
            PortError::Transient(detail) => {
                // Nothing was written: the client may simply try again.
                tracing::warn!(%detail, "backend busy");
                Problem::new(ProblemType::ServiceUnavailable).retry_after(BUSY_RETRY_AFTER_SECS)
            }
            PortError::Unavailable(detail) => {
                // The detail may hold SQL or SDK text: it goes to the log, never to the client.
                tracing::error!(%detail, "backend unavailable");
                Problem::new(ProblemType::Internal)
            }
        }
    }
}
