//! Zones: where rides may start, end and pass, and how fast, as GBFS geofencing rules. The
//! rules at a point are those of the highest-priority zone containing it (a point on a
//! zone's edge is inside it), else the global rules.

use super::error::{RuleViolation, ZoneRefusal};
use super::events::{DomainEvent, EventEnvelope};
use super::geo::{Coordinates, MAX_LAT, MAX_LON};
use super::ids::ZoneId;
use super::mds_policy::CityDocument;
use chrono::{DateTime, Utc};
use geo::{BoundingRect, Coord, Intersects, LineString, MultiPolygon, Polygon, Validation};
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{AABB, RTree};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The most positions one zone may have: a city's detailed service area fits, and a zone is
/// still a few hundred kilobytes.
pub const MAX_ZONE_POSITIONS: usize = 10_000;

/// What may happen inside a zone (or, as the global rules, outside every zone).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(rename = "Rules")]
pub struct ZoneRules {
    pub ride_start_allowed: bool,
    pub ride_end_allowed: bool,
    pub ride_through_allowed: bool,
    /// Absent: no speed limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maximum_speed_kph: Option<u32>,
}

impl Default for ZoneRules {
    /// Everything allowed: a city with no zones rides as if it had none.
    fn default() -> Self {
        Self { ride_start_allowed: true, ride_end_allowed: true, ride_through_allowed: true, maximum_speed_kph: None }
    }
}

/// A GeoJSON position, `[longitude, latitude]` (an altitude, if given, is dropped).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "Vec<f64>", into = "[f64; 2]")]
pub struct Position {
    lon: f64,
    lat: f64,
}

impl TryFrom<Vec<f64>> for Position {
    type Error = String;
    fn try_from(numbers: Vec<f64>) -> Result<Self, String> {
        let (lon, lat) = match numbers[..] {
            [lon, lat] | [lon, lat, _] => (lon, lat),
            _ => return Err("a position is [longitude, latitude]".into()),
        };
        let valid = Coordinates::new(lat, lon).map_err(|error| error.to_string())?;
        Ok(Self { lon: valid.lon(), lat: valid.lat() })
    }
}

super::validated_schema!(Position, {
    "description": "A GeoJSON position, WGS 84: [lon, lat] or [lon, lat, altitude]",
    "type": "array", "minItems": 2, "maxItems": 3,
    "prefixItems": [
        {"type": "number", "minimum": -MAX_LON, "maximum": MAX_LON},
        {"type": "number", "minimum": -MAX_LAT, "maximum": MAX_LAT},
    ],
    "items": {"type": "number"},
});

impl From<Position> for [f64; 2] {
    fn from(position: Position) -> Self {
        [position.lon, position.lat]
    }
}

/// A zone's area as GeoJSON (RFC 7946) gives it: a Polygon or a MultiPolygon, rings of
/// positions, the first ring of a polygon its outline and the others its holes.
/// A zone has at most 10,000 positions in all (`MAX_ZONE_POSITIONS`); a ring has at least 4,
/// is closed and does not cross itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "type")]
#[schemars(rename = "Geometry")]
pub enum ZoneGeometry {
    Polygon { coordinates: Vec<Vec<Position>> },
    MultiPolygon { coordinates: Vec<Vec<Vec<Position>>> },
}

/// The two GeoJSON types a zone's area may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum GeometryKind {
    Polygon,
    MultiPolygon,
}

/// A zone's area as a request gives it: its type, then its coordinates read for that type,
/// so a refusal names the very position at fault.
#[derive(Debug, Deserialize)]
pub struct GeometryForm {
    #[serde(rename = "type")]
    kind: GeometryKind,
    coordinates: serde_json::Value,
}

impl GeometryForm {
    pub fn parse(self) -> Result<ZoneGeometry, GeometryError> {
        fn read<T: serde::de::DeserializeOwned>(coordinates: serde_json::Value) -> Result<T, GeometryError> {
            serde_path_to_error::deserialize(coordinates).map_err(|error| {
                let path = error.path().to_string();
                let field = if path == "." { "coordinates".to_owned() } else { format!("coordinates{path}") };
                GeometryError { field, reason: error.into_inner().to_string() }
            })
        }
        Ok(match self.kind {
            GeometryKind::Polygon => ZoneGeometry::Polygon { coordinates: read(self.coordinates)? },
            GeometryKind::MultiPolygon => ZoneGeometry::MultiPolygon { coordinates: read(self.coordinates)? },
        })
    }
}

/// A zone's area refused, and the part of it at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct GeometryError {
    /// The JSON path below `geometry`, e.g. `coordinates[0]`.
    pub field: String,
    pub reason: String,
}

impl ZoneGeometry {
    /// The polygons, each a list of rings.
    fn polygons(&self) -> Vec<&Vec<Vec<Position>>> {
        match self {
            ZoneGeometry::Polygon { coordinates } => vec![coordinates],
            ZoneGeometry::MultiPolygon { coordinates } => coordinates.iter().collect(),
        }
    }

    /// The area for geometry, once its rings are checked.
    fn shape(&self) -> MultiPolygon<f64> {
        let ring = |ring: &Vec<Position>| {
            LineString::from(ring.iter().map(|position| Coord { x: position.lon, y: position.lat }).collect::<Vec<_>>())
        };
        MultiPolygon(
            self.polygons()
                .into_iter()
                .map(|rings| {
                    let mut rings = rings.iter().map(ring);
                    let outline = rings.next().unwrap_or_else(|| LineString(Vec::new()));
                    Polygon::new(outline, rings.collect())
                })
                .collect(),
        )
    }

    /// The same area as a GeoJSON MultiPolygon (what GBFS publishes).
    pub fn as_multi_polygon(&self) -> Vec<Vec<Vec<Position>>> {
        self.polygons().into_iter().cloned().collect()
    }

    /// Refuses what is not an area: rings of fewer than 4 positions or not closed, rings
    /// that cross themselves or each other, more than [`MAX_ZONE_POSITIONS`] positions.
    pub fn validate(&self) -> Result<MultiPolygon<f64>, GeometryError> {
        let prefix = |polygon: usize| match self {
            ZoneGeometry::Polygon { .. } => "coordinates".to_owned(),
            ZoneGeometry::MultiPolygon { .. } => format!("coordinates[{polygon}]"),
        };
        let mut positions = 0;
        for (p, rings) in self.polygons().into_iter().enumerate() {
            if rings.is_empty() {
                return Err(GeometryError { field: prefix(p), reason: "a polygon needs an outline".into() });
            }
            for (r, ring) in rings.iter().enumerate() {
                let field = format!("{}[{r}]", prefix(p));
                if ring.len() < 4 {
                    return Err(GeometryError { field, reason: "a ring has at least 4 positions".into() });
                }
                if ring.first() != ring.last() {
                    return Err(GeometryError { field, reason: "a ring ends where it starts".into() });
                }
                positions += ring.len();
            }
        }
        if positions == 0 {
            return Err(GeometryError { field: "coordinates".into(), reason: "a zone needs an area".into() });
        }
        if positions > MAX_ZONE_POSITIONS {
            let reason = format!("{positions} positions; a zone has at most {MAX_ZONE_POSITIONS}");
            return Err(GeometryError { field: "coordinates".into(), reason });
        }
        let shape = self.shape();
        for (p, polygon) in shape.0.iter().enumerate() {
            if let Err(invalid) = polygon.check_validation() {
                return Err(GeometryError { field: prefix(p), reason: invalid.to_string() });
            }
        }
        Ok(shape)
    }
}

/// A zone's name: 1 to 128 printable characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ZoneName(String);

impl TryFrom<String> for ZoneName {
    type Error = &'static str;
    fn try_from(name: String) -> Result<Self, &'static str> {
        if name.trim().is_empty() || name.chars().count() > 128 || name.chars().any(char::is_control) {
            return Err("must be 1 to 128 printable characters");
        }
        Ok(Self(name))
    }
}

super::validated_schema!(ZoneName, {"type": "string", "minLength": 1, "maxLength": 128});

impl From<ZoneName> for String {
    fn from(name: ZoneName) -> String {
        name.0
    }
}

impl ZoneName {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An admin's zone: an area, a priority (lower wins where zones overlap) and its rules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct Zone {
    pub zone_id: ZoneId,
    pub name: ZoneName,
    /// Where zones overlap, the lowest priority's rules apply.
    pub priority: i32,
    pub geometry: ZoneGeometry,
    pub rules: ZoneRules,
    pub updated_at: DateTime<Utc>,
}

impl Zone {
    /// The zone as defined, once its area is checked, and its `ZoneChanged` event.
    pub fn define(
        zone_id: ZoneId,
        name: ZoneName,
        priority: i32,
        geometry: ZoneGeometry,
        rules: ZoneRules,
        now: DateTime<Utc>,
    ) -> Result<(Zone, EventEnvelope), GeometryError> {
        geometry.validate()?;
        let zone = Zone { zone_id, name, priority, geometry, rules, updated_at: now };
        let event = zone_event(now, &zone.zone_id, DomainEvent::ZoneChanged { zone_id: zone.zone_id.clone() });
        Ok((zone, event))
    }

    /// The `ZoneDeleted` event of a zone removed now.
    pub fn deleted(zone_id: &ZoneId, now: DateTime<Utc>) -> EventEnvelope {
        zone_event(now, zone_id, DomainEvent::ZoneDeleted { zone_id: zone_id.clone() })
    }
}

/// Zone events are versioned by time: a zone has no counter of its own, and a later
/// definition replaces an earlier one.
fn zone_event(now: DateTime<Utc>, zone_id: &ZoneId, event: DomainEvent) -> EventEnvelope {
    EventEnvelope::versioned_by_time(now, zone_id.to_string(), None, event)
}

/// The `GlobalRulesChanged` event.
pub fn global_rules_changed(rules: ZoneRules, now: DateTime<Utc>) -> EventEnvelope {
    EventEnvelope::versioned_by_time(now, "global-rules".into(), None, DomainEvent::GlobalRulesChanged { rules })
}

/// Every zone, the global rules and the city's MDS documents, as one version of the store
/// holds them.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ZoneSet {
    pub version: u64,
    pub zones: Vec<Zone>,
    pub global: ZoneRules,
    pub city: Vec<CityDocument>,
}

/// A city's rule in force (MDS Policy, compiled), placed on the map as a zone: where it holds,
/// what it allows, and what it tells the rider it refuses.
#[derive(Debug, Clone, PartialEq)]
pub struct CityZone {
    pub zone: Zone,
    /// The policy and rule, as a refusal names them.
    pub rule: String,
    /// Language tag → the rider's message.
    pub messages: BTreeMap<String, String>,
}

/// The rules that govern one place: the operator's (the highest-priority admin zone containing
/// it, else the global rules), made stricter by every city rule in force there.
#[derive(Debug, Clone, PartialEq)]
pub struct Governing<'a> {
    pub rules: ZoneRules,
    /// The admin zone; `None`: outside every admin zone, under the global rules.
    pub zone: Option<&'a Zone>,
    /// The city's rules in force at the place.
    pub city: Vec<&'a CityZone>,
    /// The rules outside every operator zone.
    global: ZoneRules,
}

impl Governing<'_> {
    fn place(&self) -> String {
        match self.zone {
            Some(zone) => format!("in zone {} ({})", zone.zone_id, zone.name.as_str()),
            None => "outside every zone".to_owned(),
        }
    }

    /// Refused by the operator's rules where `allows` says no, else by the first city rule that
    /// says no.
    fn refusal(&self, allows: impl Fn(&ZoneRules) -> bool) -> Option<ZoneRefusal> {
        let operator = self.zone.map_or(&self.global, |zone| &zone.rules);
        if !allows(operator) {
            return Some(ZoneRefusal { place: self.place(), messages: BTreeMap::new() });
        }
        let city = self.city.iter().find(|city| !allows(&city.zone.rules))?;
        Some(ZoneRefusal { place: format!("in {}", city.rule), messages: city.messages.clone() })
    }
}

/// Where a zone of the map is kept: an operator's, or a city rule's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Placed {
    Operator(usize),
    City(usize),
}

/// The zones of a city ready to answer "which rules hold here": an R-tree of their bounding
/// boxes finds the few zones around a point, and only those are tested point-in-polygon.
#[derive(Debug, Default)]
pub struct ZoneMap {
    version: u64,
    /// In priority order (then by id), so the first zone containing a point governs it.
    zones: Vec<(Zone, MultiPolygon<f64>)>,
    /// The city's rules in force when the map was made: each holds wherever its zone is.
    city: Vec<(CityZone, MultiPolygon<f64>)>,
    boxes: RTree<GeomWithData<Rectangle<[f64; 2]>, Placed>>,
    global: ZoneRules,
    /// When the city's rules in force next change (`None`: not ahead).
    until: Option<DateTime<Utc>>,
}

fn bounding_box(shape: &MultiPolygon<f64>, placed: Placed) -> Option<GeomWithData<Rectangle<[f64; 2]>, Placed>> {
    let rect = shape.bounding_rect()?;
    let corners = Rectangle::from_corners([rect.min().x, rect.min().y], [rect.max().x, rect.max().y]);
    Some(GeomWithData::new(corners, placed))
}

/// The strictest of two sets of rules: allowed only where both allow, the lower speed limit.
fn strictest(a: ZoneRules, b: &ZoneRules) -> ZoneRules {
    ZoneRules {
        ride_start_allowed: a.ride_start_allowed && b.ride_start_allowed,
        ride_end_allowed: a.ride_end_allowed && b.ride_end_allowed,
        ride_through_allowed: a.ride_through_allowed && b.ride_through_allowed,
        maximum_speed_kph: match (a.maximum_speed_kph, b.maximum_speed_kph) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        },
    }
}

impl ZoneMap {
    pub fn new(set: ZoneSet) -> Self {
        Self::with_city(set, Vec::new())
    }

    /// The operator's zones and the city's rules in force now (`city`).
    pub fn with_city(set: ZoneSet, city: Vec<CityZone>) -> Self {
        let mut zones: Vec<Zone> = set.zones;
        zones.sort_by(|a, b| (a.priority, &a.zone_id).cmp(&(b.priority, &b.zone_id)));
        let zones: Vec<(Zone, MultiPolygon<f64>)> =
            zones.into_iter().map(|zone| (zone.geometry.shape(), zone)).map(|(shape, zone)| (zone, shape)).collect();
        let city: Vec<(CityZone, MultiPolygon<f64>)> = city
            .into_iter()
            .map(|city| (city.zone.geometry.shape(), city))
            .map(|(shape, city)| (city, shape))
            .collect();
        let boxes = zones
            .iter()
            .enumerate()
            .filter_map(|(index, (_, shape))| bounding_box(shape, Placed::Operator(index)))
            .chain(city.iter().enumerate().filter_map(|(index, (_, shape))| bounding_box(shape, Placed::City(index))))
            .collect();
        Self { version: set.version, zones, city, boxes: RTree::bulk_load(boxes), global: set.global, until: None }
    }

    /// The map, said to hold until `until` (the city's rules' next change).
    pub fn holding_until(self, until: Option<DateTime<Utc>>) -> Self {
        Self { until, ..self }
    }

    /// Until when the city's rules on this map stay in force (`None`: no change ahead).
    pub fn in_force_until(&self) -> Option<DateTime<Utc>> {
        self.until
    }

    pub fn version(&self) -> u64 {
        self.version
    }

    /// The operator's zones in priority order.
    pub fn zones(&self) -> impl Iterator<Item = &Zone> {
        self.zones.iter().map(|(zone, _)| zone)
    }

    /// The city's rules in force, as zones.
    pub fn city_zones(&self) -> impl Iterator<Item = &CityZone> {
        self.city.iter().map(|(city, _)| city)
    }

    pub fn global(&self) -> &ZoneRules {
        &self.global
    }

    /// Whether any place could refuse a ride: with no zones and permissive global rules
    /// nothing needs to know where a board is.
    pub fn restricts(&self) -> bool {
        !(self.zones.is_empty()
            && self.city.is_empty()
            && self.global.ride_start_allowed
            && self.global.ride_end_allowed)
    }

    /// The rules at `place`: the highest-priority operator zone containing it (its edge
    /// included), else the global rules; made stricter by each city rule containing it.
    pub fn governing(&self, place: &Coordinates) -> Governing<'_> {
        let point = [place.lon(), place.lat()];
        let coord = Coord { x: place.lon(), y: place.lat() };
        let mut operator = None;
        let mut city = Vec::new();
        for candidate in self.boxes.locate_in_envelope_intersecting(&AABB::from_point(point)) {
            match candidate.data {
                Placed::Operator(index) if self.zones[index].1.intersects(&coord) => {
                    operator = Some(operator.map_or(index, |found: usize| found.min(index)));
                }
                Placed::City(index) if self.city[index].1.intersects(&coord) => city.push(index),
                _ => {}
            }
        }
        city.sort_unstable();
        let zone = operator.map(|index| &self.zones[index].0);
        let base = zone.map_or(self.global, |zone| zone.rules);
        let city: Vec<&CityZone> = city.into_iter().map(|index| &self.city[index].0).collect();
        let rules = city.iter().fold(base, |rules, city| strictest(rules, &city.zone.rules));
        Governing { rules, zone, city, global: self.global }
    }

    /// Refuses to start a ride where starting is not allowed.
    pub fn ensure_start_allowed(&self, place: &Coordinates) -> Result<(), RuleViolation> {
        match self.governing(place).refusal(|rules| rules.ride_start_allowed) {
            None => Ok(()),
            Some(refusal) => Err(RuleViolation::RideStartNotAllowed(refusal)),
        }
    }

    /// What forbids riding through `place`, if anything does.
    pub fn no_riding(&self, place: &Coordinates) -> Option<ZoneRefusal> {
        self.governing(place).refusal(|rules| rules.ride_through_allowed)
    }

    /// Refuses to end a ride where ending is not allowed.
    pub fn ensure_end_allowed(&self, place: &Coordinates) -> Result<(), RuleViolation> {
        match self.governing(place).refusal(|rules| rules.ride_end_allowed) {
            None => Ok(()),
            Some(refusal) => Err(RuleViolation::RideEndNotAllowed(refusal)),
        }
    }
}

#[cfg(test)]
mod tests;
