//! MDS 2.0 reports: each month's trips and riders, counted per special group, geography and
//! vehicle type, as an agency downloads them (`/reports/YYYY-MM.csv`). Months are the city's:
//! a trip counts in the month it started in the city's time zone.

use super::mds::{HOUR_SETTLES_AFTER, MdsVehicleType};
use chrono::{DateTime, Datelike, LocalResult, Months, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use std::fmt::Write;
use uuid::Uuid;

/// The time zone a city's months and rules are read in unless configured otherwise.
pub const DEFAULT_CITY_TIME_ZONE: Tz = chrono_tz::Asia::Seoul;

/// A calendar month in the city's time zone, as reports are named: `YYYY-MM`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CityMonth {
    first_day: NaiveDate,
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("not a month: name the report YYYY-MM.csv (for example 2026-11.csv)")]
pub struct NotAMonth;

impl CityMonth {
    /// The month `at` falls in, in `zone`.
    pub fn of(at: DateTime<Utc>, zone: Tz) -> Self {
        let day = at.with_timezone(&zone).date_naive();
        Self { first_day: day.with_day(1).expect("every month has a first day") }
    }

    /// Reads `YYYY-MM` exactly.
    pub fn parse(text: &str) -> Result<Self, NotAMonth> {
        let (year, month) = text.split_once('-').ok_or(NotAMonth)?;
        let digits = |part: &str, len: usize| part.len() == len && part.bytes().all(|b| b.is_ascii_digit());
        if !(digits(year, 4) && digits(month, 2)) {
            return Err(NotAMonth);
        }
        let (year, month) = (year.parse().map_err(|_| NotAMonth)?, month.parse().map_err(|_| NotAMonth)?);
        NaiveDate::from_ymd_opt(year, month, 1).map(|first_day| Self { first_day }).ok_or(NotAMonth)
    }

    /// The month a report's file name (`YYYY-MM.csv`) names.
    pub fn from_report_name(name: &str) -> Result<Self, NotAMonth> {
        Self::parse(name.strip_suffix(".csv").ok_or(NotAMonth)?)
    }

    pub fn first_day(&self) -> NaiveDate {
        self.first_day
    }

    /// When the month begins in `zone`: its first midnight (the first instant of the day where
    /// a clock change skips midnight).
    pub fn start(&self, zone: Tz) -> DateTime<Utc> {
        midnight(self.first_day, zone)
    }

    /// The first instant after the month.
    pub fn end(&self, zone: Tz) -> DateTime<Utc> {
        midnight(self.first_day + Months::new(1), zone)
    }

    /// Whether every trip that started in the month has reached the view by `now`.
    pub fn is_settled(&self, now: DateTime<Utc>, zone: Tz) -> bool {
        now >= self.end(zone) + HOUR_SETTLES_AFTER
    }
}

fn midnight(day: NaiveDate, zone: Tz) -> DateTime<Utc> {
    let local = day.and_hms_opt(0, 0, 0).expect("midnight is a time");
    match zone.from_local_datetime(&local) {
        LocalResult::Single(at) | LocalResult::Ambiguous(at, _) => at.with_timezone(&Utc),
        // A clock change skipped midnight (Samoa once skipped a whole day): the day begins at
        // its first hour that exists.
        LocalResult::None => (1..=24)
            .find_map(|hour| zone.from_local_datetime(&(local + chrono::Duration::hours(hour))).earliest())
            .map(|at| at.with_timezone(&Utc))
            .unwrap_or_else(|| Utc.from_utc_datetime(&local)),
    }
}

impl std::fmt::Display for CityMonth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.first_day.format("%Y-%m"))
    }
}

impl TryFrom<String> for CityMonth {
    type Error = NotAMonth;
    fn try_from(text: String) -> Result<Self, NotAMonth> {
        Self::parse(&text)
    }
}

impl From<CityMonth> for String {
    fn from(month: CityMonth) -> String {
        month.to_string()
    }
}

/// A trip as the reports count it: the month it started in, who rode (an id derived for the
/// cities, never the customer's own), on what, and where it began (the geography it counts in,
/// once the city publishes geographies).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportedTrip {
    pub trip_id: Uuid,
    pub month: CityMonth,
    pub rider_id: Uuid,
    pub vehicle_type: MdsVehicleType,
    /// Milliseconds since the epoch.
    pub start_time: i64,
    pub start_location: super::mds::Gps,
}

/// The groups of riders MDS reports count (MDS 2.0 "Special Group Type").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SpecialGroup {
    AllRiders,
    /// Rides with a low-income discount: Kickboard offers none, so its rows count nothing.
    LowIncome,
    /// Rides on boards built for riders with disabilities: Kickboard's fleet has none.
    AdaptiveScooter,
}

impl SpecialGroup {
    pub const ALL: [SpecialGroup; 3] =
        [SpecialGroup::AllRiders, SpecialGroup::LowIncome, SpecialGroup::AdaptiveScooter];

    fn name(self) -> &'static str {
        match self {
            SpecialGroup::AllRiders => "all_riders",
            SpecialGroup::LowIncome => "low_income",
            SpecialGroup::AdaptiveScooter => "adaptive_scooter",
        }
    }

    fn includes(self, _trip: &ReportedTrip) -> bool {
        match self {
            SpecialGroup::AllRiders => true,
            SpecialGroup::LowIncome | SpecialGroup::AdaptiveScooter => false,
        }
    }
}

/// A count under this is reported as `-1` (MDS's k-anonymity, k = 10): a small count could
/// name a rider. Zero is reported as `-1` too.
pub const REDACTED_BELOW: usize = 10;

fn redacted(count: usize) -> i64 {
    if count < REDACTED_BELOW { -1 } else { i64::try_from(count).unwrap_or(i64::MAX) }
}

/// One row of a monthly report.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportRow {
    pub provider_id: Uuid,
    pub month: CityMonth,
    pub special_group: SpecialGroup,
    /// `None`: the whole operating area (no geographies published).
    pub geography_id: Option<Uuid>,
    pub vehicle_type: MdsVehicleType,
    /// `-1` under [`REDACTED_BELOW`].
    pub trip_count: i64,
    pub rider_count: i64,
}

/// A month's report: every special group, for the whole operating area (no geographies are
/// published yet) and the fleet's one vehicle type, each count redacted under ten.
pub fn monthly_report(provider_id: Uuid, month: CityMonth, trips: &[ReportedTrip]) -> Vec<ReportRow> {
    let vehicle_type = MdsVehicleType::ScooterStanding;
    SpecialGroup::ALL
        .into_iter()
        .map(|group| {
            let counted: Vec<&ReportedTrip> = trips
                .iter()
                .filter(|trip| trip.month == month && trip.vehicle_type == vehicle_type && group.includes(trip))
                .collect();
            let mut trip_ids: Vec<Uuid> = counted.iter().map(|trip| trip.trip_id).collect();
            trip_ids.sort_unstable();
            trip_ids.dedup();
            let mut riders: Vec<Uuid> = counted.iter().map(|trip| trip.rider_id).collect();
            riders.sort_unstable();
            riders.dedup();
            ReportRow {
                provider_id,
                month,
                special_group: group,
                geography_id: None,
                vehicle_type,
                trip_count: redacted(trip_ids.len()),
                rider_count: redacted(riders.len()),
            }
        })
        .collect()
}

/// The columns every report starts with, in MDS's order.
pub const REPORT_HEADER: &str =
    "provider_id,start_date,duration,special_group_type,geography_id,vehicle_type,trip_count,rider_count";

/// The report as its CSV file: the header, then a row per line. No field needs quoting (ids,
/// dates, names and numbers); the whole operating area's `geography_id` is an empty field.
pub fn report_csv(rows: &[ReportRow]) -> String {
    let mut csv = format!("{REPORT_HEADER}\n");
    for row in rows {
        let vehicle_type = serde_json::to_value(row.vehicle_type).expect("a vehicle type serializes");
        let _ = writeln!(
            csv,
            "{},{},P1M,{},{},{},{},{}",
            row.provider_id,
            row.month.first_day().format("%Y-%m-%d"),
            row.special_group.name(),
            row.geography_id.map(|id| id.to_string()).unwrap_or_default(),
            vehicle_type.as_str().unwrap_or_default(),
            row.trip_count,
            row.rider_count,
        );
    }
    csv
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::mds::Gps;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    #[test]
    fn a_month_is_the_citys_and_is_read_exactly() {
        let seoul = chrono_tz::Asia::Seoul;
        let month = CityMonth::parse("2026-12").unwrap();
        assert_eq!(month.start(seoul), at("2026-11-30T15:00:00Z"), "midnight in Seoul is 15:00 UTC");
        assert_eq!(month.end(seoul), at("2026-12-31T15:00:00Z"));
        assert_eq!(CityMonth::of(at("2026-11-30T15:00:00Z"), seoul), month, "already December in Seoul");
        assert_eq!(CityMonth::of(at("2026-11-30T14:59:59Z"), seoul).to_string(), "2026-11");
        assert_eq!(CityMonth::of(at("2026-11-30T15:00:00Z"), chrono_tz::UTC).to_string(), "2026-11");
        assert!(!month.is_settled(at("2026-12-31T15:04:59Z"), seoul));
        assert!(month.is_settled(at("2026-12-31T15:05:00Z"), seoul));
        assert_eq!(CityMonth::from_report_name("2026-12.csv"), Ok(month));
        for bad in ["2026-13.csv", "2026-1.csv", "2026-12", "2026-12.json", "26-12.csv", "2026-00.csv", ".csv"] {
            assert_eq!(CityMonth::from_report_name(bad), Err(NotAMonth), "{bad}");
        }
        // A zone whose clocks change: New York's November has 30 days and 721 hours.
        let new_york = chrono_tz::America::New_York;
        let november = CityMonth::parse("2026-11").unwrap();
        assert_eq!((november.end(new_york) - november.start(new_york)).num_hours(), 30 * 24 + 1);
    }

    fn trip(n: u128, rider: u128, month: &str) -> ReportedTrip {
        ReportedTrip {
            trip_id: Uuid::from_u128(n),
            month: CityMonth::parse(month).unwrap(),
            rider_id: Uuid::from_u128(1_000 + rider),
            vehicle_type: MdsVehicleType::ScooterStanding,
            start_time: 0,
            start_location: Gps { lat: 37.5665, lng: 126.978 },
        }
    }

    #[test]
    fn counts_under_ten_are_redacted_and_a_trip_counts_once() {
        let provider = Uuid::from_u128(7);
        let month = CityMonth::parse("2026-11").unwrap();
        // 12 trips by 4 riders in November, the same trip twice, and one in October.
        let mut trips: Vec<_> = (0..12).map(|n| trip(n, n % 4, "2026-11")).collect();
        trips.push(trip(0, 0, "2026-11"));
        trips.push(trip(99, 9, "2026-10"));
        let rows = monthly_report(provider, month, &trips);
        let all = &rows[0];
        assert_eq!((all.special_group, all.trip_count, all.rider_count), (SpecialGroup::AllRiders, 12, -1));
        assert!(rows[1..].iter().all(|row| (row.trip_count, row.rider_count) == (-1, -1)), "none: -1, not 0");
        let csv = report_csv(&rows);
        let mut lines = csv.lines();
        assert_eq!(lines.next(), Some(REPORT_HEADER));
        assert_eq!(
            lines.next(),
            Some("00000000-0000-0000-0000-000000000007,2026-11-01,P1M,all_riders,,scooter_standing,12,-1")
        );
        assert_eq!(lines.count(), 2);
    }
}
