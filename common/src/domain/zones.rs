//! Zones: where rides may start, end and pass, and how fast, as GBFS geofencing rules. The
//! rules at a point are those of the highest-priority zone containing it (a point on a
//! zone's edge is inside it), else the global rules.

use super::error::RuleViolation;
use super::events::{DomainEvent, EventEnvelope};
use super::geo::{Coordinates, MAX_LAT, MAX_LON};
use super::ids::ZoneId;
use chrono::{DateTime, Utc};
use geo::{BoundingRect, Coord, Intersects, LineString, MultiPolygon, Polygon, Validation};
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{AABB, RTree};
use serde::{Deserialize, Serialize};

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
    let version = u64::try_from(now.timestamp_millis()).unwrap_or_default();
    EventEnvelope::new(now, zone_id.to_string(), version, None, event)
}

/// The `GlobalRulesChanged` event.
pub fn global_rules_changed(rules: ZoneRules, now: DateTime<Utc>) -> EventEnvelope {
    let version = u64::try_from(now.timestamp_millis()).unwrap_or_default();
    EventEnvelope::new(now, "global-rules".into(), version, None, DomainEvent::GlobalRulesChanged { rules })
}

/// Every zone and the global rules, as one version of the store holds them.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ZoneSet {
    pub version: u64,
    pub zones: Vec<Zone>,
    pub global: ZoneRules,
}

/// The rules that govern one place, and the zone they come from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Governing<'a> {
    pub rules: &'a ZoneRules,
    /// `None`: outside every zone, under the global rules.
    pub zone: Option<&'a Zone>,
}

impl Governing<'_> {
    fn place(&self) -> String {
        match self.zone {
            Some(zone) => format!("in zone {} ({})", zone.zone_id, zone.name.as_str()),
            None => "outside every zone".to_owned(),
        }
    }
}

/// The zones of a city ready to answer "which rules hold here": an R-tree of their bounding
/// boxes finds the few zones around a point, and only those are tested point-in-polygon.
#[derive(Debug, Default)]
pub struct ZoneMap {
    version: u64,
    /// In priority order (then by id), so the first zone containing a point governs it.
    zones: Vec<(Zone, MultiPolygon<f64>)>,
    boxes: RTree<GeomWithData<Rectangle<[f64; 2]>, usize>>,
    global: ZoneRules,
}

impl ZoneMap {
    pub fn new(set: ZoneSet) -> Self {
        let mut zones: Vec<Zone> = set.zones;
        zones.sort_by(|a, b| (a.priority, &a.zone_id).cmp(&(b.priority, &b.zone_id)));
        let zones: Vec<(Zone, MultiPolygon<f64>)> =
            zones.into_iter().map(|zone| (zone.geometry.shape(), zone)).map(|(shape, zone)| (zone, shape)).collect();
        let boxes = zones
            .iter()
            .enumerate()
            .filter_map(|(index, (_, shape))| {
                let rect = shape.bounding_rect()?;
                let corners = Rectangle::from_corners([rect.min().x, rect.min().y], [rect.max().x, rect.max().y]);
                Some(GeomWithData::new(corners, index))
            })
            .collect();
        Self { version: set.version, zones, boxes: RTree::bulk_load(boxes), global: set.global }
    }

    pub fn version(&self) -> u64 {
        self.version
    }

    /// The zones in priority order, and the global rules.
    pub fn zones(&self) -> impl Iterator<Item = &Zone> {
        self.zones.iter().map(|(zone, _)| zone)
    }

    pub fn global(&self) -> &ZoneRules {
        &self.global
    }

    /// Whether any place could refuse a ride: with no zones and permissive global rules
    /// nothing needs to know where a board is.
    pub fn restricts(&self) -> bool {
        !(self.zones.is_empty() && self.global.ride_start_allowed && self.global.ride_end_allowed)
    }

    /// The rules at `place`: the highest-priority zone containing it (its edge included),
    /// else the global rules.
    pub fn governing(&self, place: &Coordinates) -> Governing<'_> {
        let point = [place.lon(), place.lat()];
        let coord = Coord { x: place.lon(), y: place.lat() };
        let inside = self
            .boxes
            .locate_in_envelope_intersecting(&AABB::from_point(point))
            .map(|candidate| candidate.data)
            .filter(|index| self.zones[*index].1.intersects(&coord))
            .min();
        match inside {
            Some(index) => Governing { rules: &self.zones[index].0.rules, zone: Some(&self.zones[index].0) },
            None => Governing { rules: &self.global, zone: None },
        }
    }

    /// Refuses to start a ride where starting is not allowed.
    pub fn ensure_start_allowed(&self, place: &Coordinates) -> Result<(), RuleViolation> {
        let governing = self.governing(place);
        match governing.rules.ride_start_allowed {
            true => Ok(()),
            false => Err(RuleViolation::RideStartNotAllowed(governing.place())),
        }
    }

    /// Refuses to end a ride where ending is not allowed.
    pub fn ensure_end_allowed(&self, place: &Coordinates) -> Result<(), RuleViolation> {
        let governing = self.governing(place);
        match governing.rules.ride_end_allowed {
            true => Ok(()),
            false => Err(RuleViolation::RideEndNotAllowed(governing.place())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn square(west: f64, south: f64, side: f64) -> ZoneGeometry {
        let ring =
            [[west, south], [west + side, south], [west + side, south + side], [west, south + side], [west, south]];
        serde_json::from_value(serde_json::json!({"type": "Polygon", "coordinates": [ring]})).unwrap()
    }

    fn zone(id: &str, priority: i32, geometry: ZoneGeometry, rules: ZoneRules) -> Zone {
        let name = ZoneName::try_from(format!("zone {id}")).unwrap();
        Zone::define(ZoneId::try_from(id).unwrap(), name, priority, geometry, rules, Utc::now()).unwrap().0
    }

    const NO_PARKING: ZoneRules = ZoneRules {
        ride_start_allowed: true,
        ride_end_allowed: false,
        ride_through_allowed: true,
        maximum_speed_kph: None,
    };

    #[test]
    fn the_highest_priority_zone_containing_a_point_governs_it_edges_included() {
        let service = ZoneRules { maximum_speed_kph: Some(25), ..ZoneRules::default() };
        let closed = ZoneRules { ride_start_allowed: false, ride_end_allowed: false, ..ZoneRules::default() };
        let map = ZoneMap::new(ZoneSet {
            version: 1,
            zones: vec![
                zone("service", 10, square(126.9, 37.5, 0.2), service),
                zone("no-parking", 1, square(126.97, 37.56, 0.01), NO_PARKING),
            ],
            global: closed,
        });
        let at = |lat, lon| Coordinates::new(lat, lon).unwrap();
        assert_eq!(map.governing(&at(37.565, 126.975)).zone.unwrap().zone_id.as_str(), "no-parking");
        assert_eq!(map.governing(&at(37.55, 126.95)).rules, &service);
        assert_eq!(map.governing(&at(37.56, 126.975)).zone.unwrap().zone_id.as_str(), "no-parking", "on the edge");
        assert_eq!(map.governing(&at(37.8, 127.5)).zone, None);
        assert!(
            matches!(map.ensure_end_allowed(&at(37.565, 126.975)), Err(RuleViolation::RideEndNotAllowed(zone)) if zone.contains("no-parking"))
        );
        assert!(map.ensure_start_allowed(&at(37.565, 126.975)).is_ok());
        assert!(matches!(map.ensure_start_allowed(&at(37.8, 127.5)), Err(RuleViolation::RideStartNotAllowed(_))));
        assert!(!ZoneMap::new(ZoneSet::default()).restricts(), "no zones: nothing to check");
    }

    #[test]
    fn holes_are_outside_their_polygon() {
        let outline = [[0.0, 0.0], [10.0, 0.0], [10.0, 10.0], [0.0, 10.0], [0.0, 0.0]];
        let hole = [[4.0, 4.0], [6.0, 4.0], [6.0, 6.0], [4.0, 6.0], [4.0, 4.0]];
        let geometry = serde_json::from_value(serde_json::json!({"type": "Polygon", "coordinates": [outline, hole]}));
        let map =
            ZoneMap::new(ZoneSet { zones: vec![zone("ring", 1, geometry.unwrap(), NO_PARKING)], ..ZoneSet::default() });
        assert!(map.governing(&Coordinates::new(5.0, 5.0).unwrap()).zone.is_none());
        assert!(map.governing(&Coordinates::new(2.0, 2.0).unwrap()).zone.is_some());
    }

    #[test]
    fn only_areas_are_zones() {
        let geometry = |coordinates: serde_json::Value| {
            serde_json::from_value::<ZoneGeometry>(serde_json::json!({"type": "Polygon", "coordinates": coordinates}))
        };
        let refused = |coordinates| geometry(coordinates).unwrap().validate().unwrap_err().reason;
        assert!(refused(serde_json::json!([[[0, 0], [1, 0], [0, 0]]])).contains("4 positions"));
        assert!(refused(serde_json::json!([[[0, 0], [1, 0], [1, 1], [0, 1]]])).contains("ends where it starts"));
        assert!(refused(serde_json::json!([[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]])).contains("self-intersection"));
        assert!(geometry(serde_json::json!([[[0, 0], [181, 0], [1, 1], [0, 0]]])).is_err(), "longitude out of range");
        assert!(geometry(serde_json::json!([[[0], [1, 0], [1, 1], [0, 0]]])).is_err(), "a position is two numbers");
        let point = serde_json::json!({"type": "Point", "coordinates": [0, 0]});
        assert!(serde_json::from_value::<ZoneGeometry>(point).is_err());
        let many: Vec<[f64; 2]> = (0..MAX_ZONE_POSITIONS)
            .map(|i| {
                let angle = i as f64 / MAX_ZONE_POSITIONS as f64 * std::f64::consts::TAU;
                [angle.cos(), angle.sin()]
            })
            .chain([[1.0, 0.0]])
            .collect();
        assert!(refused(serde_json::json!([many])).contains("at most"));
    }
}
