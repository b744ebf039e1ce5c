//! Rental routes: rent, return, read.

use super::fleet::invalid_position;
use super::geofencing::Geofence;
use super::views::RentalView;
use crate::domain::error::RuleViolation;
use crate::domain::geo::Coordinates;
use crate::domain::ids::{KickboardId, PassId, RentalId};
use crate::domain::rental::{Rental, RentalState, ReturnReport};
use crate::domain::vehicle::{BatteryPct, BatteryRules};
use crate::http::idempotency::{REPLAYED, guarded};
use crate::http::request::{identity, json_body, optional_json_body, path_id};
use crate::http::response::json;
use crate::http::{Problem, respond};
use crate::metrics::{self, Metric};
use crate::ports::{Clock, IdempotencyStore, RentRequest, RentalStore, ReturnRequest};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RentBody {
    pass_id: PassId,
    kickboard_id: KickboardId,
}

/// `POST /rentals`: one atomic write checks the pass and the board and starts the rental
/// (`Idempotency-Key` honoured).
pub async fn rent_kickboard(
    rentals: &dyn RentalStore,
    answers: &dyn IdempotencyStore,
    clock: &dyn Clock,
    rules: &BatteryRules,
    geofence: Geofence<'_>,
    request: Request,
) -> Response<Body> {
    let result = async {
        let request = &request;
        let customer = identity(request)?.customer_id;
        guarded(request, &customer.clone(), "rent-kickboard", answers, clock, |key| async move {
            let body: RentBody = json_body(request)?;
            let now = clock.now();
            let rental_id = RentalId::for_pass(&body.pass_id);
            // The rental the write will store, so its answer can be stored with it.
            let (expected, _) =
                Rental::open(rental_id.clone(), body.pass_id.clone(), body.kickboard_id.clone(), customer.clone(), now);
            let response = json(StatusCode::CREATED, &RentalView::new(&expected));
            let answer = key.map(|key| key.answer(&response, now));
            let rent = RentRequest {
                customer,
                rental_id,
                pass_id: body.pass_id,
                kickboard_id: body.kickboard_id,
                now,
                answer,
                rules: *rules,
                zones: geofence.map().await?,
            };
            let rental = rentals.start_rental(rent).await?;
            Ok(json(StatusCode::CREATED, &RentalView::new(&rental)))
        })
        .await
    }
    .await;
    match &result {
        Err(problem) => metrics::record_by(Metric::RentsRefused, problem.kind.slug(), 1.0),
        // A retry answered again started nothing new.
        Ok(answer) if !answer.headers().contains_key(REPLAYED) => metrics::record(Metric::RentalsStarted, 1.0),
        Ok(_) => {}
    }
    respond(result)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ReturnBody {
    lat: Option<f64>,
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
pub async fn return_kickboard(
    rentals: &dyn RentalStore,
    clock: &dyn Clock,
    rules: &BatteryRules,
    geofence: Geofence<'_>,
    request: Request,
) -> Response<Body> {
    respond(
        async {
            let customer = identity(&request)?.customer_id;
            let rental_id: RentalId = path_id(&request, "rentalId")?;
            let report = return_report(optional_json_body(&request)?)?;
            let zones = geofence.map().await?;
            let rental = rentals
                .finish_rental(ReturnRequest { customer, rental_id, report, rules: *rules, zones, now: clock.now() })
                .await?;
            if let RentalState::Closed(settlement) = &rental.state {
                metrics::record(Metric::Returns, 1.0);
                metrics::record(Metric::MinutesBilled, f64::from(settlement.minutes_billed));
            }
            Ok(json(StatusCode::OK, &RentalView::new(&rental)))
        }
        .await,
    )
}

/// `GET /rentals/{rentalId}`: only the renter sees it.
pub async fn get_rental(rentals: &dyn RentalStore, request: Request) -> Response<Body> {
    respond(
        async {
            let customer = identity(&request)?.customer_id;
            let rental_id: RentalId = path_id(&request, "rentalId")?;
            let rental = rentals
                .find_rental(&rental_id)
                .await?
                .filter(|rental| rental.customer_id == customer)
                .ok_or(RuleViolation::RentalNotFound)?;
            Ok(json(StatusCode::OK, &RentalView::new(&rental)))
        }
        .await,
    )
}
