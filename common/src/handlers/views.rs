//! The JSON shapes of DESIGN.md §8, built from domain records.

use crate::domain::geo::Coordinates;
use crate::domain::kickboard::{Kickboard, KickboardStatus};
use crate::domain::pass::{Pass, PassStatus};
use crate::domain::plan::Won;
use crate::domain::rental::{Rental, RentalState, RentalStatus};
use crate::ports::BalanceRecord;
use chrono::{DateTime, Utc};
use serde::Serialize;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PassView {
    pass_id: String,
    plan_id: String,
    status: PassStatus,
    minutes_total: u32,
    minutes_left: u32,
    minutes_used: u32,
    overage_minutes: u32,
    price_won: Won,
    purchased_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    payment_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    paid_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expires_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    open_rental_id: Option<String>,
}

impl PassView {
    pub fn new(pass: &Pass, now: DateTime<Utc>) -> Self {
        let payment = pass.payment();
        Self {
            pass_id: pass.pass_id.to_string(),
            plan_id: pass.plan_id.to_string(),
            status: pass.status_at(now),
            minutes_total: pass.minutes_total,
            minutes_left: pass.minutes_left,
            minutes_used: pass.minutes_used,
            overage_minutes: pass.overage_minutes,
            price_won: pass.price_won,
            purchased_at: pass.purchased_at,
            payment_id: payment.map(|payment| payment.payment_id.to_string()),
            paid_at: payment.map(|payment| payment.paid_at),
            expires_at: payment.map(|payment| payment.expires_at),
            open_rental_id: pass.open_rental_id().map(ToString::to_string),
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BalanceView {
    pass_id: String,
    status: PassStatus,
    minutes_total: u32,
    minutes_left: u32,
    minutes_used: u32,
    overage_minutes: u32,
    version: u64,
    updated_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expires_at: Option<DateTime<Utc>>,
}

impl BalanceView {
    pub fn new(record: &BalanceRecord, now: DateTime<Utc>) -> Self {
        let balance = &record.balance;
        Self {
            pass_id: balance.pass_id.to_string(),
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

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KickboardView {
    kickboard_id: String,
    status: KickboardStatus,
    lat: f64,
    lon: f64,
    model: String,
    vehicle_type_id: String,
    battery_pct: u8,
    range_meters: u32,
    last_reported_at: DateTime<Utc>,
}

impl KickboardView {
    pub fn new(board: &Kickboard) -> Self {
        Self {
            kickboard_id: board.kickboard_id.to_string(),
            status: board.status(),
            lat: board.location.lat(),
            lon: board.location.lon(),
            model: board.model.as_str().to_owned(),
            vehicle_type_id: board.vehicle_type_id.to_string(),
            battery_pct: board.battery_pct.get(),
            range_meters: board.range_meters(),
            last_reported_at: board.last_reported_at(),
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RentalView {
    rental_id: String,
    pass_id: String,
    kickboard_id: String,
    status: RentalStatus,
    started_at: DateTime<Utc>,
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
            rental_id: rental.rental_id.to_string(),
            pass_id: rental.pass_id.to_string(),
            kickboard_id: rental.kickboard_id.to_string(),
            status: rental.status(),
            started_at: rental.started_at,
            ended_at: settlement.map(|s| s.ended_at),
            minutes_billed: settlement.map(|s| s.minutes_billed),
            overage_minutes: settlement.map(|s| s.overage_minutes),
            minutes_left: settlement.map(|s| s.minutes_left),
            end_location: settlement.and_then(|s| s.end_location),
        }
    }
}
