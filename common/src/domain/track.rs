//! Where a rented board went during its ride, by its reports: the samples the cities get as
//! the trip's telemetry (MDS: "trips must include all additional GPS samples collected").

use super::geo::Coordinates;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One reported place and time of a ride.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrackPoint {
    pub at: DateTime<Utc>,
    pub location: Coordinates,
}

/// The most points a ride keeps: six hours of reports every 30 s (about 23 KB on the board's
/// item). A longer ride keeps every other point from there on, at half the resolution, so a
/// board lost on a ride cannot grow its item without bound.
pub const MAX_TRACK_POINTS: usize = 720;

/// A ride's track, oldest point first. Kept on the board while it is ridden (in the write each
/// report makes anyway) and carried by the return's event; stored as one compact string,
/// `<unix seconds>,<lat>,<lon>;…` (about 32 bytes a point), not a list of maps, because it is
/// written again with every report.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RideTrack(Vec<TrackPoint>);

impl RideTrack {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn points(&self) -> &[TrackPoint] {
        &self.0
    }

    /// The track with `point` added; when full, every other point is dropped first (the
    /// first and the newest always stay).
    pub fn with(&self, point: TrackPoint) -> RideTrack {
        let mut points = self.0.clone();
        if points.len() >= MAX_TRACK_POINTS {
            points = points.iter().step_by(2).copied().collect();
        }
        points.push(point);
        RideTrack(points)
    }
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("not a ride track: points are <unix seconds>,<lat>,<lon> separated by ';'")]
pub struct NotATrack;

impl TryFrom<String> for RideTrack {
    type Error = NotATrack;
    fn try_from(text: String) -> Result<Self, NotATrack> {
        let point = |part: &str| -> Option<TrackPoint> {
            let mut fields = part.split(',');
            let at = DateTime::from_timestamp(fields.next()?.parse().ok()?, 0)?;
            let (lat, lon) = (fields.next()?.parse().ok()?, fields.next()?.parse().ok()?);
            let location = Coordinates::new(lat, lon).ok()?;
            fields.next().is_none().then_some(TrackPoint { at, location })
        };
        let points = text.split(';').filter(|part| !part.is_empty()).map(point).collect::<Option<_>>();
        points.map(RideTrack).ok_or(NotATrack)
    }
}

impl From<RideTrack> for String {
    fn from(track: RideTrack) -> String {
        let points: Vec<String> = track
            .0
            .iter()
            .map(|point| format!("{},{:.6},{:.6}", point.at.timestamp(), point.location.lat(), point.location.lon()))
            .collect();
        points.join(";")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(second: i64, lat: f64) -> TrackPoint {
        TrackPoint {
            at: DateTime::from_timestamp(1_795_598_000 + second, 0).unwrap(),
            location: Coordinates::new(lat, 126.978).unwrap(),
        }
    }

    #[test]
    fn a_track_is_kept_as_one_compact_string_and_read_back() {
        let track = RideTrack::default().with(point(0, 37.5665)).with(point(30, 37.56712));
        let stored = String::from(track.clone());
        assert_eq!(stored, "1795598000,37.566500,126.978000;1795598030,37.567120,126.978000");
        assert_eq!(RideTrack::try_from(stored), Ok(track));
        assert_eq!(RideTrack::try_from(String::new()), Ok(RideTrack::default()));
        for bad in ["1795598000,37.5", "x,37.5,126.9", "1795598000,91,126.9", "1795598000,37.5,126.9,4"] {
            assert_eq!(RideTrack::try_from(bad.to_owned()), Err(NotATrack), "{bad}");
        }
    }

    #[test]
    fn a_full_track_halves_its_resolution_and_keeps_its_ends() {
        let mut track = RideTrack::default();
        for second in 0..MAX_TRACK_POINTS as i64 {
            track = track.with(point(second * 30, 37.5665));
        }
        assert_eq!(track.points().len(), MAX_TRACK_POINTS);
        let last = point(MAX_TRACK_POINTS as i64 * 30, 37.57);
        let thinned = track.with(last);
        assert_eq!(thinned.points().len(), MAX_TRACK_POINTS / 2 + 1);
        assert_eq!((thinned.points()[0], *thinned.points().last().unwrap()), (track.points()[0], last));
    }
}
