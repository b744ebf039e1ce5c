//! Zones: admins define where rides may start and end; anyone reads them. Rents and returns
//! read them through a per-instance cache that follows the store's zones version
//! (`crate::zone_cache`).

use crate::domain::ids::ZoneId;
use crate::domain::zones::{
    GeometryError, GeometryForm, Zone, ZoneGeometry, ZoneMap, ZoneName, ZoneRules, global_rules_changed,
};
use crate::http::contract::Contract;
use crate::http::endpoint::{Admin, Anyone, Endpoint, Handle};
use crate::http::request::{json_body, path_id, zone_body};
use crate::http::response::{json, no_content};
use crate::http::{HandlerResult, Problem, ProblemType};
use crate::services::Services;
use lambda_http::Request;
use lambda_http::http::{Method, StatusCode};
use schemars::JsonSchema;
use serde::Deserialize;

#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ZoneBody {
    name: ZoneName,
    /// Where zones overlap, the lowest priority's rules apply.
    priority: i32,
    #[schemars(with = "ZoneGeometry")]
    geometry: GeometryForm,
    rules: ZoneRules,
}

/// `PUT /geofencing/zones/{zoneId}` (admin): creates or replaces the zone.
pub struct PutZone;

impl Endpoint for PutZone {
    const METHOD: Method = Method::PUT;
    const PATH: &'static str = "/geofencing/zones/{zoneId}";
    const FUNCTION: &'static str = "put-zone";
    fn contract() -> Contract {
        Contract::new("Create or replace a geofencing zone (admin)")
            .path::<ZoneId>()
            .body::<ZoneBody>()
            .answers::<Zone>(StatusCode::OK, "The zone, as stored")
    }
    type Caller = Admin;
}

impl<S: Services> Handle<S> for PutZone {
    async fn handle(app: &S, _: Admin, request: Request) -> HandlerResult {
        let zone_id: ZoneId = path_id(&request, "zoneId")?;
        let body: ZoneBody = zone_body(&request)?;
        let invalid = |error: GeometryError| Problem::invalid_field(format!("geometry.{}", error.field), error.reason);
        let geometry = body.geometry.parse().map_err(invalid)?;
        let (zone, event) = Zone::define(zone_id, body.name, body.priority, geometry, body.rules, app.clock().now())
            .map_err(invalid)?;
        app.zones().save_zone(&zone, &event).await?;
        Ok(json(StatusCode::OK, &zone))
    }
}

/// `GET /geofencing/zones` (anyone): every zone, in priority order.
pub struct ListZones;

impl Endpoint for ListZones {
    const METHOD: Method = Method::GET;
    const PATH: &'static str = "/geofencing/zones";
    const FUNCTION: &'static str = "list-zones";
    fn contract() -> Contract {
        Contract::new("Every geofencing zone, lowest priority first").answers::<Vec<Zone>>(StatusCode::OK, "The zones")
    }
    type Caller = Anyone;
}

impl<S: Services> Handle<S> for ListZones {
    async fn handle(app: &S, _: Anyone, _: Request) -> HandlerResult {
        let map = ZoneMap::new(app.zones().zone_set().await?);
        Ok(json(StatusCode::OK, &map.zones().collect::<Vec<_>>()))
    }
}

/// `DELETE /geofencing/zones/{zoneId}` (admin).
pub struct DeleteZone;

impl Endpoint for DeleteZone {
    const METHOD: Method = Method::DELETE;
    const PATH: &'static str = "/geofencing/zones/{zoneId}";
    const FUNCTION: &'static str = "delete-zone";
    fn contract() -> Contract {
        Contract::new("Delete a geofencing zone (admin)")
            .path::<ZoneId>()
            .answers_nothing(StatusCode::NO_CONTENT, "Deleted")
            .refuses(&[ProblemType::ZoneNotFound])
    }
    type Caller = Admin;
}

impl<S: Services> Handle<S> for DeleteZone {
    async fn handle(app: &S, _: Admin, request: Request) -> HandlerResult {
        let zone_id: ZoneId = path_id(&request, "zoneId")?;
        app.zones().delete_zone(&zone_id, &Zone::deleted(&zone_id, app.clock().now())).await?;
        Ok(no_content())
    }
}

/// `PUT /geofencing/global-rules` (admin): the rules outside every zone.
pub struct PutGlobalRules;

impl Endpoint for PutGlobalRules {
    const METHOD: Method = Method::PUT;
    const PATH: &'static str = "/geofencing/global-rules";
    const FUNCTION: &'static str = "put-global-rules";
    fn contract() -> Contract {
        Contract::new("Set the rules that apply where no zone does (admin)")
            .body::<ZoneRules>()
            .answers::<ZoneRules>(StatusCode::OK, "The global rules, as stored")
    }
    type Caller = Admin;
}

impl<S: Services> Handle<S> for PutGlobalRules {
    async fn handle(app: &S, _: Admin, request: Request) -> HandlerResult {
        let rules: ZoneRules = json_body(&request)?;
        app.zones().save_global_rules(&rules, &global_rules_changed(rules, app.clock().now())).await?;
        Ok(json(StatusCode::OK, &rules))
    }
}

/// `GET /geofencing/global-rules` (anyone).
pub struct GetGlobalRules;

impl Endpoint for GetGlobalRules {
    const METHOD: Method = Method::GET;
    const PATH: &'static str = "/geofencing/global-rules";
    const FUNCTION: &'static str = "get-global-rules";
    fn contract() -> Contract {
        Contract::new("The rules that apply where no zone does (all allowed, no speed limit, until set)")
            .answers::<ZoneRules>(StatusCode::OK, "The global rules")
    }
    type Caller = Anyone;
}

impl<S: Services> Handle<S> for GetGlobalRules {
    async fn handle(app: &S, _: Anyone, _: Request) -> HandlerResult {
        Ok(json(StatusCode::OK, &app.zones().zone_set().await?.global))
    }
}
