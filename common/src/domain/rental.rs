//! Renting and returning: the rules that span a pass, a board and a rental.

use super::error::RuleViolation;
use super::events::{DomainEvent, EventEnvelope};
use super::geo::Coordinates;
use super::ids::{CustomerId, KickboardId, PassId, PublicVehicleId, RentalId};
use super::kickboard::{Kickboard, KickboardState};
use super::pass::{Pass, PassState};
use super::track::RideTrack;
use super::vehicle::{BatteryPct, BatteryRules};
use super::zones::ZoneMap;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RentalStatus {
    Open,
    Closed,
}

/// What a return settled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Settlement {
    pub ended_at: DateTime<Utc>,
    pub minutes_billed: u32,
    pub overage_minutes: u32,
    /// Minutes left on the pass right after this return.
    pub minutes_left: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_location: Option<Coordinates>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RentalState {
    Open,
    Closed(Settlement),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Rental {
    pub rental_id: RentalId,
    pub pass_id: PassId,
    pub kickboard_id: KickboardId,
    pub customer_id: CustomerId,
    pub started_at: DateTime<Utc>,
    /// When the board acknowledged its unlock; `None` where no vehicle link unlocks boards
    /// (and for rentals stored before one did).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unlocked_at: Option<DateTime<Utc>>,
    /// While the rent waits for the board's acknowledgement: the latest it can still be
    /// waiting. A rental held past it was left by a rent that died (its function timed out,
    /// its process stopped), and the next rent that meets it undoes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub held_until: Option<DateTime<Utc>>,
    /// Where the board stood when the ride began; `None` for rentals stored before this was
    /// kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_location: Option<Coordinates>,
    #[serde(flatten)]
    pub state: RentalState,
}

impl Rental {
    /// A rental starting now, and its `KickboardRented` event. Only [`start_rental`] decides
    /// whether it may start; stores that check the rules as write conditions call this too.
    pub fn open(
        rental_id: RentalId,
        pass_id: PassId,
        kickboard_id: KickboardId,
        customer: CustomerId,
        start_location: Option<Coordinates>,
        now: DateTime<Utc>,
    ) -> (Rental, EventEnvelope) {
        let rental = Rental {
            rental_id,
            pass_id,
            kickboard_id,
            customer_id: customer,
            started_at: now,
            unlocked_at: None,
            held_until: None,
            start_location,
            state: RentalState::Open,
        };
        let event = rental.rented_event();
        (rental, event)
    }

    /// `KickboardRented`: the ride has begun.
    fn rented_event(&self) -> EventEnvelope {
        EventEnvelope::new(
            self.started_at,
            self.rental_id.to_string(),
            RENTED_VERSION,
            Some(self.customer_id.clone()),
            DomainEvent::KickboardRented {
                rental_id: self.rental_id.clone(),
                pass_id: self.pass_id.clone(),
                kickboard_id: self.kickboard_id.clone(),
                started_at: self.started_at,
                location: self.start_location,
            },
        )
    }

    /// The rental once its board acknowledged the unlock `at`, and its `KickboardRented`
    /// event: where boards are unlocked, the ride begins only then.
    pub fn unlocked(&self, at: DateTime<Utc>) -> Result<(Rental, EventEnvelope), RuleViolation> {
        if !self.is_held() {
            return Err(RuleViolation::HoldReleased);
        }
        Ok((Rental { unlocked_at: Some(at), held_until: None, ..self.clone() }, self.rented_event()))
    }

    /// The rental taken but not begun: it waits for its board's unlock until `until` at most.
    pub fn held(self, until: DateTime<Utc>) -> Rental {
        Rental { held_until: Some(until), ..self }
    }

    /// Whether the rental waits for its board's unlock.
    pub fn is_held(&self) -> bool {
        self.state == RentalState::Open && self.held_until.is_some()
    }

    /// Whether the rental is held past the time its rent could still be waiting.
    pub fn is_held_past(&self, now: DateTime<Utc>) -> bool {
        self.is_held() && self.held_until.is_some_and(|until| now > until)
    }

    pub fn status(&self) -> RentalStatus {
        match self.state {
            RentalState::Open => RentalStatus::Open,
            RentalState::Closed(_) => RentalStatus::Closed,
        }
    }
}

/// The operator's rules a rent or a return is held to.
#[derive(Debug, Clone, Copy)]
pub struct RideRules<'a> {
    pub battery: &'a BatteryRules,
    pub zones: &'a ZoneMap,
}

/// Everything a rent changes, to be written in one transaction.
#[derive(Debug, Clone, PartialEq)]
pub struct RentalStarted {
    pub pass: Pass,
    pub board: Kickboard,
    pub rental: Rental,
    pub event: EventEnvelope,
}

/// Everything a return changes, to be written in one transaction.
#[derive(Debug, Clone, PartialEq)]
pub struct RentalFinished {
    pub pass: Pass,
    pub rental: Rental,
    /// The board, free again where the ride ended, under a new public id.
    pub board: Kickboard,
    pub event: EventEnvelope,
    /// `KickboardBatteryLow` when the battery the vehicle reported crossed the low mark.
    pub battery_low: Option<EventEnvelope>,
}

/// What the vehicle says when it is returned.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ReturnReport {
    pub location: Option<Coordinates>,
    pub battery: Option<BatteryPct>,
}

/// The board once this rental lets go of it: parked where the ride ended (or where it last
/// reported), under a new public id so the ride cannot be followed in the public feed.
fn release(
    board: &Kickboard,
    rental_id: &RentalId,
    report: &ReturnReport,
    rules: &BatteryRules,
    now: DateTime<Utc>,
) -> Result<(Kickboard, Option<EventEnvelope>), RuleViolation> {
    if board.state != (KickboardState::Rented { rental_id: rental_id.clone() }) {
        return Err(RuleViolation::Inconsistent("an open rental's board is not rented by it"));
    }
    let location = report.location.unwrap_or(board.location);
    let released = Kickboard {
        location,
        parked_at: Some(location),
        rented_at: None,
        silence_alerted: false,
        ride_distance_m: 0,
        ride_track: RideTrack::default(),
        state: KickboardState::Available,
        public_id: PublicVehicleId::random(),
        revision: board.revision + 1,
        ..board.clone()
    };
    Ok(released.with_returned_battery(report.battery, rules, now))
}

/// Rental events: 1 when it starts, 2 when it ends or is undone.
const RENTED_VERSION: u64 = 1;
const RETURNED_VERSION: u64 = 2;

/// Everything undoing a rent changes, to be written in one transaction.
#[derive(Debug, Clone, PartialEq)]
pub struct RentalUndone {
    /// The pass as before the rent: free, its minutes untouched.
    pub pass: Pass,
    /// The board available again, one more unlock missed.
    pub board: Kickboard,
    /// `RentalUndone`.
    pub event: EventEnvelope,
    /// `KickboardNotResponding`, when this miss is the one that tells the crew.
    pub not_responding: Option<EventEnvelope>,
}

/// How many rent unlocks in a row a board may miss before the crew is told (once).
pub const MISSES_BEFORE_ALERT: u32 = 3;

/// Undoes a rent whose board never acknowledged its unlock: the pass and the board as they
/// were, the board's missed unlocks counted.
pub fn undo_rental(
    rental: &Rental,
    pass: &Pass,
    board: &Kickboard,
    now: DateTime<Utc>,
) -> Result<RentalUndone, RuleViolation> {
    if !rental.is_held() {
        return Err(RuleViolation::HoldReleased);
    }
    let PassState::Active { payment, open_rental_id: Some(open) } = &pass.state else {
        return Err(RuleViolation::Inconsistent("an open rental's pass has no open rental"));
    };
    if open != &rental.rental_id {
        return Err(RuleViolation::Inconsistent("an open rental's pass points at another rental"));
    }
    if board.state != (KickboardState::Rented { rental_id: rental.rental_id.clone() }) {
        return Err(RuleViolation::Inconsistent("an open rental's board is not rented by it"));
    }
    let pass = Pass { state: PassState::Active { payment: payment.clone(), open_rental_id: None }, ..pass.clone() };
    let misses = board.unlock_misses.saturating_add(1);
    let board = Kickboard {
        state: KickboardState::Available,
        parked_at: Some(board.location),
        rented_at: None,
        silence_alerted: false,
        ride_distance_m: 0,
        ride_track: RideTrack::default(),
        unlock_misses: misses,
        revision: board.revision + 1,
        ..board.clone()
    };
    let event = EventEnvelope::new(
        now,
        rental.rental_id.to_string(),
        RETURNED_VERSION,
        Some(rental.customer_id.clone()),
        DomainEvent::RentalUndone {
            rental_id: rental.rental_id.clone(),
            pass_id: rental.pass_id.clone(),
            kickboard_id: rental.kickboard_id.clone(),
            location: Some(board.location),
        },
    );
    let not_responding = (misses == MISSES_BEFORE_ALERT).then(|| {
        board.event(
            now,
            DomainEvent::KickboardNotResponding { kickboard_id: board.kickboard_id.clone(), missed_unlocks: misses },
        )
    });
    Ok(RentalUndone { pass, board, event, not_responding })
}

/// Rents `board` with `pass` for `customer`. Someone else's pass reads as not found; the
/// pass is checked before the board, so its refusals win when both are wrong.
pub fn start_rental(
    pass: &Pass,
    board: Option<&Kickboard>,
    customer: &CustomerId,
    rental_id: RentalId,
    rules: &RideRules,
    now: DateTime<Utc>,
) -> Result<RentalStarted, RuleViolation> {
    if &pass.customer_id != customer {
        return Err(RuleViolation::PassNotFound);
    }
    pass.ensure_rentable(now)?;
    let board = board.ok_or(RuleViolation::KickboardNotFound)?;
    board.ensure_rentable(rules.battery)?;
    rules.zones.ensure_start_allowed(&board.location)?;
    let PassState::Active { payment, .. } = &pass.state else {
        return Err(RuleViolation::PassNotActive);
    };
    let (rental, event) = Rental::open(
        rental_id.clone(),
        pass.pass_id.clone(),
        board.kickboard_id.clone(),
        customer.clone(),
        Some(board.location),
        now,
    );
    let pass = Pass {
        state: PassState::Active { payment: payment.clone(), open_rental_id: Some(rental_id.clone()) },
        ..pass.clone()
    };
    let board = Kickboard {
        state: KickboardState::Rented { rental_id },
        revision: board.revision + 1,
        parked_at: None,
        moved_alerted: false,
        rented_at: Some(now),
        silence_alerted: false,
        ride_distance_m: 0,
        ride_track: RideTrack::default(),
        ..board.clone()
    };
    Ok(RentalStarted { pass, board, rental, event })
}

/// Whole minutes billed for a ride: every started minute counts, and at least one.
pub fn minutes_billed(started_at: DateTime<Utc>, ended_at: DateTime<Utc>) -> u32 {
    let millis = (ended_at - started_at).num_milliseconds().max(0);
    let minutes = (millis + 59_999) / 60_000;
    u32::try_from(minutes).unwrap_or(u32::MAX).max(1)
}

/// Returns the rental: bills the minutes, exhausts the pass at zero, and frees the board.
pub fn finish_rental(
    rental: &Rental,
    pass: &Pass,
    board: &Kickboard,
    customer: &CustomerId,
    report: &ReturnReport,
    rules: &RideRules,
    now: DateTime<Utc>,
) -> Result<RentalFinished, RuleViolation> {
    if &rental.customer_id != customer {
        return Err(RuleViolation::RentalNotFound);
    }
    if rental.state != RentalState::Open {
        return Err(RuleViolation::RentalAlreadyReturned);
    }
    let PassState::Active { payment, open_rental_id: Some(open) } = &pass.state else {
        return Err(RuleViolation::Inconsistent("an open rental's pass has no open rental"));
    };
    if open != &rental.rental_id || pass.pass_id != rental.pass_id {
        return Err(RuleViolation::Inconsistent("an open rental's pass points at another rental"));
    }
    // Where the ride ends: where the customer says, else where the vehicle last reported.
    let end = report.location.unwrap_or(board.location);
    rules.zones.ensure_end_allowed(&end)?;

    let billed = minutes_billed(rental.started_at, now);
    let deducted = billed.min(pass.minutes_left);
    let overage = billed - deducted;
    let minutes_left = pass.minutes_left - deducted;
    let state = if minutes_left == 0 {
        PassState::Exhausted { payment: payment.clone() }
    } else {
        PassState::Active { payment: payment.clone(), open_rental_id: None }
    };
    let pass = Pass {
        minutes_left,
        minutes_used: pass.minutes_used.saturating_add(billed),
        overage_minutes: pass.overage_minutes.saturating_add(overage),
        version: pass.version + 1,
        state,
        ..pass.clone()
    };
    // The legs the board reported, and the last one, to where it is left.
    let ridden = board.ride_distance_m.saturating_add(board.location.distance_m(&end).round() as u32);
    let track = board.ride_track.clone();
    let (board, battery_low) = release(board, &rental.rental_id, report, rules.battery, now)?;
    let settlement = Settlement {
        ended_at: now,
        minutes_billed: billed,
        overage_minutes: overage,
        minutes_left,
        end_location: report.location,
    };
    let rental = Rental { state: RentalState::Closed(settlement.clone()), ..rental.clone() };
    let event = EventEnvelope::new(
        now,
        rental.rental_id.to_string(),
        RETURNED_VERSION,
        Some(customer.clone()),
        DomainEvent::KickboardReturned {
            rental_id: rental.rental_id.clone(),
            pass_id: rental.pass_id.clone(),
            kickboard_id: rental.kickboard_id.clone(),
            started_at: rental.started_at,
            ended_at: now,
            minutes_billed: billed,
            overage_minutes: overage,
            balance: pass.balance(),
            start_location: rental.start_location,
            end_location: Some(board.location),
            ridden_m: Some(ridden),
            track,
        },
    );
    Ok(RentalFinished { pass, rental, board, event, battery_low })
}
