//! A route declared with its handler. Each endpoint is a type: its method, path and function
//! name, the caller it admits (a type, so a handler cannot forget the check), and a handler
//! that returns a `Result`, turned into a response once, here. The local server, every Lambda
//! function and the bench dispatch through [`call`].

use super::contract::Contract;
use super::language;
use super::request::identity;
use super::routes::{Access, Route};
use super::{HandlerResult, Problem, ProblemType};
use crate::domain::ids::CustomerId;
use lambda_http::http::Method;
use lambda_http::{Body, Request, Response};
use std::future::Future;
use std::pin::Pin;

/// Who may call an endpoint, as the handler receives it.
pub trait Caller: Sized + Send {
    const ACCESS: Access;
    /// The caller, from the authorizer's verified claims; a problem when they do not admit it.
    fn admit(request: &Request) -> Result<Self, Problem>;
}

/// Anyone, signed in or not.
pub struct Anyone;

impl Caller for Anyone {
    const ACCESS: Access = Access::Anyone;
    fn admit(_: &Request) -> Result<Self, Problem> {
        Ok(Anyone)
    }
}

/// Any signed-in caller; owner-only data is checked against this id.
pub struct Customer(pub CustomerId);

impl Caller for Customer {
    const ACCESS: Access = Access::Customer;
    fn admit(request: &Request) -> Result<Self, Problem> {
        Ok(Customer(identity(request)?.customer_id))
    }
}

/// A member of the admin group.
pub struct Admin(pub CustomerId);

impl Caller for Admin {
    const ACCESS: Access = Access::Admin;
    fn admit(request: &Request) -> Result<Self, Problem> {
        let caller = identity(request)?;
        if !caller.is_admin() {
            return Err(Problem::new(ProblemType::Forbidden).with_detail("fleet management needs the admin group"));
        }
        Ok(Admin(caller.customer_id))
    }
}

/// A vehicle with its own credentials (its `sub` is its board id), or an admin standing in.
pub enum Vehicle {
    Board(CustomerId),
    Admin,
}

impl Caller for Vehicle {
    const ACCESS: Access = Access::Vehicle;
    fn admit(request: &Request) -> Result<Self, Problem> {
        let caller = identity(request)?;
        if caller.is_admin() {
            Ok(Vehicle::Admin)
        } else if caller.is_vehicle() {
            Ok(Vehicle::Board(caller.customer_id))
        } else {
            Err(Problem::new(ProblemType::Forbidden).with_detail("reports come from the vehicle group"))
        }
    }
}

/// A city agency auditing the fleet (group `agency`), or an admin. Anyone else learns
/// nothing about the fleet from the refusal.
pub struct Agency;

impl Caller for Agency {
    const ACCESS: Access = Access::Agency;
    fn admit(request: &Request) -> Result<Self, Problem> {
        let caller = identity(request)?;
        if !(caller.is_agency() || caller.is_admin()) {
            return Err(Problem::new(ProblemType::Forbidden).with_detail("the MDS API is for the agency group"));
        }
        Ok(Agency)
    }
}

/// A route and who may call it.
pub trait Endpoint: 'static {
    const METHOD: Method;
    /// Path template; `{name}` segments become path parameters.
    const PATH: &'static str;
    /// The Lambda function (binary under `functions/`, resource in template.yaml) serving it.
    const FUNCTION: &'static str;
    type Caller: Caller;
    /// What it takes and answers, for the OpenAPI document.
    fn contract() -> Contract;
    const ROUTE: Route = Route {
        method: Self::METHOD,
        path: Self::PATH,
        access: <Self::Caller as Caller>::ACCESS,
        function: Self::FUNCTION,
    };
}

/// The handler of an endpoint, with the services `S` it runs on.
pub trait Handle<S>: Endpoint {
    fn handle(services: &S, caller: Self::Caller, request: Request) -> impl Future<Output = HandlerResult> + Send;
}

/// Admits the caller, runs the handler and turns a problem into its response.
pub async fn call<S, E: Handle<S>>(services: &S, request: Request) -> Response<Body> {
    let language = language::of(&request);
    let result = match E::Caller::admit(&request) {
        Ok(caller) => language::answering_in(language, E::handle(services, caller, request)).await,
        Err(problem) => Err(problem),
    };
    result.unwrap_or_else(Problem::into_response)
}

/// An endpoint's [`call`], as a table of routes holds it.
pub type Dispatch<S> = for<'a> fn(&'a S, Request) -> Pin<Box<dyn Future<Output = Response<Body>> + Send + 'a>>;

/// A route of the table and how to call it.
pub struct Routed<S> {
    pub route: Route,
    pub dispatch: Dispatch<S>,
}

/// The table entry of endpoint `E`.
pub fn routed<S: Sync, E: Handle<S>>() -> Routed<S> {
    Routed { route: E::ROUTE, dispatch: |services, request| Box::pin(call::<S, E>(services, request)) }
}
