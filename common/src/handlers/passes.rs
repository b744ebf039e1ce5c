//! Pass routes: the plan catalogue, buying, paying, reading a pass.

use super::views::PassView;
use crate::domain::error::RuleViolation;
use crate::domain::ids::{CustomerId, PassId, PlanId};
use crate::domain::pass::Pass;
use crate::domain::plan::{catalogue, find_plan};
use crate::http::idempotency::{HeldKey, guarded};
use crate::http::request::{identity, json_body, path_id};
use crate::http::response::json;
use crate::http::{HandlerResult, Problem, ProblemType, respond};
use crate::metrics::{self, Metric};
use crate::payments::{GuardedPayments, PaymentRefused};
use crate::ports::{ChargeOutcome, ChargeRequest, Clock, IdempotencyStore, PassStore};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde::Deserialize;

/// `GET /plans`
pub async fn list_plans(_request: Request) -> Response<Body> {
    json(StatusCode::OK, &catalogue())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PurchaseBody {
    plan_id: PlanId,
}

/// `POST /passes` (`Idempotency-Key` honoured)
pub async fn purchase_pass(
    passes: &dyn PassStore,
    answers: &dyn IdempotencyStore,
    clock: &dyn Clock,
    request: Request,
) -> Response<Body> {
    respond(
        async {
            let request = &request;
            let customer = identity(request)?.customer_id;
            guarded(request, &customer.clone(), "purchase-pass", answers, clock, |key| async move {
                let body: PurchaseBody = json_body(request)?;
                let plan = find_plan(&body.plan_id).ok_or(RuleViolation::UnknownPlan)?;
                let now = clock.now();
                let (pass, event) = Pass::purchase(PassId::random(), customer, &plan, now);
                let response = json(StatusCode::CREATED, &PassView::new(&pass, now));
                let answer = key.map(|key| key.answer(&response, now));
                passes.record_purchase(&pass, &event, answer.as_ref()).await?;
                Ok(response)
            })
            .await
        }
        .await,
    )
}

/// `GET /passes/{passId}`: the write side's record; another customer's pass is 404.
pub async fn get_pass(passes: &dyn PassStore, clock: &dyn Clock, request: Request) -> Response<Body> {
    respond(
        async {
            let customer = identity(&request)?.customer_id;
            let pass_id: PassId = path_id(&request, "passId")?;
            let pass = passes
                .find_pass(&pass_id)
                .await?
                .filter(|pass| pass.customer_id == customer)
                .ok_or(RuleViolation::PassNotFound)?;
            Ok(json(StatusCode::OK, &PassView::new(&pass, clock.now())))
        }
        .await,
    )
}

/// `POST /passes/{passId}/payment` on a deployment with no payment provider and no explicit
/// choice of the simulator: every payment is refused, never approved for free.
pub async fn payment_not_configured(_request: Request) -> Response<Body> {
    tracing::error!("payment refused: no PAYMENT_PROVIDER_URL, and PAYMENT_MODE is not simulator");
    Problem::new(ProblemType::PaymentNotConfigured)
        .with_detail("the operator has not configured a payment provider")
        .into_response()
}

/// `POST /passes/{passId}/payment`: charges the provider once per pass, then activates it.
/// While the payment breaker is open the provider is not called: 503, pay later.
pub async fn pay_pass(
    passes: &dyn PassStore,
    answers: &dyn IdempotencyStore,
    payments: &GuardedPayments,
    clock: &dyn Clock,
    request: Request,
) -> Response<Body> {
    respond(pay(passes, answers, payments, clock, &request).await)
}

async fn pay(
    passes: &dyn PassStore,
    answers: &dyn IdempotencyStore,
    payments: &GuardedPayments,
    clock: &dyn Clock,
    request: &Request,
) -> HandlerResult {
    let customer = identity(request)?.customer_id;
    let pass_id: PassId = path_id(request, "passId")?;
    // The key is claimed before the provider is called: a retry is answered, or told to
    // wait while the first is still paying; it is never charged twice.
    guarded(request, &customer.clone(), "pay-pass", answers, clock, |key| {
        charge_and_activate(passes, payments, clock, customer, pass_id, key)
    })
    .await
}

async fn charge_and_activate(
    passes: &dyn PassStore,
    payments: &GuardedPayments,
    clock: &dyn Clock,
    customer: CustomerId,
    pass_id: PassId,
    key: Option<HeldKey>,
) -> HandlerResult {
    let pass = passes
        .find_pass(&pass_id)
        .await?
        .filter(|pass| pass.customer_id == customer)
        .ok_or(RuleViolation::PassNotFound)?;
    pass.ensure_payable()?;
    let charge = ChargeRequest {
        pass_id: pass_id.clone(),
        customer: customer.clone(),
        amount: pass.price_won,
        // One key per pass: however often payment is retried, the provider charges once.
        idempotency_key: format!("pass-{pass_id}"),
    };
    let outcome = payments.charge(&charge).await?;
    metrics::record(
        match &outcome {
            Ok(ChargeOutcome::Approved { .. }) => Metric::PaymentsApproved,
            Ok(ChargeOutcome::Declined { .. }) => Metric::PaymentsDeclined,
            Err(PaymentRefused::ProviderFailed { .. }) => Metric::PaymentsFailed,
            Err(PaymentRefused::BreakerOpen { .. }) => Metric::PaymentsFallback,
        },
        1.0,
    );
    let payment_id = match outcome {
        Ok(ChargeOutcome::Approved { payment_id }) => payment_id,
        Ok(ChargeOutcome::Declined { reason }) => {
            tracing::info!(%pass_id, %reason, "payment declined");
            return Err(Problem::new(ProblemType::PaymentDeclined));
        }
        Err(refused) => {
            let detail = match refused {
                PaymentRefused::BreakerOpen { .. } => {
                    "Payments are busy right now. Nothing was charged; please pay again a little later."
                }
                PaymentRefused::ProviderFailed { .. } => {
                    "The payment could not be confirmed. A retry never charges twice; please pay again a little later."
                }
            };
            return Err(Problem::new(ProblemType::PaymentUnavailable)
                .with_detail(detail)
                .retry_after(refused.retry_after_secs()));
        }
    };
    let now = clock.now();
    let (paid, _) = pass.activate(payment_id.clone(), now)?;
    let response = json(StatusCode::OK, &PassView::new(&paid, now));
    let answer = key.map(|key| key.answer(&response, now));
    match passes.activate_pass(&pass, payment_id, now, answer.as_ref()).await {
        Err(error) => Err(error.into()),
        // The store may have applied the payment to a fresher record: answer with what it stored.
        Ok(stored) if stored == paid => Ok(response),
        Ok(stored) => Ok(json(StatusCode::OK, &PassView::new(&stored, now))),
    }
}
