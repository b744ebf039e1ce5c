//! Pass routes: the plan catalogue, buying, paying, reading a pass.

use super::views::PassView;
use crate::domain::error::RuleViolation;
use crate::domain::ids::{CustomerId, PassId, PlanId};
use crate::domain::pass::Pass;
use crate::domain::plan::{Plan, catalogue, find_plan};
use crate::http::contract::Contract;
use crate::http::endpoint::{Anyone, Customer, Endpoint, Handle};
use crate::http::idempotency::{HeldKey, guarded};
use crate::http::request::{json_body, path_id};
use crate::http::response::json;
use crate::http::{HandlerResult, Problem, ProblemType};
use crate::metrics::{self, Metric};
use crate::payments::{GuardedPayments, PaymentRefused};
use crate::ports::{Answering, ChargeOutcome, ChargeRequest, Clock, PassStore};
use crate::services::Services;
use chrono::{DateTime, Utc};
use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Request, Response};
use schemars::JsonSchema;
use serde::Deserialize;

/// `GET /plans`
pub struct ListPlans;

impl Endpoint for ListPlans {
    const METHOD: Method = Method::GET;
    const PATH: &'static str = "/plans";
    const FUNCTION: &'static str = "list-plans";
    fn contract() -> Contract {
        Contract::new("The pass catalogue").stateless().answers::<Vec<Plan>>(StatusCode::OK, "Plans on sale")
    }
    type Caller = Anyone;
}

impl<S: Sync> Handle<S> for ListPlans {
    async fn handle(_: &S, _: Anyone, _: Request) -> HandlerResult {
        Ok(json(StatusCode::OK, &catalogue()))
    }
}

#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PurchaseBody {
    plan_id: PlanId,
}

/// `POST /passes` (`Idempotency-Key` honoured)
pub struct PurchasePass;

impl Endpoint for PurchasePass {
    const METHOD: Method = Method::POST;
    const PATH: &'static str = "/passes";
    const FUNCTION: &'static str = "purchase-pass";
    fn contract() -> Contract {
        Contract::new("Buy a pass")
            .body::<PurchaseBody>()
            .idempotent()
            .answers::<PassView>(StatusCode::CREATED, "The pass, awaiting payment")
            .refuses(&[ProblemType::UnknownPlan])
    }
    type Caller = Customer;
}

impl<S: Services> Handle<S> for PurchasePass {
    async fn handle(app: &S, Customer(customer): Customer, request: Request) -> HandlerResult {
        let (request, clock) = (&request, app.clock());
        guarded(request, &customer.clone(), Self::FUNCTION, app.answers(), clock, |key| async move {
            let body: PurchaseBody = json_body(request)?;
            let plan = find_plan(&body.plan_id).ok_or(RuleViolation::UnknownPlan)?;
            let now = clock.now();
            let (pass, event) = Pass::purchase(PassId::random(), customer, &plan, now);
            let response = json(StatusCode::CREATED, &PassView::new(&pass, now));
            let answer = key.map(|key| key.answer(&response, now));
            app.passes().record_purchase(&pass, &event, answer.as_ref()).await?;
            Ok(response)
        })
        .await
    }
}

/// `GET /passes/{passId}`: the write side's record; another customer's pass is 404.
pub struct GetPass;

impl Endpoint for GetPass {
    const METHOD: Method = Method::GET;
    const PATH: &'static str = "/passes/{passId}";
    const FUNCTION: &'static str = "get-pass";
    fn contract() -> Contract {
        Contract::new("A pass (write side)")
            .path::<PassId>()
            .answers::<PassView>(StatusCode::OK, "The pass")
            .refuses(&[ProblemType::PassNotFound])
    }
    type Caller = Customer;
}

impl<S: Services> Handle<S> for GetPass {
    async fn handle(app: &S, Customer(customer): Customer, request: Request) -> HandlerResult {
        let pass_id: PassId = path_id(&request, "passId")?;
        let pass = app
            .passes()
            .find_pass(&pass_id)
            .await?
            .filter(|pass| pass.customer_id == customer)
            .ok_or(RuleViolation::PassNotFound)?;
        Ok(json(StatusCode::OK, &PassView::new(&pass, app.clock().now())))
    }
}

/// `POST /passes/{passId}/payment`: charges the provider once per pass, then activates it.
/// While the payment breaker is open the provider is not called: 503, pay later. With no
/// payment provider configured every payment is refused, never approved for free.
pub struct PayPass;

impl Endpoint for PayPass {
    const METHOD: Method = Method::POST;
    const PATH: &'static str = "/passes/{passId}/payment";
    const FUNCTION: &'static str = "pay-pass";
    fn contract() -> Contract {
        Contract::new("Pay a pass")
            .path::<PassId>()
            .idempotent()
            .answers::<PassView>(StatusCode::OK, "The pass, paid and active")
            .refuses(&[
                ProblemType::PassNotFound,
                ProblemType::PassAlreadyPaid,
                ProblemType::PaymentDeclined,
                ProblemType::PaymentUnavailable,
                ProblemType::PaymentNotConfigured,
            ])
    }
    type Caller = Customer;
}

impl<S: Services> Handle<S> for PayPass {
    async fn handle(app: &S, Customer(customer): Customer, request: Request) -> HandlerResult {
        let payments = app.payments()?;
        let pass_id: PassId = path_id(&request, "passId")?;
        // The key is claimed before the provider is called: a retry is answered, or told to
        // wait while the first is still paying; it is never charged twice.
        guarded(&request, &customer.clone(), Self::FUNCTION, app.answers(), app.clock(), |key| {
            charge_and_activate(app.passes(), payments, app.clock(), customer, pass_id, key)
        })
        .await
    }
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
    let answer = key.map(|key| Answering::new(move |paid: &Pass| key.answer(&paid_answer(paid, now), now)));
    // The store applies the payment to the record it holds, which may be fresher than the
    // one read above: the answer is made from what it stored.
    let paid = passes.activate_pass(&pass, payment_id, now, answer.as_ref()).await?;
    Ok(paid_answer(&paid, now))
}

/// The answer to a payment that left `pass` paid.
fn paid_answer(pass: &Pass, now: DateTime<Utc>) -> Response<Body> {
    json(StatusCode::OK, &PassView::new(pass, now))
}
