//! The customer's own data: contact details and pass balances (read from the balance view).

use super::views::BalanceView as BalanceJson;
use crate::domain::contact::{Channel, CheckedContact, Contact, ContactForm, Locale, PhoneNumber, PushPlatform};
use crate::domain::ids::PassId;
use crate::http::request::{identity, json_body, path_id};
use crate::http::response::json;
use crate::http::{Problem, ProblemType, respond};
use crate::ports::{BalanceView, Clock, ContactStore, PushRegistry};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};

/// A contact as the API shows it: the channels alerts actually go to, and the push device's
/// platform and whether it still takes alerts. The endpoint itself is the service's business.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct ContactView<'a> {
    phone: &'a PhoneNumber,
    push_platform: Option<PushPlatform>,
    push_active: bool,
    locale: Locale,
    channels: Vec<Channel>,
}

impl<'a> From<&'a Contact> for ContactView<'a> {
    fn from(contact: &'a Contact) -> Self {
        Self {
            phone: &contact.phone,
            push_platform: contact.push.as_ref().map(|push| push.platform),
            push_active: contact.live_push_endpoint().is_some(),
            locale: contact.locale,
            channels: contact.channels_now(),
        }
    }
}

/// `PUT /me/contact`: where alerts go, in which language, on which channels. The app gives
/// its device token; the service makes the push endpoint in its own platform application.
/// Every field is checked before anything is made or written.
pub async fn put_contact(contacts: &dyn ContactStore, push: &dyn PushRegistry, request: Request) -> Response<Body> {
    respond(
        async {
            let customer = identity(&request)?.customer_id;
            let form: ContactForm = json_body(&request)?;
            let checked = CheckedContact::try_from(form)
                .map_err(|error| Problem::invalid_field(error.field(), error.to_string()))?;
            if let Some(device) = checked.device.as_ref().filter(|device| !push.offers(device.platform)) {
                return Err(Problem::new(ProblemType::PushPlatformNotOffered)
                    .with_detail(format!("pushPlatform {} is not offered by this service", device.platform.name())));
            }
            let endpoint = match &checked.device {
                Some(device) => Some(push.register(&customer, device.platform, &device.token).await?),
                None => None,
            };
            let previous = contacts.find_contact(&customer).await?;
            let contact = checked.with_endpoint(endpoint);
            contacts.save_contact(&customer, &contact).await?;
            let replaced = previous.and_then(|previous| previous.push).map(|push| push.endpoint_arn);
            if let Some(replaced) = replaced.filter(|old| Some(old) != contact.push.as_ref().map(|p| &p.endpoint_arn)) {
                // The contact no longer names it; a failure leaves an endpoint nobody is sent to.
                if let Err(error) = push.remove(&replaced).await {
                    tracing::warn!(%error, "a replaced push endpoint was not deleted");
                }
            }
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
