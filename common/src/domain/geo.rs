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

pub const MAX_RADIUS_M: u32 = 50_000;
const EARTH_RADIUS_M: f64 = 6_371_000.0;
const METRES_PER_DEGREE_LAT: f64 = 111_320.0;

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

impl TryFrom<RawCoordinates> for Coordinates {
    type Error = GeoError;
    fn try_from(raw: RawCoordinates) -> Result<Self, GeoError> {
        Coordinates::new(raw.lat, raw.lon)
    }
}

impl Coordinates {
    pub fn new(lat: f64, lon: f64) -> Result<Self, GeoError> {
        if !lat.is_finite() || !(-90.0..=90.0).contains(&lat) {
            return Err(GeoError::Latitude);
        }
        if !lon.is_finite() || !(-180.0..=180.0).contains(&lon) {
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

    pub fn bounding_box(&self) -> BoundingBox {
        let radius = f64::from(self.radius_m);
        let dlat = radius / METRES_PER_DEGREE_LAT;
        // Longitude degrees shrink towards the poles; near them the box spans every longitude.
        let cos_lat = self.centre.lat.to_radians().cos();
        let dlon = if cos_lat < 1e-6 { 180.0 } else { (radius / (METRES_PER_DEGREE_LAT * cos_lat)).min(180.0) };
        BoundingBox {
            min_lat: (self.centre.lat - dlat).max(-90.0),
            max_lat: (self.centre.lat + dlat).min(90.0),
            min_lon: self.centre.lon - dlon,
            max_lon: self.centre.lon + dlon,
        }
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
