//! Rental routes: rent, return, read.

use super::fleet::invalid_position;
use super::licences::recheck_licence;
use super::views::RentalView;
use crate::domain::commands::{Command, CommandStatus};
use crate::domain::error::RuleViolation;
use crate::domain::geo::{Coordinates, MAX_LAT, MAX_LON};
use crate::domain::ids::{CustomerId, KickboardId, PassId, RentalId};
use crate::domain::rental::{Rental, RentalState, ReturnReport};
use crate::domain::vehicle::BatteryPct;
use crate::http::contract::Contract;
use crate::http::endpoint::{Customer, Endpoint, Handle};
use crate::http::idempotency::{REPLAYED, guarded};
use crate::http::request::{json_body, optional_json_body, path_id, query_param};
use crate::http::response::json;
use crate::http::{HandlerResult, Problem, ProblemType};
use crate::metrics::{self, Metric};
use crate::ports::{
    Answering, CommandedRides, PortError, PortResult, RentRequest, RentalPosition, RentalStore, ReturnRequest,
};
use crate::services::{Services, Vehicles};
use chrono::{DateTime, Utc};
use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Request, Response};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RentBody {
    pass_id: PassId,
    kickboard_id: KickboardId,
}

/// `POST /rentals`: one atomic write checks the pass and the board and starts the rental
/// (`Idempotency-Key` honoured).
pub struct RentKickboard;

impl Endpoint for RentKickboard {
    const METHOD: Method = Method::POST;
    const PATH: &'static str = "/rentals";
    const FUNCTION: &'static str = "rent-kickboard";
    fn contract() -> Contract {
        Contract::new("Rent a kickboard with a paid pass")
            .body::<RentBody>()
            .idempotent()
            .answers::<RentalView>(StatusCode::CREATED, "The rental")
            .refuses(&[
                ProblemType::PassNotFound,
                ProblemType::KickboardNotFound,
                ProblemType::KickboardUnavailable,
                ProblemType::PassHasOpenRental,
                ProblemType::PassNotActive,
                ProblemType::PassExhausted,
                ProblemType::PassExpired,
                ProblemType::BatteryTooLow,
                ProblemType::RideStartNotAllowed,
                ProblemType::VehicleNotResponding,
                ProblemType::LicenceRequired,
                ProblemType::LicenceInvalid,
                ProblemType::LicenceCheckUnavailable,
            ])
    }
    type Caller = Customer;
}

impl<S: Services> Handle<S> for RentKickboard {
    async fn handle(app: &S, Customer(customer): Customer, request: Request) -> HandlerResult {
        let result = rent(app, customer, &request).await;
        match &result {
            Err(problem) => metrics::record_by(Metric::RentsRefused, problem.kind.slug(), 1.0),
            // A retry answered again started nothing new.
            Ok(answer) if !answer.headers().contains_key(REPLAYED) => metrics::record(Metric::RentalsStarted, 1.0),
            Ok(_) => {}
        }
        result
    }
}

async fn rent(app: &impl Services, customer: CustomerId, request: &Request) -> HandlerResult {
    let clock = app.clock();
    guarded(request, &customer.clone(), RentKickboard::FUNCTION, app.answers(), clock, |key| async move {
        let body: RentBody = json_body(request)?;
        let now = clock.now();
        let rental_id = RentalId::for_pass(&body.pass_id);
        let answer = key.map(|key| Answering::new(move |rental: &Rental| key.answer(&rented(rental), now)));
        let rent = RentRequest {
            customer,
            rental_id,
            pass_id: body.pass_id,
            kickboard_id: body.kickboard_id,
            now,
            answer: None,
            rules: app.settings().battery,
            zones: app.geofence().map(now).await?,
            licence_since: app.settings().licence.policy.fresh_since(now),
        };
        match app.vehicles() {
            Some(vehicles) => rent_on_unlock(app, vehicles, rent, answer).await,
            None => {
                let mut rent = RentRequest { answer, ..rent };
                Ok(rented(&with_licence(app, &mut rent, |rent| app.rentals().start_rental(rent)).await??))
            }
        }
    })
    .await
}

/// A rent's first write; when it found the rider's verification due for its re-check, the
/// provider is asked (`Err` when that settles nothing but a refusal) and the write made again,
/// `rent` now accepting what the re-check decided.
async fn with_licence<T, Fut>(
    app: &impl Services,
    rent: &mut RentRequest,
    write: impl Fn(RentRequest) -> Fut,
) -> Result<PortResult<T>, Problem>
where
    Fut: Future<Output = PortResult<T>>,
{
    match write(rent.clone()).await {
        Err(PortError::Rule(RuleViolation::LicenceRecheckDue)) => {}
        written => return Ok(written),
    }
    rent.licence_since = Some(recheck_licence(app, &rent.customer, rent.now).await?);
    Ok(write(rent.clone()).await)
}

/// Takes the board, then unlocks it: the ride begins when the board acknowledges (`201`); a
/// board that does not by the deadline, or refuses, gets its rental undone in one write and
/// the rider `504 vehicle-not-responding`.
async fn rent_on_unlock(
    app: &impl Services,
    vehicles: Vehicles<'_>,
    rent: RentRequest,
    answer: Option<Answering<Rental>>,
) -> HandlerResult {
    let clock = app.clock();
    let timeout = chrono::Duration::from_std(app.settings().command_timeout).expect("settings keep it within a minute");
    let held_until = rent.now + timeout + HOLD_OUTLIVES_ITS_RENT;
    let mut rent = rent;
    let held = match with_licence(app, &mut rent, |rent| vehicles.rides.hold_rental(rent, held_until)).await? {
        Err(PortError::Rule(refused @ (RuleViolation::PassHasOpenRental | RuleViolation::KickboardUnavailable))) => {
            match release_dead_holds(app, vehicles, &rent, &refused).await? {
                Blocking::Released => vehicles.rides.hold_rental(rent, held_until).await?,
                // This pass's own rent (a retry's first try, whose undo failed) still waits:
                // the retry is asked to come back when that hold is over.
                Blocking::PassHeldUntil(until) => {
                    return Err(Problem::new(ProblemType::RequestInProgress)
                        .with_detail("a rent of this pass is still waiting for its kickboard to unlock")
                        .retry_after_until(until, clock.now()));
                }
                Blocking::Other => return Err(refused.into()),
            }
        }
        held => held?,
    };
    let unlock = vehicles.send_and_wait(app.settings(), clock, &held.kickboard_id, Command::Unlock).await;
    let refusal = match unlock {
        Ok(settled) if settled.status_at(clock.now()) == CommandStatus::Acked => {
            let at = settled.settled_at.unwrap_or_else(|| clock.now());
            // A hold released meanwhile answers 503: the board may be another rider's by now,
            // so it is not locked again (the watch over parked boards sees it if it moves).
            return Ok(rented(&vehicles.rides.confirm_unlock(&held.rental_id, at, answer).await?));
        }
        Ok(settled) => match settled.error {
            Some(error) => format!("the kickboard could not unlock ({error})"),
            None => "the kickboard did not answer in time".to_owned(),
        },
        // Our side failed (the store, the broker), not the board: undone, and the rider is
        // told to try again as after any store failure.
        Err(error) => {
            tracing::warn!(%error, "the unlock could not be sent");
            undo_held(vehicles.rides, &held.rental_id, clock.now()).await?;
            return Err(error.into());
        }
    };
    undo_held(vehicles.rides, &held.rental_id, clock.now()).await?;
    tracing::info!(rental = %held.rental_id, kickboard = %held.kickboard_id, %refusal, "rent undone");
    Err(Problem::new(ProblemType::VehicleNotResponding)
        .with_detail(format!("{refusal}; nothing was charged, and the pass is free to rent again"))
        .retry_after(UNLOCK_RETRY_AFTER_SECS))
}

/// Undoes a rent's own hold; one already undone by another request (that took it for dead) is
/// undone all the same.
async fn undo_held(rides: &dyn CommandedRides, rental_id: &RentalId, now: DateTime<Utc>) -> PortResult<()> {
    match rides.undo_rental(rental_id, now).await {
        Ok(()) | Err(PortError::Rule(RuleViolation::HoldReleased)) => Ok(()),
        Err(error) => Err(error),
    }
}

/// Longer than any rent runs (the functions' timeout is 10 s): a rental still held this long
/// after its unlock's deadline was left by a rent that died.
const HOLD_OUTLIVES_ITS_RENT: chrono::Duration = chrono::Duration::seconds(15);

/// What blocked a rent, once the dead holds in its way were undone.
enum Blocking {
    /// A dead hold was undone: the rent may try again.
    Released,
    /// The pass's own earlier rent still waits for its unlock, until then at the latest.
    PassHeldUntil(DateTime<Utc>),
    /// Anything else: a ride, another rider's rent in progress.
    Other,
}

/// Undoes the holds that block `rent` (on its pass, or on its board) and were left by rents
/// that died between taking the board and the unlock's answer, as an idempotency record whose
/// function timed out is taken over. A hold still within its time is a rent in progress, and
/// is left alone. The hold on the rent's own pass may be gone by the time it is read
/// (another rent undid it first, taking it for dead): the rent may try again then too, as a
/// refusal naming a rental the pass no longer has would be wrong. A board found free again
/// is not tried again: `kickboard-unavailable` was true when checked, and under contention
/// another rider likely has it by now.
async fn release_dead_holds(
    app: &impl Services,
    vehicles: Vehicles<'_>,
    rent: &RentRequest,
    refused: &RuleViolation,
) -> PortResult<Blocking> {
    let now = app.clock().now();
    let pass = app.passes().find_pass(&rent.pass_id).await?.filter(|pass| pass.customer_id == rent.customer);
    let board = app.fleet().find_kickboard(&rent.kickboard_id).await?;
    let mut blocking = Blocking::Other;
    match pass.as_ref().map(|pass| pass.open_rental_id()) {
        // Gone: another rent undid the hold between reading the pass and reading the hold.
        Some(Some(rental_id)) => match undo_dead_hold(app.rentals(), vehicles.rides, rental_id, now).await? {
            Hold::Undone | Hold::Gone => blocking = Blocking::Released,
            Hold::Waiting(until) => return Ok(Blocking::PassHeldUntil(until)),
            Hold::None => {}
        },
        Some(None) if *refused == RuleViolation::PassHasOpenRental => blocking = Blocking::Released,
        _ => {}
    }
    if let Some(rental_id) = board.as_ref().and_then(|board| board.rental_id())
        && undo_dead_hold(app.rentals(), vehicles.rides, rental_id, now).await? == Hold::Undone
    {
        blocking = Blocking::Released;
    }
    Ok(blocking)
}

/// What became of a rental met as a possible dead hold.
#[derive(Debug, PartialEq)]
pub(crate) enum Hold {
    /// It was one, and holds nothing now (whoever undid it).
    Undone,
    /// A hold still within its time: a rent in progress, until then at the latest.
    Waiting(DateTime<Utc>),
    /// Not a hold: a ride.
    None,
    /// No such rental any more: an undone hold leaves none.
    Gone,
}

/// Undoes `rental_id` if it is a hold left by a rent that died (held past its time).
pub(crate) async fn undo_dead_hold(
    rentals: &dyn RentalStore,
    rides: &dyn CommandedRides,
    rental_id: &RentalId,
    now: DateTime<Utc>,
) -> PortResult<Hold> {
    let Some(rental) = rentals.find_rental(rental_id).await? else { return Ok(Hold::Gone) };
    match rental.held_until {
        Some(until) if rental.is_held() && !rental.is_held_past(now) => return Ok(Hold::Waiting(until)),
        _ if !rental.is_held_past(now) => return Ok(Hold::None),
        _ => {}
    }
    // Undone meanwhile by another that met it too: released all the same.
    undo_held(rides, rental_id, now).await?;
    tracing::warn!(rental = %rental_id, kickboard = %rental.kickboard_id, "a hold left by a rent that died was undone");
    Ok(Hold::Undone)
}

/// How long a rider is asked to wait before trying a board that did not unlock again.
const UNLOCK_RETRY_AFTER_SECS: u64 = 5;

/// Locks a board its ride left: a board that does not acknowledge by the deadline goes out of
/// service (`lock-unconfirmed`) and the crew is told. The return stands either way: billing
/// stopped, and a rider is never held by a silent vehicle.
async fn lock_after(app: &impl Services, vehicles: Vehicles<'_>, rental: &Rental) {
    let clock = app.clock();
    let lock = vehicles.send_and_wait(app.settings(), clock, &rental.kickboard_id, Command::Lock).await;
    let locked = match lock {
        Ok(settled) => settled.status_at(clock.now()) == CommandStatus::Acked,
        Err(error) => {
            tracing::warn!(%error, "the lock could not be sent");
            false
        }
    };
    if locked {
        return;
    }
    tracing::warn!(kickboard = %rental.kickboard_id, rental = %rental.rental_id, "lock unconfirmed");
    if let Err(error) = vehicles.rides.lock_unconfirmed(&rental.kickboard_id, &rental.rental_id, clock.now()).await {
        tracing::error!(%error, kickboard = %rental.kickboard_id, "an unconfirmed lock was not recorded");
    }
}

/// The answer to a rent that started `rental`.
fn rented(rental: &Rental) -> Response<Body> {
    json(StatusCode::CREATED, &RentalView::new(rental))
}

/// Where the board was left (lat and lon together) and its battery; both optional.
#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ReturnBody {
    #[schemars(range(min = -MAX_LAT, max = MAX_LAT))]
    lat: Option<f64>,
    #[schemars(range(min = -MAX_LON, max = MAX_LON))]
    lon: Option<f64>,
    /// The battery the vehicle reports as it is returned.
    battery_pct: Option<BatteryPct>,
}

fn return_report(body: Option<ReturnBody>) -> Result<ReturnReport, Problem> {
    let Some(body) = body else { return Ok(ReturnReport::default()) };
    let location = match (body.lat, body.lon) {
        (None, None) => None,
        (Some(lat), Some(lon)) => Some(Coordinates::new(lat, lon).map_err(invalid_position)?),
        (None, _) => return Err(Problem::invalid_field("lat", "give lat and lon together")),
        (_, None) => return Err(Problem::invalid_field("lon", "give lat and lon together")),
    };
    Ok(ReturnReport { location, battery: body.battery_pct })
}

/// `POST /rentals/{rentalId}/return`: bills the ride and frees the board in one atomic write.
pub struct ReturnKickboard;

impl Endpoint for ReturnKickboard {
    const METHOD: Method = Method::POST;
    const PATH: &'static str = "/rentals/{rentalId}/return";
    const FUNCTION: &'static str = "return-kickboard";
    fn contract() -> Contract {
        Contract::new("Return a rented kickboard")
            .path::<RentalId>()
            .optional_body::<ReturnBody>()
            .answers::<RentalView>(StatusCode::OK, "The closed rental")
            .refuses(&[ProblemType::RentalNotFound, ProblemType::RentalAlreadyReturned, ProblemType::RideEndNotAllowed])
    }
    type Caller = Customer;
}

impl<S: Services> Handle<S> for ReturnKickboard {
    async fn handle(app: &S, Customer(customer): Customer, request: Request) -> HandlerResult {
        let rental_id: RentalId = path_id(&request, "rentalId")?;
        let report = return_report(optional_json_body(&request)?)?;
        let (rules, now) = (app.settings().battery, app.clock().now());
        let zones = app.geofence().map(now).await?;
        let rental =
            app.rentals().finish_rental(ReturnRequest { customer, rental_id, report, rules, zones, now }).await?;
        if let RentalState::Closed(settlement) = &rental.state {
            metrics::record(Metric::Returns, 1.0);
            metrics::record(Metric::MinutesBilled, f64::from(settlement.minutes_billed));
            if let Some(vehicles) = app.vehicles() {
                lock_after(app, vehicles, &rental).await;
            }
        }
        Ok(json(StatusCode::OK, &RentalView::new(&rental)))
    }
}

/// `GET /rentals/{rentalId}`: only the renter sees it.
pub struct GetRental;

impl Endpoint for GetRental {
    const METHOD: Method = Method::GET;
    const PATH: &'static str = "/rentals/{rentalId}";
    const FUNCTION: &'static str = "get-rental";
    fn contract() -> Contract {
        Contract::new("A rental")
            .path::<RentalId>()
            .answers::<RentalView>(StatusCode::OK, "The rental")
            .refuses(&[ProblemType::RentalNotFound])
    }
    type Caller = Customer;
}

impl<S: Services> Handle<S> for GetRental {
    async fn handle(app: &S, Customer(customer): Customer, request: Request) -> HandlerResult {
        let rental_id: RentalId = path_id(&request, "rentalId")?;
        let rental = app
            .rentals()
            .find_rental(&rental_id)
            .await?
            .filter(|rental| rental.customer_id == customer)
            .ok_or(RuleViolation::RentalNotFound)?;
        Ok(json(StatusCode::OK, &RentalView::new(&rental)))
    }
}

/// The most rides one page of `GET /me/rentals` holds, and how many when `limit` is not given.
const MAX_PAGE: usize = 100;
const DEFAULT_PAGE: usize = 20;

/// A page of the caller's rides, and the cursor of the next one.
#[derive(Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "RentalPage", deny_unknown_fields)]
struct RentalsPage {
    #[schemars(length(max = MAX_PAGE))]
    rentals: Vec<RentalView>,
    /// Give it back as `next` for the following page; absent on the last.
    #[serde(skip_serializing_if = "Option::is_none")]
    next: Option<String>,
}

/// The query of `GET /me/rentals`, as given; the handler checks it.
#[derive(JsonSchema)]
struct RentalsQuery {
    /// Rides per page.
    #[schemars(with = "Option<usize>", range(min = 1, max = MAX_PAGE), extend("default" = DEFAULT_PAGE))]
    limit: Option<String>,
    /// The cursor of the next page, as the previous page's `next` gave it; signed for the
    /// caller, so another customer's, an altered or a made-up one is a 400.
    #[schemars(length(min = 1))]
    next: Option<String>,
}

impl RentalsQuery {
    fn of(request: &Request) -> Self {
        Self { limit: query_param(request, "limit"), next: query_param(request, "next") }
    }
}

/// `GET /me/rentals[?limit=&next=]`: the caller's rides, newest first, a page at a time. The
/// cursor is signed for the caller: another customer's, an altered or a made-up one is a 400.
pub struct ListRentals;

impl Endpoint for ListRentals {
    const METHOD: Method = Method::GET;
    const PATH: &'static str = "/me/rentals";
    const FUNCTION: &'static str = "list-rentals";
    fn contract() -> Contract {
        Contract::new("The caller's rides, newest first, a page at a time")
            .query::<RentalsQuery>()
            .answers::<RentalsPage>(StatusCode::OK, "A page of rides")
    }
    type Caller = Customer;
}

impl<S: Services> Handle<S> for ListRentals {
    async fn handle(app: &S, Customer(customer): Customer, request: Request) -> HandlerResult {
        let query = RentalsQuery::of(&request);
        let limit = match query.limit {
            None => DEFAULT_PAGE,
            Some(limit) => limit.parse().ok().filter(|limit| (1..=MAX_PAGE).contains(limit)).ok_or_else(|| {
                Problem::invalid_field("limit", format!("must be a whole number from 1 to {MAX_PAGE}"))
            })?,
        };
        let key = app.cursor_key()?;
        let after = match query.next {
            None => None,
            Some(cursor) => Some(
                key.open(Self::FUNCTION, customer.as_str(), &cursor)
                    .and_then(|position| RentalPosition::parse(std::str::from_utf8(&position).ok()?))
                    .ok_or_else(|| Problem::invalid_field("next", "is not a cursor this listing gave you"))?,
            ),
        };
        let page = app.rentals().rentals_of(&customer, after.as_ref(), limit).await?;
        let next = page.next.map(|position| key.seal(Self::FUNCTION, customer.as_str(), position.as_str().as_bytes()));
        Ok(json(StatusCode::OK, &RentalsPage { rentals: page.rentals.iter().map(RentalView::new).collect(), next }))
    }
}
