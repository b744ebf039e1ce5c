//! The customer's own data: contact details and pass balances (read from the balance view).

use super::views::BalanceView as BalanceJson;
use crate::domain::contact::{Channel, CheckedContact, Contact, ContactForm, Locale, PhoneNumber, PushPlatform};
use crate::domain::ids::PassId;
use crate::http::contract::Contract;
use crate::http::endpoint::{Customer, Endpoint, Handle};
use crate::http::request::{json_body, path_id};
use crate::http::response::json;
use crate::http::{HandlerResult, Problem, ProblemType};
use crate::services::Services;
use lambda_http::Request;
use lambda_http::http::{Method, StatusCode};

/// A contact as the API shows it: the channels alerts actually go to, and the push device's
/// platform and whether it still takes alerts. The endpoint itself is the service's business.
#[derive(serde::Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "Contact", deny_unknown_fields)]
struct ContactView<'a> {
    phone: &'a PhoneNumber,
    /// The platform of the registered device, if any.
    push_platform: Option<PushPlatform>,
    /// Whether pushes reach the device; false once the push service reported its endpoint
    /// disabled or gone, until the app registers again (alerts then go by SMS).
    push_active: bool,
    /// The language of alerts.
    locale: Locale,
    /// The channels alerts go to now.
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
pub struct PutContact;

impl Endpoint for PutContact {
    const METHOD: Method = Method::PUT;
    const PATH: &'static str = "/me/contact";
    const FUNCTION: &'static str = "put-contact";
    fn contract() -> Contract {
        Contract::new("Where alerts go: the phone, and the app's device token for push")
            .body::<ContactForm>()
            .answers::<ContactView>(StatusCode::OK, "The contact")
            .refuses(&[ProblemType::PushPlatformNotOffered])
    }
    type Caller = Customer;
}

impl<S: Services> Handle<S> for PutContact {
    async fn handle(app: &S, Customer(customer): Customer, request: Request) -> HandlerResult {
        let (contacts, push) = (app.contacts(), app.push());
        let form: ContactForm = json_body(&request)?;
        let checked =
            CheckedContact::try_from(form).map_err(|error| Problem::invalid_field(error.field(), error.to_string()))?;
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
}

/// `GET /me/contact`
pub struct GetContact;

impl Endpoint for GetContact {
    const METHOD: Method = Method::GET;
    const PATH: &'static str = "/me/contact";
    const FUNCTION: &'static str = "get-contact";
    fn contract() -> Contract {
        Contract::new("The caller's contact")
            .answers::<ContactView>(StatusCode::OK, "The contact")
            .refuses(&[ProblemType::ContactNotFound])
    }
    type Caller = Customer;
}

impl<S: Services> Handle<S> for GetContact {
    async fn handle(app: &S, Customer(customer): Customer, _: Request) -> HandlerResult {
        let contact =
            app.contacts().find_contact(&customer).await?.ok_or(Problem::new(ProblemType::ContactNotFound))?;
        Ok(json(StatusCode::OK, &ContactView::from(&contact)))
    }
}

/// `GET /passes/{passId}/balance`: from the read model, so 404 until the view has the pass.
pub struct GetBalance;

impl Endpoint for GetBalance {
    const METHOD: Method = Method::GET;
    const PATH: &'static str = "/passes/{passId}/balance";
    const FUNCTION: &'static str = "get-balance";
    fn contract() -> Contract {
        Contract::new("A pass balance (read model)")
            .path::<PassId>()
            .answers::<BalanceJson>(StatusCode::OK, "The balance")
            .refuses(&[ProblemType::BalanceNotFound])
    }
    type Caller = Customer;
}

impl<S: Services> Handle<S> for GetBalance {
    async fn handle(app: &S, Customer(customer): Customer, request: Request) -> HandlerResult {
        let pass_id: PassId = path_id(&request, "passId")?;
        let record = app
            .balances()
            .find_balance(&pass_id)
            .await?
            .filter(|record| record.customer_id == customer)
            .ok_or(Problem::new(ProblemType::BalanceNotFound))?;
        Ok(json(StatusCode::OK, &BalanceJson::new(&record, app.clock().now())))
    }
}

/// `GET /me/passes`: every balance of the caller, from the read model.
pub struct ListBalances;

impl Endpoint for ListBalances {
    const METHOD: Method = Method::GET;
    const PATH: &'static str = "/me/passes";
    const FUNCTION: &'static str = "list-balances";
    fn contract() -> Contract {
        Contract::new("The caller's balances (read model)")
            .answers::<Vec<BalanceJson>>(StatusCode::OK, "Every balance of the caller")
    }
    type Caller = Customer;
}

impl<S: Services> Handle<S> for ListBalances {
    async fn handle(app: &S, Customer(customer): Customer, _: Request) -> HandlerResult {
        let now = app.clock().now();
        let records = app.balances().balances_of(&customer).await?;
        let views: Vec<_> = records.iter().map(|record| BalanceJson::new(record, now)).collect();
        Ok(json(StatusCode::OK, &views))
    }
}
