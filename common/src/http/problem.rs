//! Errors as `application/problem+json` (RFC 9457): one stable type per failure.

use super::language;
use crate::domain::error::RuleViolation;
use crate::ports::PortError;
use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Response};
use serde::Serialize;

/// Declares every problem type once: its variant, its slug (part of the contract: never rename
/// one), its status and its title.
macro_rules! problem_types {
    ($($kind:ident: $slug:literal, $status:ident, $title:literal;)*) => {
        /// Every problem type the API answers with.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum ProblemType {
            $($kind),*
        }

        impl ProblemType {
            pub const ALL: &[ProblemType] = &[$(ProblemType::$kind),*];

            pub fn slug(self) -> &'static str {
                match self {
                    $(ProblemType::$kind => $slug),*
                }
            }

            pub fn status(self) -> StatusCode {
                match self {
                    $(ProblemType::$kind => StatusCode::$status),*
                }
            }

            pub fn title(self) -> &'static str {
                match self {
                    $(ProblemType::$kind => $title),*
                }
            }
        }
    };
}

problem_types! {
    InvalidRequest: "invalid-request", BAD_REQUEST, "The request is malformed";
    Unauthorized: "unauthorized", UNAUTHORIZED, "A valid bearer token is required";
    Forbidden: "forbidden", FORBIDDEN, "You may not do this";
    NotFound: "not-found", NOT_FOUND, "Nothing here";
    MethodNotAllowed: "method-not-allowed", METHOD_NOT_ALLOWED, "Method not allowed on this route";
    PayloadTooLarge: "payload-too-large", PAYLOAD_TOO_LARGE, "The request body is too large";
    UnsupportedMediaType: "unsupported-media-type", UNSUPPORTED_MEDIA_TYPE, "The body must be application/json";
    UnknownPlan: "unknown-plan", UNPROCESSABLE_ENTITY, "There is no such plan";
    PassNotFound: "pass-not-found", NOT_FOUND, "No such pass";
    PassAlreadyPaid: "pass-already-paid", CONFLICT, "The pass is already paid";
    PassNotActive: "pass-not-active", UNPROCESSABLE_ENTITY, "The pass is not paid yet";
    PassExhausted: "pass-exhausted", UNPROCESSABLE_ENTITY, "The pass has no minutes left";
    PassExpired: "pass-expired", UNPROCESSABLE_ENTITY, "The pass has expired";
    PassHasOpenRental: "pass-has-open-rental", CONFLICT, "The pass already has an open rental";
    KickboardNotFound: "kickboard-not-found", NOT_FOUND, "No such kickboard";
    KickboardUnavailable: "kickboard-unavailable", CONFLICT, "The kickboard is not available";
    KickboardRented: "kickboard-rented", CONFLICT, "The kickboard is rented";
    BatteryTooLow: "battery-too-low", UNPROCESSABLE_ENTITY, "The kickboard's battery is too low to ride; please choose another";
    ZoneNotFound: "zone-not-found", NOT_FOUND, "No such zone";
    RideStartNotAllowed: "ride-start-not-allowed", UNPROCESSABLE_ENTITY, "Rides may not start where this kickboard is";
    RideEndNotAllowed: "ride-end-not-allowed", UNPROCESSABLE_ENTITY, "Rides may not end here; please park where parking is allowed";
    KickboardIdTaken: "kickboard-id-taken", CONFLICT, "The kickboard id is taken";
    RentalNotFound: "rental-not-found", NOT_FOUND, "No such rental";
    RentalAlreadyReturned: "rental-already-returned", CONFLICT, "The rental is already returned";
    ContactNotFound: "contact-not-found", NOT_FOUND, "No contact details yet";
    PushPlatformNotOffered: "push-platform-not-offered", UNPROCESSABLE_ENTITY, "Push alerts are not offered on this platform; alerts can go by SMS";
    BalanceNotFound: "balance-not-found", NOT_FOUND, "No balance for this pass yet";
    PaymentDeclined: "payment-declined", PAYMENT_REQUIRED, "The payment was declined";
    PaymentUnavailable: "payment-unavailable", SERVICE_UNAVAILABLE, "Payment is unavailable right now; please pay a little later";
    PaymentNotConfigured: "payment-not-configured", SERVICE_UNAVAILABLE, "Payment is not set up on this service yet";
    IdempotencyKeyReused: "idempotency-key-reused", UNPROCESSABLE_ENTITY, "This Idempotency-Key was used with another request";
    RequestInProgress: "request-in-progress", CONFLICT, "A request with this Idempotency-Key is being handled";
    ServiceUnavailable: "service-unavailable", SERVICE_UNAVAILABLE, "We are busy right now; please try again in a moment";
    VehicleNotResponding: "vehicle-not-responding", GATEWAY_TIMEOUT, "The kickboard did not unlock; nothing was charged, please try again or choose another";
    CommandNotFound: "command-not-found", NOT_FOUND, "No such command for this kickboard";
    VehicleCommandsUnavailable: "vehicle-commands-unavailable", SERVICE_UNAVAILABLE, "Commands to vehicles are not available on this service";
    LicenceRequired: "licence-required", UNPROCESSABLE_ENTITY, "A verified driving licence is needed to ride";
    LicenceInvalid: "licence-invalid", UNPROCESSABLE_ENTITY, "The licence could not be verified";
    RiderTooYoung: "rider-too-young", UNPROCESSABLE_ENTITY, "Riders must be 16 or older";
    LicenceNotFound: "licence-not-found", NOT_FOUND, "No verified licence";
    LicenceCheckUnavailable: "licence-check-unavailable", SERVICE_UNAVAILABLE, "Licence verification is unavailable right now; please try again a little later";
    TooManyAttempts: "too-many-attempts", TOO_MANY_REQUESTS, "Too many failed attempts; please try again later";
    MdsVersionNotAcceptable: "mds-version-not-acceptable", NOT_ACCEPTABLE, "Only MDS 2.0 is served: accept application/vnd.mds+json;version=2.0 (reports: text/vnd.mds+csv;version=2.0)";
    HourNotOver: "hour-not-over", NOT_FOUND, "The hour is not over yet";
    VehicleNotFound: "vehicle-not-found", NOT_FOUND, "No such vehicle";
    NoOperations: "no-operations", NOT_FOUND, "Nothing operated in this hour";
    HourNotReady: "hour-not-ready", ACCEPTED, "This hour's data is still arriving; please ask again shortly";
    MonthNotOver: "month-not-over", NOT_FOUND, "The month's report is made once the month is over";
    MdsDocumentPublished: "mds-document-published", CONFLICT, "A published MDS document never changes: publish a new one naming it in prev_policies or prev_geographies";
    Internal: "internal", INTERNAL_SERVER_ERROR, "Something went wrong on our side";
}

/// How long a client is asked to wait after a busy backend (`503 service-unavailable`).
pub const BUSY_RETRY_AFTER_SECS: u64 = 1;

/// The prefix of every problem `type` URI.
pub const PROBLEM_TYPE_PREFIX: &str = "urn:kickboard:problem:";

impl ProblemType {
    pub fn uri(self) -> String {
        format!("{PROBLEM_TYPE_PREFIX}{}", self.slug())
    }

    /// Whether its answer says when to try again (`Retry-After`).
    pub fn asks_to_retry(self) -> bool {
        matches!(
            self,
            Self::ServiceUnavailable
                | Self::RequestInProgress
                | Self::PaymentUnavailable
                | Self::VehicleNotResponding
                | Self::LicenceCheckUnavailable
                | Self::TooManyAttempts
                | Self::HourNotReady
        )
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

/// A problem as the client reads it (RFC 9457).
#[derive(Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "Problem")]
pub(crate) struct ProblemBody<'a> {
    /// `urn:kickboard:problem:<slug>`: the stable part to branch on.
    #[serde(rename = "type")]
    #[schemars(regex(pattern = r"^urn:kickboard:problem:[a-z-]+$"))]
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

    /// `Retry-After` for waiting until `until`: the whole seconds left, and one more.
    pub fn retry_after_until(self, until: chrono::DateTime<chrono::Utc>, now: chrono::DateTime<chrono::Utc>) -> Self {
        self.retry_after((until - now).num_seconds().max(0).unsigned_abs() + 1)
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
            V::CityDocumentPublished => ProblemType::MdsDocumentPublished,
            V::RideStartNotAllowed(refusal) => {
                let place = refusal.in_language(&language::current());
                return Problem::new(ProblemType::RideStartNotAllowed).with_detail(format!("the kickboard is {place}"));
            }
            V::RideEndNotAllowed(refusal) => {
                let place = refusal.in_language(&language::current());
                return Problem::new(ProblemType::RideEndNotAllowed).with_detail(format!("the ride would end {place}"));
            }
            V::KickboardIdTaken => ProblemType::KickboardIdTaken,
            V::RentalNotFound => ProblemType::RentalNotFound,
            V::RentalAlreadyReturned => ProblemType::RentalAlreadyReturned,
            V::DuplicateRequest => ProblemType::RequestInProgress,
            V::LicenceRequired | V::LicenceRecheckDue => {
                return Problem::new(ProblemType::LicenceRequired).with_detail(
                    "verify a driving licence first: PUT /me/licence with licenceNumber, name and birthDate",
                );
            }
            V::HoldReleased => {
                return Problem::new(ProblemType::ServiceUnavailable)
                    .with_detail("the rent waited so long that its kickboard was released; nothing was charged")
                    .retry_after(BUSY_RETRY_AFTER_SECS);
            }
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

#[cfg(test)]
mod tests {
    use super::ProblemType;

    #[test]
    fn every_problem_type_has_its_own_slug_and_an_error_status() {
        for (i, kind) in ProblemType::ALL.iter().enumerate() {
            // MDS answers `202` for an hour whose data is still arriving: the one problem
            // that is not an error says when to ask again.
            let not_yet = kind.status() == lambda_http::http::StatusCode::ACCEPTED && kind.asks_to_retry();
            assert!(kind.status().is_client_error() || kind.status().is_server_error() || not_yet, "{kind:?}");
            assert!(ProblemType::ALL[i + 1..].iter().all(|other| other.slug() != kind.slug()), "{kind:?}");
        }
    }
}
