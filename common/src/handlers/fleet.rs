//! Fleet routes: admins register and retire boards; customers find available ones.

use super::views::KickboardView;
use crate::domain::geo::{Area, Coordinates};
use crate::domain::ids::KickboardId;
use crate::domain::kickboard::{Kickboard, Model};
use crate::http::request::{admin, identity, json_body, path_id, query_param};
use crate::http::response::{json, no_content};
use crate::http::{Problem, respond};
use crate::ports::{Clock, FleetStore};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde::Deserialize;

/// The search radius when `near` is given without `radiusM`.
const DEFAULT_RADIUS_M: u32 = 500;
/// The most boards one listing returns.
const MAX_LISTED: usize = 200;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RegisterBody {
    kickboard_id: Option<KickboardId>,
    model: Model,
    lat: f64,
    lon: f64,
}

/// `POST /kickboards` (admin)
pub async fn register_kickboard(fleet: &dyn FleetStore, clock: &dyn Clock, request: Request) -> Response<Body> {
    respond(
        async {
            admin(&request)?;
            let body: RegisterBody = json_body(&request)?;
            let location = Coordinates::new(body.lat, body.lon)
                .map_err(|error| Problem::invalid_field("lat", error.to_string()))?;
            let kickboard_id = body.kickboard_id.unwrap_or_else(KickboardId::random);
            let (board, event) = Kickboard::register(kickboard_id, body.model, location, clock.now());
            fleet.register_kickboard(&board, &event).await?;
            Ok(json(StatusCode::CREATED, &KickboardView::new(&board)))
        }
        .await,
    )
}

/// `DELETE /kickboards/{kickboardId}` (admin): retires the board, keeping its history.
pub async fn delete_kickboard(fleet: &dyn FleetStore, clock: &dyn Clock, request: Request) -> Response<Body> {
    respond(
        async {
            admin(&request)?;
            let kickboard_id: KickboardId = path_id(&request, "kickboardId")?;
            fleet.retire_kickboard(&kickboard_id, clock.now()).await?;
            Ok(no_content())
        }
        .await,
    )
}

fn parse_area(near: Option<String>, radius: Option<String>) -> Result<Option<Area>, Problem> {
    let Some(near) = near else {
        return match radius {
            Some(_) => Err(Problem::invalid_field("radiusM", "needs near=lat,lon")),
            None => Ok(None),
        };
    };
    let bad_near = || Problem::invalid_field("near", "must be lat,lon");
    let (lat, lon) = near.split_once(',').ok_or_else(bad_near)?;
    let lat: f64 = lat.trim().parse().map_err(|_| bad_near())?;
    let lon: f64 = lon.trim().parse().map_err(|_| bad_near())?;
    let centre = Coordinates::new(lat, lon).map_err(|error| Problem::invalid_field("near", error.to_string()))?;
    let radius_m = match radius {
        None => DEFAULT_RADIUS_M,
        Some(radius) => {
            radius.parse().map_err(|_| Problem::invalid_field("radiusM", "must be a whole number of metres"))?
        }
    };
    Area::new(centre, radius_m).map(Some).map_err(|error| Problem::invalid_field("radiusM", error.to_string()))
}

/// `GET /kickboards[?near=lat,lon&radiusM=]`: available boards, nearest first when `near` is given.
pub async fn list_kickboards(fleet: &dyn FleetStore, request: Request) -> Response<Body> {
    respond(
        async {
            identity(&request)?;
            let area = parse_area(query_param(&request, "near"), query_param(&request, "radiusM"))?;
            let boards = fleet.available_kickboards(area, MAX_LISTED).await?;
            let views: Vec<_> = boards.iter().map(KickboardView::new).collect();
            Ok(json(StatusCode::OK, &views))
        }
        .await,
    )
}
