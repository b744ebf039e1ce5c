//! Coordinates and the nearby-search area.

use serde::{Deserialize, Serialize};

/// Why a coordinate pair or radius was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GeoError {
    #[error("latitude must be a number between -90 and 90")]
    Latitude,
    #[error("longitude must be a number between -180 and 180")]
    Longitude,
    #[error("radius must be between 1 and {MAX_RADIUS_M} metres")]
    Radius,
}

/// Nearby means a walk to the board; the bound keeps a search to a few dozen area cells
/// (about 24 in Seoul), each one query.
pub const MAX_RADIUS_M: u32 = 1_500;

/// The area cell boards are grouped by, for nearby search and as the index partition:
/// geohashes of 6 characters, about 1 km × 0.6 km in Seoul, so a dense city centre puts a
/// few hundred boards in a cell and no cell takes more than a sliver of a city's writes.
pub const AREA_CELL_PRECISION: usize = 6;

/// The area cell a position lies in.
pub fn area_cell(location: &Coordinates) -> String {
    geohash(location, AREA_CELL_PRECISION)
}
const EARTH_RADIUS_M: f64 = 6_371_000.0;

/// The largest latitude and longitude, either way.
pub const MAX_LAT: f64 = 90.0;
pub const MAX_LON: f64 = 180.0;

/// A valid WGS 84 position.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawCoordinates")]
pub struct Coordinates {
    lat: f64,
    lon: f64,
}

#[derive(Deserialize)]
struct RawCoordinates {
    lat: f64,
    lon: f64,
}

super::validated_schema!(Coordinates, {
    "type": "object", "required": ["lat", "lon"], "additionalProperties": false,
    "properties": {
        "lat": {"type": "number", "minimum": -MAX_LAT, "maximum": MAX_LAT},
        "lon": {"type": "number", "minimum": -MAX_LON, "maximum": MAX_LON},
    },
});

impl TryFrom<RawCoordinates> for Coordinates {
    type Error = GeoError;
    fn try_from(raw: RawCoordinates) -> Result<Self, GeoError> {
        Coordinates::new(raw.lat, raw.lon)
    }
}

impl Coordinates {
    pub fn new(lat: f64, lon: f64) -> Result<Self, GeoError> {
        if !lat.is_finite() || !(-MAX_LAT..=MAX_LAT).contains(&lat) {
            return Err(GeoError::Latitude);
        }
        if !lon.is_finite() || !(-MAX_LON..=MAX_LON).contains(&lon) {
            return Err(GeoError::Longitude);
        }
        Ok(Self { lat, lon })
    }

    pub fn lat(&self) -> f64 {
        self.lat
    }

    pub fn lon(&self) -> f64 {
        self.lon
    }

    /// Great-circle distance in metres (haversine).
    pub fn distance_m(&self, other: &Coordinates) -> f64 {
        let (lat1, lat2) = (self.lat.to_radians(), other.lat.to_radians());
        let dlat = lat2 - lat1;
        let dlon = (other.lon - self.lon).to_radians();
        let a = (dlat / 2.0).sin().powi(2) + lat1.cos() * lat2.cos() * (dlon / 2.0).sin().powi(2);
        2.0 * EARTH_RADIUS_M * a.sqrt().asin()
    }
}

/// A circle to search for boards in.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Area {
    pub centre: Coordinates,
    pub radius_m: u32,
}

/// A latitude/longitude box that contains an [`Area`], for index range scans.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BoundingBox {
    pub min_lat: f64,
    pub max_lat: f64,
    pub min_lon: f64,
    pub max_lon: f64,
}

impl Area {
    pub fn new(centre: Coordinates, radius_m: u32) -> Result<Self, GeoError> {
        if radius_m == 0 || radius_m > MAX_RADIUS_M {
            return Err(GeoError::Radius);
        }
        Ok(Self { centre, radius_m })
    }

    pub fn contains(&self, point: &Coordinates) -> bool {
        self.centre.distance_m(point) <= f64::from(self.radius_m)
    }

    /// The smallest box holding every point of the circle on the sphere `distance_m` measures
    /// on (so nothing the circle contains falls outside it).
    pub fn bounding_box(&self) -> BoundingBox {
        let angle = f64::from(self.radius_m) / EARTH_RADIUS_M;
        let dlat = angle.to_degrees();
        // The circle's widest longitude span, reached north of the centre's latitude in the
        // north (south in the south). Near a pole the box spans every longitude.
        let ratio = angle.sin() / self.centre.lat.to_radians().cos();
        let dlon = if ratio >= 1.0 { 180.0 } else { ratio.asin().to_degrees() };
        BoundingBox {
            min_lat: (self.centre.lat - dlat).max(-90.0),
            max_lat: (self.centre.lat + dlat).min(90.0),
            min_lon: self.centre.lon - dlon,
            max_lon: self.centre.lon + dlon,
        }
    }
}

const GEOHASH_ALPHABET: &[u8; 32] = b"0123456789bcdefghjkmnpqrstuvwxyz";

/// The geohash of a position: nearby positions share a prefix, so a key-value store can find
/// them with prefix queries.
pub fn geohash(point: &Coordinates, precision: usize) -> String {
    let (mut lat, mut lon) = ((-90.0, 90.0), (-180.0, 180.0));
    let mut hash = String::with_capacity(precision);
    let (mut bits, mut value, mut even) = (0, 0usize, true);
    while hash.len() < precision {
        let (range, coordinate) = if even { (&mut lon, point.lon) } else { (&mut lat, point.lat) };
        let mid = (range.0 + range.1) / 2.0;
        value <<= 1;
        if coordinate >= mid {
            value |= 1;
            range.0 = mid;
        } else {
            range.1 = mid;
        }
        even = !even;
        bits += 1;
        if bits == 5 {
            hash.push(char::from(GEOHASH_ALPHABET[value]));
            (bits, value) = (0, 0);
        }
    }
    hash
}

/// Height and width in degrees of a geohash cell of `precision` characters.
fn geohash_cell_degrees(precision: usize) -> (f64, f64) {
    let bits = 5 * precision as i32;
    let lon_bits = (bits + 1) / 2;
    let lat_bits = bits / 2;
    (180.0 / 2f64.powi(lat_bits), 360.0 / 2f64.powi(lon_bits))
}

/// Every point from `from` to `to` in steps of `step`, both ends included.
fn steps(from: f64, to: f64, step: f64) -> impl Iterator<Item = f64> {
    let count = ((to - from) / step).ceil().max(0.0) as usize;
    (0..=count).map(move |i| (from + step * i as f64).min(to))
}

impl Area {
    /// The area cells that together cover this area.
    pub fn cells(&self) -> Vec<String> {
        self.covering_cells(AREA_CELL_PRECISION)
    }

    /// The geohash cells of `precision` characters that together cover this area.
    pub fn covering_cells(&self, precision: usize) -> Vec<String> {
        let bbox = self.bounding_box();
        let (height, width) = geohash_cell_degrees(precision);
        let mut cells = Vec::new();
        for lat in steps(bbox.min_lat, bbox.max_lat, height) {
            for lon in steps(bbox.min_lon.max(-180.0), bbox.max_lon.min(180.0), width) {
                let point = Coordinates { lat, lon };
                cells.push(geohash(&point, precision));
            }
        }
        cells.sort();
        cells.dedup();
        cells
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_out_of_range_coordinates() {
        assert_eq!(Coordinates::new(91.0, 0.0), Err(GeoError::Latitude));
        assert_eq!(Coordinates::new(0.0, -180.5), Err(GeoError::Longitude));
        assert_eq!(Coordinates::new(f64::NAN, 0.0), Err(GeoError::Latitude));
    }

    #[test]
    fn geohashes_match_the_reference_encoding() {
        // The standard example: 57.64911, 10.40744 is u4pruydqqvj.
        let point = Coordinates::new(57.64911, 10.40744).unwrap();
        assert_eq!(geohash(&point, 11), "u4pruydqqvj");
    }

    #[test]
    fn the_widest_search_stays_a_few_dozen_cells_wherever_a_city_is() {
        for lat in [0.0, 37.5663, 51.5, 60.17] {
            let area = Area::new(Coordinates::new(lat, 126.9779).unwrap(), MAX_RADIUS_M).unwrap();
            let cells = area.cells().len();
            assert!(cells <= 48, "{cells} cells at latitude {lat}");
        }
        let seoul = Area::new(Coordinates::new(37.5663, 126.9779).unwrap(), MAX_RADIUS_M).unwrap();
        assert!(seoul.cells().len() <= 30, "{}", seoul.cells().len());
    }

    #[test]
    fn covering_cells_include_every_point_of_the_area() {
        let centre = Coordinates::new(37.5663, 126.9779).unwrap();
        let area = Area::new(centre, MAX_RADIUS_M).unwrap();
        let cells = area.cells();
        for (dlat, dlon) in [(0.0134, 0.0), (-0.0134, 0.0), (0.0, 0.0168), (0.0, -0.0168), (0.0093, 0.0118)] {
            let point = Coordinates::new(centre.lat() + dlat, centre.lon() + dlon).unwrap();
            if area.contains(&point) {
                assert!(cells.contains(&area_cell(&point)), "{point:?} not covered");
            }
        }
    }

    /// The point `distance_m` from `from` going `bearing` degrees from north, on the sphere.
    fn destination(from: &Coordinates, bearing: f64, distance_m: f64) -> Coordinates {
        let (lat1, lon1, bearing, angle) =
            (from.lat.to_radians(), from.lon.to_radians(), bearing.to_radians(), distance_m / EARTH_RADIUS_M);
        let lat2 = (lat1.sin() * angle.cos() + lat1.cos() * angle.sin() * bearing.cos()).asin();
        let lon2 = lon1 + (bearing.sin() * angle.sin() * lat1.cos()).atan2(angle.cos() - lat1.sin() * lat2.sin());
        Coordinates { lat: lat2.to_degrees(), lon: lon2.to_degrees() }
    }

    #[test]
    fn the_bounding_box_holds_the_whole_circle() {
        for (lat, lon, radius_m) in
            [(37.5665, 126.978, 1_500), (0.0, 0.0, 500), (-33.9, 18.4, 1_000), (69.6, 18.9, 1_500)]
        {
            let area = Area::new(Coordinates::new(lat, lon).unwrap(), radius_m).unwrap();
            let bbox = area.bounding_box();
            for bearing in 0..3600 {
                let edge = destination(&area.centre, f64::from(bearing) / 10.0, f64::from(radius_m) - 0.01);
                assert!(area.contains(&edge), "{edge:?} is on the circle");
                assert!(
                    (bbox.min_lat..=bbox.max_lat).contains(&edge.lat)
                        && (bbox.min_lon..=bbox.max_lon).contains(&edge.lon),
                    "{edge:?} at bearing {bearing} outside {bbox:?}"
                );
            }
        }
    }

    #[test]
    fn area_contains_points_by_distance() {
        let seoul_city_hall = Coordinates::new(37.5663, 126.9779).unwrap();
        let gwanghwamun = Coordinates::new(37.5759, 126.9768).unwrap();
        let area = Area::new(seoul_city_hall, 1_500).unwrap();
        assert!(area.contains(&gwanghwamun));
        assert!(!Area::new(seoul_city_hall, 500).unwrap().contains(&gwanghwamun));
        let bbox = area.bounding_box();
        assert!(bbox.min_lat < gwanghwamun.lat() && gwanghwamun.lat() < bbox.max_lat);
    }
}
