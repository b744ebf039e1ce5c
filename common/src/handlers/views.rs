//! The JSON shapes of DESIGN.md §8, built from domain records.

use crate::domain::geo::{Coordinates, MAX_LAT, MAX_LON};
use crate::domain::ids::{KickboardId, PassId, PaymentId, PlanId, RentalId, VehicleTypeId};
use crate::domain::kickboard::{Kickboard, KickboardStatus, MaintenanceReason, Model};
use crate::domain::pass::{Pass, PassStatus};
use crate::domain::plan::Won;
use crate::domain::rental::{Rental, RentalState, RentalStatus};
use crate::domain::vehicle::BatteryPct;
use crate::ports::BalanceRecord;
use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::Serialize;

#[derive(Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "Pass", deny_unknown_fields)]
pub struct PassView {
    pass_id: PassId,
    plan_id: PlanId,
    status: PassStatus,
    minutes_total: u32,
    minutes_left: u32,
    minutes_used: u32,
    overage_minutes: u32,
    price_won: Won,
    purchased_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    payment_id: Option<PaymentId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    paid_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expires_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    open_rental_id: Option<RentalId>,
}

impl PassView {
    pub fn new(pass: &Pass, now: DateTime<Utc>) -> Self {
        let payment = pass.payment();
        Self {
            pass_id: pass.pass_id.clone(),
            plan_id: pass.plan_id.clone(),
            status: pass.status_at(now),
            minutes_total: pass.minutes_total,
            minutes_left: pass.minutes_left,
            minutes_used: pass.minutes_used,
            overage_minutes: pass.overage_minutes,
            price_won: pass.price_won,
            purchased_at: pass.purchased_at,
            payment_id: payment.map(|payment| payment.payment_id.clone()),
            paid_at: payment.map(|payment| payment.paid_at),
            expires_at: payment.map(|payment| payment.expires_at),
            open_rental_id: pass.open_rental_id().cloned(),
        }
    }
}

#[derive(Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "Balance", deny_unknown_fields)]
pub struct BalanceView {
    pass_id: PassId,
    status: PassStatus,
    minutes_total: u32,
    minutes_left: u32,
    minutes_used: u32,
    overage_minutes: u32,
    /// Counts the events applied, from 1.
    #[schemars(range(min = 1))]
    version: u64,
    updated_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expires_at: Option<DateTime<Utc>>,
}

impl BalanceView {
    pub fn new(record: &BalanceRecord, now: DateTime<Utc>) -> Self {
        let balance = &record.balance;
        Self {
            pass_id: balance.pass_id.clone(),
            status: balance.status_at(now),
            minutes_total: balance.minutes_total,
            minutes_left: balance.minutes_left,
            minutes_used: balance.minutes_used,
            overage_minutes: balance.overage_minutes,
            version: balance.version,
            updated_at: record.updated_at,
            expires_at: balance.expires_at,
        }
    }
}

#[derive(Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "Kickboard", deny_unknown_fields)]
pub struct KickboardView {
    kickboard_id: KickboardId,
    status: KickboardStatus,
    #[schemars(range(min = -MAX_LAT, max = MAX_LAT))]
    lat: f64,
    #[schemars(range(min = -MAX_LON, max = MAX_LON))]
    lon: f64,
    model: Model,
    vehicle_type_id: VehicleTypeId,
    battery_pct: BatteryPct,
    range_meters: u32,
    /// Why the service took it out of service, when it did (a crew's maintenance has none).
    #[serde(skip_serializing_if = "Option::is_none")]
    maintenance_reason: Option<MaintenanceReason>,
    last_reported_at: DateTime<Utc>,
}

impl KickboardView {
    pub fn new(board: &Kickboard) -> Self {
        Self {
            kickboard_id: board.kickboard_id.clone(),
            status: board.status(),
            lat: board.location.lat(),
            lon: board.location.lon(),
            model: board.model.clone(),
            vehicle_type_id: board.vehicle_type_id.clone(),
            battery_pct: board.battery_pct,
            range_meters: board.range_meters(),
            maintenance_reason: board.maintenance_reason(),
            last_reported_at: board.last_reported_at(),
        }
    }
}

#[derive(Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "Rental", deny_unknown_fields)]
pub struct RentalView {
    rental_id: RentalId,
    pass_id: PassId,
    kickboard_id: KickboardId,
    status: RentalStatus,
    started_at: DateTime<Utc>,
    /// When the kickboard acknowledged its unlock, where this service unlocks kickboards.
    #[serde(skip_serializing_if = "Option::is_none")]
    unlocked_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ended_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    minutes_billed: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    overage_minutes: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    minutes_left: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    end_location: Option<Coordinates>,
}

impl RentalView {
    pub fn new(rental: &Rental) -> Self {
        let settlement = match &rental.state {
            RentalState::Open => None,
            RentalState::Closed(settlement) => Some(settlement),
        };
        Self {
            rental_id: rental.rental_id.clone(),
            pass_id: rental.pass_id.clone(),
            kickboard_id: rental.kickboard_id.clone(),
            status: rental.status(),
            started_at: rental.started_at,
            unlocked_at: rental.unlocked_at,
            ended_at: settlement.map(|s| s.ended_at),
            minutes_billed: settlement.map(|s| s.minutes_billed),
            overage_minutes: settlement.map(|s| s.overage_minutes),
            minutes_left: settlement.map(|s| s.minutes_left),
            end_location: settlement.and_then(|s| s.end_location),
        }
    }
}
