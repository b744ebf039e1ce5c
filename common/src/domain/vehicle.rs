//! What a vehicle is and reports: its type (GBFS `vehicle_types`), its battery, and the
//! battery rules an operator sets.

use super::geo::Coordinates;
use super::ids::VehicleTypeId;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use std::sync::LazyLock;

/// GBFS `form_factor` values a Kickboard fleet has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FormFactor {
    ScooterStanding,
}

/// GBFS `propulsion_type` values a Kickboard fleet has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Propulsion {
    Electric,
}

/// A kind of vehicle in the fleet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VehicleType {
    pub vehicle_type_id: VehicleTypeId,
    pub name: String,
    pub form_factor: FormFactor,
    pub propulsion: Propulsion,
    /// How far a full battery goes.
    pub max_range_meters: u32,
}

/// The vehicle types of the fleet; the first is a new board's unless another is asked for.
/// Fixed in code like the plans: a new type is a reviewed change. Built once: every board
/// shown (the feed shows thousands) looks its type up.
pub fn vehicle_types() -> &'static [VehicleType] {
    static CATALOGUE: LazyLock<Vec<VehicleType>> = LazyLock::new(|| {
        let kind = |id: &str, name: &str, max_range_meters| VehicleType {
            vehicle_type_id: VehicleTypeId::try_from(id).expect("catalogue ids are valid"),
            name: name.to_owned(),
            form_factor: FormFactor::ScooterStanding,
            propulsion: Propulsion::Electric,
            max_range_meters,
        };
        vec![
            kind("kickboard-standard", "Kickboard Standard", 25_000),
            kind("kickboard-long-range", "Kickboard Long Range", 45_000),
        ]
    });
    &CATALOGUE
}

pub fn find_vehicle_type(id: &VehicleTypeId) -> Option<&'static VehicleType> {
    vehicle_types().iter().find(|kind| &kind.vehicle_type_id == id)
}

/// The type of a board registered without one (and of boards stored before types existed).
pub fn default_vehicle_type_id() -> VehicleTypeId {
    vehicle_types()[0].vehicle_type_id.clone()
}

/// A battery's charge in whole percent, 0 to 100.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub struct BatteryPct(u8);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must be a whole number from 0 to 100")]
pub struct BatteryError;

impl TryFrom<u8> for BatteryPct {
    type Error = BatteryError;
    fn try_from(value: u8) -> Result<Self, BatteryError> {
        Self::new(value).ok_or(BatteryError)
    }
}

super::validated_schema!(BatteryPct, {"type": "integer", "minimum": 0, "maximum": 100});

impl From<BatteryPct> for u8 {
    fn from(battery: BatteryPct) -> u8 {
        battery.0
    }
}

impl BatteryPct {
    pub const FULL: BatteryPct = BatteryPct(100);

    /// The charge, when `value` is a percentage.
    pub const fn new(value: u8) -> Option<Self> {
        if value > 100 { None } else { Some(Self(value)) }
    }

    pub fn get(self) -> u8 {
        self.0
    }

    /// How far a vehicle of `kind` goes on this charge, in whole metres.
    pub fn range_meters(self, kind: &VehicleType) -> u32 {
        let metres = u64::from(kind.max_range_meters) * u64::from(self.0) / 100;
        u32::try_from(metres).unwrap_or(u32::MAX)
    }
}

impl Default for BatteryPct {
    /// Boards stored before batteries were reported count as charged.
    fn default() -> Self {
        BatteryPct::FULL
    }
}

/// The operator's battery rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatteryRules {
    /// Below this a board is not rented, nor listed to customers.
    pub min_to_rent: BatteryPct,
    /// Going below this alerts the crew, once per crossing.
    pub low: BatteryPct,
}

impl Default for BatteryRules {
    fn default() -> Self {
        Self { min_to_rent: BatteryPct(15), low: BatteryPct(20) }
    }
}

impl BatteryRules {
    /// Whether going from `before` to `after` crosses below the low mark.
    pub fn crossed_low(&self, before: BatteryPct, after: BatteryPct) -> bool {
        before >= self.low && after < self.low
    }
}

/// How far ahead of the server's clock a vehicle's clock may run.
pub const MAX_CLOCK_AHEAD: Duration = Duration::minutes(5);

/// One report from a vehicle: where it is and how charged, at a time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Telemetry {
    pub location: Coordinates,
    pub battery: BatteryPct,
    pub reported_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must not be more than 5 minutes ahead of the server's clock")]
pub struct FutureReport;

impl Telemetry {
    /// A report; its time is the vehicle's when given (never far in the future), else `now`.
    pub fn new(
        location: Coordinates,
        battery: BatteryPct,
        reported_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<Self, FutureReport> {
        let reported_at = reported_at.unwrap_or(now);
        if reported_at > now + MAX_CLOCK_AHEAD {
            return Err(FutureReport);
        }
        Ok(Self { location, battery, reported_at })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_scales_with_battery() {
        let standard = &vehicle_types()[0];
        assert_eq!(BatteryPct::FULL.range_meters(standard), 25_000);
        assert_eq!(BatteryPct(37).range_meters(standard), 9_250);
        assert_eq!(BatteryPct(0).range_meters(standard), 0);
    }

    #[test]
    fn battery_is_a_percentage() {
        assert!(BatteryPct::try_from(101).is_err());
        assert!(serde_json::from_str::<BatteryPct>("50.5").is_err());
        assert!(serde_json::from_str::<BatteryPct>("-1").is_err());
        assert_eq!(serde_json::from_str::<BatteryPct>("100").unwrap(), BatteryPct::FULL);
    }

    #[test]
    fn only_a_fall_below_the_mark_is_a_crossing() {
        let rules = BatteryRules::default();
        let pct = |value| BatteryPct::try_from(value).unwrap();
        assert!(rules.crossed_low(pct(20), pct(19)));
        assert!(!rules.crossed_low(pct(19), pct(10)), "already low");
        assert!(!rules.crossed_low(pct(50), pct(20)));
    }

    #[test]
    fn reports_from_the_future_are_refused() {
        let now = Utc::now();
        let here = Coordinates::new(37.5, 127.0).unwrap();
        assert!(Telemetry::new(here, BatteryPct::FULL, Some(now + Duration::minutes(6)), now).is_err());
        assert_eq!(Telemetry::new(here, BatteryPct::FULL, None, now).unwrap().reported_at, now);
    }
}
