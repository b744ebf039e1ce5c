//! The customer's own data: contact details and pass balances (read from the balance view).

use super::views::BalanceView as BalanceJson;
use crate::domain::contact::{Channel, Contact, ContactForm, Locale, PhoneNumber, PushEndpoint};
use crate::domain::ids::PassId;
use crate::http::request::{identity, json_body, path_id};
use crate::http::response::json;
use crate::http::{Problem, ProblemType, respond};
use crate::ports::{BalanceView, Clock, ContactStore};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};

/// A contact as the API shows it: with the channels alerts actually go to.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct ContactView<'a> {
    phone: &'a PhoneNumber,
    push_endpoint_arn: Option<&'a PushEndpoint>,
    locale: Locale,
    channels: Vec<Channel>,
}

impl<'a> From<&'a Contact> for ContactView<'a> {
    fn from(contact: &'a Contact) -> Self {
        Self {
            phone: &contact.phone,
            push_endpoint_arn: contact.push_endpoint_arn.as_ref(),
            locale: contact.locale,
            channels: contact.channels(),
        }
    }
}

/// `PUT /me/contact`: where alerts go, in which language, on which channels.
pub async fn put_contact(contacts: &dyn ContactStore, request: Request) -> Response<Body> {
    respond(
        async {
            let customer = identity(&request)?.customer_id;
            let form: ContactForm = json_body(&request)?;
            let contact =
                Contact::try_from(form).map_err(|error| Problem::invalid_field("channels", error.to_string()))?;
            contacts.save_contact(&customer, &contact).await?;
            Ok(json(StatusCode::OK, &ContactView::from(&contact)))
        }
        .await,
    )
}

/// `GET /me/contact`
pub async fn get_contact(contacts: &dyn ContactStore, request: Request) -> Response<Body> {
    respond(
        async {
            let customer = identity(&request)?.customer_id;
            let contact = contacts.find_contact(&customer).await?.ok_or(Problem::new(ProblemType::ContactNotFound))?;
            Ok(json(StatusCode::OK, &ContactView::from(&contact)))
        }
        .await,
    )
}

/// `GET /passes/{passId}/balance`: from the read model, so 404 until the view has the pass.
pub async fn get_balance(view: &dyn BalanceView, clock: &dyn Clock, request: Request) -> Response<Body> {
    respond(
        async {
            let customer = identity(&request)?.customer_id;
            let pass_id: PassId = path_id(&request, "passId")?;
            let record = view
                .find_balance(&pass_id)
                .await?
                .filter(|record| record.customer_id == customer)
                .ok_or(Problem::new(ProblemType::BalanceNotFound))?;
            Ok(json(StatusCode::OK, &BalanceJson::new(&record, clock.now())))
        }
        .await,
    )
}

/// `GET /me/passes`: every balance of the caller, from the read model.
pub async fn list_balances(view: &dyn BalanceView, clock: &dyn Clock, request: Request) -> Response<Body> {
    respond(
        async {
            let customer = identity(&request)?.customer_id;
            let now = clock.now();
            let records = view.balances_of(&customer).await?;
            let views: Vec<_> = records.iter().map(|record| BalanceJson::new(record, now)).collect();
            Ok(json(StatusCode::OK, &views))
        }
        .await,
    )
}
