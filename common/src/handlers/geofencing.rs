//! Zones: admins define where rides may start and end; anyone reads them. Rents and returns
//! read them through a per-instance cache that follows the store's zones version.

use crate::domain::ids::ZoneId;
use crate::domain::zones::{GeometryError, GeometryForm, Zone, ZoneMap, ZoneName, ZoneRules, global_rules_changed};
use crate::http::request::{admin, json_body, path_id, zone_body};
use crate::http::response::{json, no_content};
use crate::http::{Problem, respond};
use crate::ports::{Clock, PortResult, ZoneStore};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// How long a Lambda instance uses its zones before asking the store whether they changed
/// (one small read): a zone change holds everywhere within a second, and a busy instance
/// reads the version once a second, not once a ride.
pub const ZONE_CHECK_INTERVAL: Duration = Duration::from_secs(1);

/// This instance's zones, ready to answer for a place.
pub struct ZoneCache {
    check_every: Duration,
    latest: Mutex<Option<(Instant, Arc<ZoneMap>)>>,
}

impl ZoneCache {
    /// A cache that asks the store for its version at most every `check_every`.
    pub fn new(check_every: Duration) -> Self {
        Self { check_every, latest: Mutex::new(None) }
    }

    /// The zones as of at most `check_every` ago; read again only when their version moved.
    pub async fn current(&self, store: &dyn ZoneStore) -> PortResult<Arc<ZoneMap>> {
        let mut latest = self.latest.lock().await;
        if let Some((checked, map)) = latest.as_ref()
            && checked.elapsed() < self.check_every
        {
            return Ok(Arc::clone(map));
        }
        let version = store.zones_version().await?;
        let map = match latest.as_ref() {
            Some((_, map)) if map.version() == version => Arc::clone(map),
            _ => Arc::new(ZoneMap::new(store.zone_set().await?)),
        };
        *latest = Some((Instant::now(), Arc::clone(&map)));
        Ok(map)
    }
}

/// The zones a handler reads: the store and this instance's cache of it.
#[derive(Clone, Copy)]
pub struct Geofence<'a> {
    pub store: &'a dyn ZoneStore,
    pub cache: &'a ZoneCache,
}

impl Geofence<'_> {
    pub async fn map(&self) -> PortResult<Arc<ZoneMap>> {
        self.cache.current(self.store).await
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ZoneBody {
    name: ZoneName,
    priority: i32,
    geometry: GeometryForm,
    rules: ZoneRules,
}

/// `PUT /geofencing/zones/{zoneId}` (admin): creates or replaces the zone.
pub async fn put_zone(zones: &dyn ZoneStore, clock: &dyn Clock, request: Request) -> Response<Body> {
    respond(
        async {
            admin(&request)?;
            let zone_id: ZoneId = path_id(&request, "zoneId")?;
            let body: ZoneBody = zone_body(&request)?;
            let invalid =
                |error: GeometryError| Problem::invalid_field(format!("geometry.{}", error.field), error.reason);
            let geometry = body.geometry.parse().map_err(invalid)?;
            let (zone, event) =
                Zone::define(zone_id, body.name, body.priority, geometry, body.rules, clock.now()).map_err(invalid)?;
            zones.save_zone(&zone, &event).await?;
            Ok(json(StatusCode::OK, &zone))
        }
        .await,
    )
}

/// `GET /geofencing/zones` (anyone): every zone, in priority order.
pub async fn list_zones(zones: &dyn ZoneStore, _request: Request) -> Response<Body> {
    respond(
        async {
            let map = ZoneMap::new(zones.zone_set().await?);
            Ok(json(StatusCode::OK, &map.zones().collect::<Vec<_>>()))
        }
        .await,
    )
}

/// `DELETE /geofencing/zones/{zoneId}` (admin).
pub async fn delete_zone(zones: &dyn ZoneStore, clock: &dyn Clock, request: Request) -> Response<Body> {
    respond(
        async {
            admin(&request)?;
            let zone_id: ZoneId = path_id(&request, "zoneId")?;
            zones.delete_zone(&zone_id, &Zone::deleted(&zone_id, clock.now())).await?;
            Ok(no_content())
        }
        .await,
    )
}

/// `PUT /geofencing/global-rules` (admin): the rules outside every zone.
pub async fn put_global_rules(zones: &dyn ZoneStore, clock: &dyn Clock, request: Request) -> Response<Body> {
    respond(
        async {
            admin(&request)?;
            let rules: ZoneRules = json_body(&request)?;
            zones.save_global_rules(&rules, &global_rules_changed(rules, clock.now())).await?;
            Ok(json(StatusCode::OK, &rules))
        }
        .await,
    )
}

/// `GET /geofencing/global-rules` (anyone).
pub async fn get_global_rules(zones: &dyn ZoneStore, _request: Request) -> Response<Body> {
    respond(async { Ok(json(StatusCode::OK, &zones.zone_set().await?.global)) }.await)
}
