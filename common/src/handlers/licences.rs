//! The rider's driving licence: verified through the provider behind its breaker, kept as a
//! keyed hash and its last four digits, required by every rent where the law asks for it.

use crate::domain::ids::CustomerId;
use crate::domain::licence::{
    CheckRefused, Licence, LicenceApplication, LicenceClass, LicenceForm, LicencePolicy, licence_verified,
};
use crate::http::contract::Contract;
use crate::http::endpoint::{Customer, Endpoint, Handle};
use crate::http::request::json_body;
use crate::http::response::{json, no_content};
use crate::http::{HandlerResult, Problem, ProblemType};
use crate::licences::CheckUnavailable;
use crate::metrics::{self, Metric};
use crate::ports::{CheckEnd, LicenceVerdict};
use crate::services::Services;
use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use lambda_http::Request;
use lambda_http::http::{Method, StatusCode};

/// Longer than a verification runs (its provider timeout, and the writes around it): a
/// verification still in progress this long after it began died with its function.
const CHECK_LEASE_SLACK: chrono::Duration = chrono::Duration::seconds(5);

/// A verified licence as the rider sees it: never the number.
#[derive(serde::Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "Licence", deny_unknown_fields)]
struct LicenceView<'a> {
    /// Always `VERIFIED`: a licence that is not is not kept.
    #[schemars(regex(pattern = "^VERIFIED$"))]
    status: &'static str,
    licence_class: LicenceClass,
    /// The last four digits of the number, to recognise it by.
    #[schemars(regex(pattern = "^[0-9]{4}$"))]
    last4: &'a str,
    verified_at: DateTime<Utc>,
    /// The next rent after this asks the provider again.
    recheck_after: DateTime<Utc>,
}

impl<'a> LicenceView<'a> {
    fn new(licence: &'a Licence, policy: &LicencePolicy) -> Self {
        Self {
            status: "VERIFIED",
            licence_class: licence.class,
            last4: &licence.last4,
            verified_at: licence.verified_at,
            recheck_after: licence.recheck_after(policy),
        }
    }
}

/// The day in Korea, where the age rule is counted.
fn korean_date(now: DateTime<Utc>) -> NaiveDate {
    now.with_timezone(&FixedOffset::east_opt(9 * 3600).expect("UTC+9 is a valid offset")).date_naive()
}

fn unavailable(CheckUnavailable { retry_after_secs }: CheckUnavailable) -> Problem {
    Problem::new(ProblemType::LicenceCheckUnavailable)
        .with_detail("the licence provider cannot be reached; nothing was stored, please try again a little later")
        .retry_after(retry_after_secs)
}

/// `PUT /me/licence`: verifies the caller's driving licence with the provider (one call at a
/// time per customer, at most five failures a day) and keeps it, without its number.
pub struct PutLicence;

impl Endpoint for PutLicence {
    const METHOD: Method = Method::PUT;
    const PATH: &'static str = "/me/licence";
    const FUNCTION: &'static str = "put-licence";
    fn contract() -> Contract {
        Contract::new("Verify the caller's driving licence")
            .body::<LicenceForm>()
            .answers::<LicenceView>(StatusCode::OK, "The verified licence")
            .refuses(&[
                ProblemType::LicenceInvalid,
                ProblemType::RiderTooYoung,
                ProblemType::LicenceCheckUnavailable,
                ProblemType::TooManyAttempts,
                ProblemType::RequestInProgress,
            ])
    }
    type Caller = Customer;
}

impl<S: Services> Handle<S> for PutLicence {
    async fn handle(app: &S, Customer(customer): Customer, request: Request) -> HandlerResult {
        let now = app.clock().now();
        let today = korean_date(now);
        let form: LicenceForm = json_body(&request)?;
        let application = LicenceApplication::check(form, today)
            .map_err(|error| Problem::invalid_field(error.field(), error.to_string()))?;
        if !application.old_enough_on(today) {
            metrics::record_by(Metric::LicenceChecks, "too-young", 1.0);
            return Err(Problem::new(ProblemType::RiderTooYoung)
                .with_detail("riding a kickboard needs a 원동기장치자전거 licence or higher, which starts at 16"));
        }
        let checks = app.licence_checks()?;
        let until =
            now + chrono::Duration::from_std(app.settings().licence.timeout).unwrap_or_default() + CHECK_LEASE_SLACK;
        match app.licences().begin_check(&customer, now, until).await? {
            Ok(()) => {}
            Err(CheckRefused::InProgress(until)) => {
                return Err(Problem::new(ProblemType::RequestInProgress)
                    .with_detail("another verification of your licence is in progress")
                    .retry_after_until(until, now));
            }
            Err(CheckRefused::TooManyAttempts(until)) => {
                metrics::record_by(Metric::LicenceChecks, "too-many-attempts", 1.0);
                return Err(Problem::new(ProblemType::TooManyAttempts)
                    .with_detail("five verifications failed within a day")
                    .retry_after_until(until, now));
            }
        }
        let verdict = checks.verify(&application).await;
        let (end, answer) = match verdict {
            Err(error) => (CheckEnd::Unanswered, Err(error.into())),
            Ok(Err(down)) => {
                metrics::record_by(Metric::LicenceChecks, "unavailable", 1.0);
                (CheckEnd::Unanswered, Err(unavailable(down)))
            }
            // The provider's reason is not logged: it may repeat what it was sent.
            Ok(Ok(LicenceVerdict::Invalid { .. })) => {
                tracing::info!(%customer, "licence refused by the provider");
                metrics::record_by(Metric::LicenceChecks, "invalid", 1.0);
                let problem = Problem::new(ProblemType::LicenceInvalid)
                    .with_detail("the provider could not verify this licence with this name and birth date");
                (CheckEnd::Rejected(now), Err(problem))
            }
            Ok(Ok(LicenceVerdict::Valid { class, reference })) => {
                metrics::record_by(Metric::LicenceChecks, "verified", 1.0);
                let licence = Licence {
                    class,
                    last4: application.number.last4(),
                    number_hash: checks.key().hash(&application.number),
                    birth_year: chrono::Datelike::year(&application.birth_date),
                    verified_at: now,
                    reference,
                };
                let event = licence_verified(&customer, &licence);
                let view = json(StatusCode::OK, &LicenceView::new(&licence, &app.settings().licence.policy));
                (CheckEnd::Verified(Box::new((licence, event))), Ok(view))
            }
        };
        app.licences().end_check(&customer, end).await?;
        answer
    }
}

/// `GET /me/licence`
pub struct GetLicence;

impl Endpoint for GetLicence {
    const METHOD: Method = Method::GET;
    const PATH: &'static str = "/me/licence";
    const FUNCTION: &'static str = "get-licence";
    fn contract() -> Contract {
        Contract::new("The caller's verified licence, without its number")
            .answers::<LicenceView>(StatusCode::OK, "The verified licence")
            .refuses(&[ProblemType::LicenceNotFound])
    }
    type Caller = Customer;
}

impl<S: Services> Handle<S> for GetLicence {
    async fn handle(app: &S, Customer(customer): Customer, _: Request) -> HandlerResult {
        let licence =
            app.licences().find_licence(&customer).await?.ok_or(Problem::new(ProblemType::LicenceNotFound))?;
        Ok(json(StatusCode::OK, &LicenceView::new(&licence, &app.settings().licence.policy)))
    }
}

/// `DELETE /me/licence`: forgets the caller's licence; riding needs a new verification.
pub struct DeleteLicence;

impl Endpoint for DeleteLicence {
    const METHOD: Method = Method::DELETE;
    const PATH: &'static str = "/me/licence";
    const FUNCTION: &'static str = "delete-licence";
    fn contract() -> Contract {
        Contract::new("Forget the caller's licence")
            .answers_nothing(StatusCode::NO_CONTENT, "Forgotten (or never kept)")
    }
    type Caller = Customer;
}

impl<S: Services> Handle<S> for DeleteLicence {
    async fn handle(app: &S, Customer(customer): Customer, _: Request) -> HandlerResult {
        app.licences().forget_licence(&customer).await?;
        Ok(no_content())
    }
}

/// What a rent that found the rider's verification due for its re-check may accept now: the
/// oldest verification it may ride on.
pub(crate) async fn recheck_licence(
    app: &impl Services,
    customer: &CustomerId,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, Problem> {
    let policy = app.settings().licence.policy;
    let fresh = policy.fresh_since(now).unwrap_or(now);
    let Some(licence) = app.licences().find_licence(customer).await? else {
        return Err(crate::domain::error::RuleViolation::LicenceRequired.into());
    };
    if licence.verified_since(fresh) {
        // Re-checked meanwhile by another rent.
        return Ok(fresh);
    }
    let verdict = match app.licence_checks() {
        Ok(checks) => checks.recheck(&licence.reference).await?,
        Err(_) => Err(CheckUnavailable { retry_after_secs: 60 }),
    };
    match verdict {
        Ok(LicenceVerdict::Valid { class, reference }) => {
            metrics::record_by(Metric::LicenceChecks, "rechecked", 1.0);
            let renewed = Licence { class, reference, verified_at: now, ..licence };
            app.licences().renew_licence(customer, &renewed).await?;
            Ok(fresh)
        }
        Ok(LicenceVerdict::Invalid { .. }) => {
            tracing::info!(%customer, "licence no longer valid at its re-check");
            metrics::record_by(Metric::LicenceChecks, "invalid", 1.0);
            app.licences().forget_licence(customer).await?;
            Err(Problem::new(ProblemType::LicenceInvalid)
                .with_detail("the licence is no longer valid; verify a licence again with PUT /me/licence"))
        }
        Err(_) if licence.verified_since(policy.grace_since(now)) => {
            tracing::warn!(%customer, verified_at = %licence.verified_at, "licence re-check unavailable; riding on the grace period");
            metrics::record(Metric::LicenceGraceRides, 1.0);
            Ok(policy.grace_since(now))
        }
        Err(down) => {
            metrics::record_by(Metric::LicenceChecks, "unavailable", 1.0);
            Err(unavailable(down))
        }
    }
}
