//! Rules checked without any adapter: billing, the pass lifecycle, and stored shapes.

use super::error::RuleViolation;
use super::events::{DomainEvent, EventEnvelope, Subscriber};
use super::geo::Coordinates;
use super::ids::{CustomerId, KickboardId, PassId, PaymentId, RentalId};
use super::kickboard::{Kickboard, KickboardStatus, Model, Reported, ServiceStatus};
use super::pass::{Pass, PassState, PassStatus};
use super::plan::{catalogue, find_plan};
use super::rental::{ReturnReport, RideRules, finish_rental, minutes_billed, start_rental};
use super::vehicle::{BatteryPct, BatteryRules, Telemetry, default_vehicle_type_id};
use super::zones::ZoneMap;
use chrono::{DateTime, Duration, TimeZone, Utc};

/// No zones: rides start and end anywhere.
static OPEN: std::sync::LazyLock<ZoneMap> = std::sync::LazyLock::new(ZoneMap::default);

/// The battery rules, and no zones.
static RIDE: std::sync::LazyLock<RideRules<'static>> =
    std::sync::LazyLock::new(|| RideRules { battery: &RULES, zones: &OPEN });

const RULES: BatteryRules = BatteryRules { min_to_rent: pct(15), low: pct(20) };

const fn pct(value: u8) -> BatteryPct {
    match BatteryPct::new(value) {
        Some(battery) => battery,
        None => panic!("a percentage"),
    }
}

fn at(minute: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 9, 0, 0).unwrap() + Duration::minutes(minute)
}

fn customer(name: &str) -> CustomerId {
    CustomerId::try_from(name).unwrap()
}

fn paid_pass(owner: &str) -> Pass {
    let plan = find_plan(&catalogue()[0].plan_id).unwrap();
    let (pass, _) = Pass::purchase(PassId::random(), customer(owner), &plan, at(0));
    pass.activate(PaymentId::random(), at(1)).unwrap().0
}

fn board() -> Kickboard {
    let location = Coordinates::new(37.5, 127.0).unwrap();
    let model = Model::try_from("Ninebot".to_owned()).unwrap();
    Kickboard::register(KickboardId::random(), model, default_vehicle_type_id(), location, at(0)).0
}

#[test]
fn billing_counts_every_started_minute_and_at_least_one() {
    let start = at(0);
    assert_eq!(minutes_billed(start, start), 1);
    assert_eq!(minutes_billed(start, start + Duration::seconds(60)), 1);
    assert_eq!(minutes_billed(start, start + Duration::milliseconds(60_001)), 2);
    assert_eq!(minutes_billed(start, start + Duration::minutes(45)), 45);
    assert_eq!(minutes_billed(start, start - Duration::minutes(5)), 1, "a clock step back still bills one");
}

#[test]
fn a_pass_is_paid_once_and_then_carries_its_expiry() {
    let plan = find_plan(&catalogue()[0].plan_id).unwrap();
    let (pass, event) = Pass::purchase(PassId::random(), customer("alice"), &plan, at(0));
    assert_eq!(pass.status_at(at(0)), PassStatus::PendingPayment);
    assert_eq!(event.detail_type(), "PassPurchased");
    assert_eq!(pass.ensure_rentable(at(0)), Err(RuleViolation::PassNotActive));
    let (paid, event) = pass.activate(PaymentId::random(), at(1)).unwrap();
    assert_eq!(paid.version, 2);
    assert_eq!(event.balance().unwrap().version, 2);
    assert_eq!(paid.payment().unwrap().expires_at, at(1) + Duration::days(30));
    assert_eq!(paid.activate(PaymentId::random(), at(2)).unwrap_err(), RuleViolation::PassAlreadyPaid);
    assert_eq!(paid.status_at(at(1) + Duration::days(30)), PassStatus::Expired);
}

#[test]
fn renting_checks_the_pass_before_the_board() {
    let pass = paid_pass("alice");
    let board = board();
    let alice = customer("alice");
    let mallory = customer("mallory");
    assert_eq!(
        start_rental(&pass, Some(&board), &mallory, RentalId::random(), &RIDE, at(2)),
        Err(RuleViolation::PassNotFound)
    );
    assert_eq!(
        start_rental(&pass, None, &alice, RentalId::random(), &RIDE, at(2)),
        Err(RuleViolation::KickboardNotFound)
    );
    let late = at(1) + Duration::days(30);
    assert_eq!(start_rental(&pass, None, &alice, RentalId::random(), &RIDE, late), Err(RuleViolation::PassExpired));

    let started = start_rental(&pass, Some(&board), &alice, RentalId::random(), &RIDE, at(2)).unwrap();
    assert_eq!(started.event.detail_type(), "KickboardRented");
    assert_eq!(
        start_rental(&started.pass, Some(&board), &alice, RentalId::random(), &RIDE, at(3)),
        Err(RuleViolation::PassHasOpenRental)
    );
    let other = paid_pass("bob");
    assert_eq!(
        start_rental(&other, Some(&started.board), &customer("bob"), RentalId::random(), &RIDE, at(3)),
        Err(RuleViolation::KickboardUnavailable)
    );
    assert_eq!(started.board.retire(at(3)).unwrap_err(), RuleViolation::KickboardRented);
}

#[test]
fn a_return_past_the_last_minute_records_overage_and_exhausts_the_pass() {
    let alice = customer("alice");
    let pass = Pass { minutes_left: 2, ..paid_pass("alice") };
    let started = start_rental(&pass, Some(&board()), &alice, RentalId::random(), &RIDE, at(2)).unwrap();
    let no_report = ReturnReport::default();
    let finished =
        finish_rental(&started.rental, &started.pass, &started.board, &alice, &no_report, &RIDE, at(7)).unwrap();
    assert_eq!(finished.board.status(), KickboardStatus::Available);
    assert_ne!(finished.board.public_id, started.board.public_id, "a new public id after the ride");
    assert_eq!(
        finish_rental(&started.rental, &started.pass, &finished.board, &alice, &no_report, &RIDE, at(7)),
        Err(RuleViolation::Inconsistent("an open rental's board is not rented by it")),
        "a free board cannot be released again"
    );
    assert_eq!(finished.pass.minutes_left, 0);
    assert_eq!(finished.pass.overage_minutes, 3);
    assert!(matches!(finished.pass.state, PassState::Exhausted { .. }));
    assert_eq!(finished.pass.version, pass.version + 1);
    let DomainEvent::KickboardReturned { minutes_billed, overage_minutes, .. } = &finished.event.event else {
        panic!("not a return event");
    };
    assert_eq!((*minutes_billed, *overage_minutes), (5, 3));
    assert_eq!(
        finish_rental(&finished.rental, &finished.pass, &finished.board, &alice, &no_report, &RIDE, at(8)).unwrap_err(),
        RuleViolation::RentalAlreadyReturned
    );
}

#[test]
fn stored_shapes_round_trip_through_json() {
    let pass = paid_pass("alice");
    let started = start_rental(&pass, Some(&board()), &customer("alice"), RentalId::random(), &RIDE, at(2)).unwrap();
    let json = serde_json::to_value(&started.pass).unwrap();
    assert_eq!(json["status"], "ACTIVE");
    assert!(json["openRentalId"].is_string() && json["expiresAt"].is_string(), "flat attributes: {json}");
    assert_eq!(serde_json::from_value::<Pass>(json).unwrap(), started.pass);
    let board_json = serde_json::to_value(&started.board).unwrap();
    assert_eq!((board_json["status"].as_str(), board_json["lat"].as_f64()), (Some("RENTED"), Some(37.5)));
    assert_eq!(serde_json::from_value::<Kickboard>(board_json).unwrap(), started.board);
    let event_json = serde_json::to_value(&started.event).unwrap();
    assert_eq!(event_json["type"], "KickboardRented");
    assert_eq!(serde_json::from_value::<EventEnvelope>(event_json).unwrap(), started.event);
}

#[test]
fn each_subscriber_gets_the_events_its_rule_names() {
    let (_, purchased) = Pass::purchase(PassId::random(), customer("a"), &catalogue()[0], at(0));
    assert!(Subscriber::BalanceView.wants(&purchased));
    assert!(!Subscriber::Notifier.wants(&purchased), "buying alone alerts no one");
}

fn report(board: &Kickboard, battery: u8, minute: i64) -> Result<Option<Reported>, RuleViolation> {
    let here = Coordinates::new(37.51, 127.01).unwrap();
    board.report(&Telemetry::new(here, pct(battery), Some(at(minute)), at(minute)).unwrap(), &RULES, &OPEN)
}

fn applied(outcome: Result<Option<Reported>, RuleViolation>) -> (Kickboard, Option<EventEnvelope>) {
    match outcome {
        Ok(Some(Reported { board, battery_low, .. })) => (board, battery_low),
        other => panic!("not applied: {other:?}"),
    }
}

#[test]
fn reports_move_the_board_and_older_ones_are_ignored() {
    let (moved, event) = applied(report(&board(), 80, 5));
    assert_eq!((moved.battery_pct, moved.location.lat(), moved.last_reported_at()), (pct(80), 37.51, at(5)));
    assert_eq!(moved.revision, board().revision + 1);
    assert!(event.is_none());
    assert_eq!(report(&moved, 10, 4), Ok(None), "older than the stored report");
    assert_eq!(report(&moved, 80, 5), Ok(None), "the same report again: nothing to store");
    assert_eq!(report(&moved, 80, 6), Ok(None), "standing still with a steady battery: nothing to store");
    let (heartbeat, _) = applied(report(&moved, 80, 8));
    assert_eq!(heartbeat.last_reported_at(), at(8), "written once the stored report is 2 minutes old");
    let (retired, _) = moved.retire(at(6)).unwrap();
    assert_eq!(report(&retired, 10, 7), Err(RuleViolation::KickboardNotFound));
}

#[test]
fn the_crew_hears_once_per_fall_below_the_low_mark() {
    let (low, event) = applied(report(&board(), 19, 1));
    let event = event.expect("crossed below 20");
    assert_eq!(event.detail_type(), "KickboardBatteryLow");
    assert!(Subscriber::Notifier.wants(&event));
    let (lower, again) = applied(report(&low, 12, 2));
    assert!(again.is_none(), "still low: no second alert");
    let (charged, _) = applied(report(&lower, 90, 3));
    assert!(applied(report(&charged, 18, 4)).1.is_some(), "a new crossing after charging");
}

#[test]
fn empty_or_serviced_boards_are_not_rented() {
    let pass = paid_pass("alice");
    let alice = customer("alice");
    let (empty, _) = applied(report(&board(), 14, 1));
    assert_eq!(
        start_rental(&pass, Some(&empty), &alice, RentalId::random(), &RIDE, at(2)),
        Err(RuleViolation::BatteryTooLow)
    );
    assert!(!empty.is_listed(&RULES) && empty.is_parked());
    let (enough, _) = applied(report(&board(), 15, 1));
    assert!(start_rental(&pass, Some(&enough), &alice, RentalId::random(), &RIDE, at(2)).is_ok());

    let (serviced, event) = board().set_service(ServiceStatus::Maintenance, at(2)).unwrap().unwrap();
    assert_eq!(serviced.status(), KickboardStatus::Maintenance);
    assert!(
        matches!(event.event, DomainEvent::KickboardServiceChanged { status: ServiceStatus::Maintenance, .. }),
        "{event:?}"
    );
    assert_eq!(serviced.set_service(ServiceStatus::Maintenance, at(2)), Ok(None), "already in maintenance");
    assert_eq!(
        start_rental(&pass, Some(&serviced), &alice, RentalId::random(), &RIDE, at(2)),
        Err(RuleViolation::KickboardUnavailable)
    );
    assert!(serviced.retire(at(3)).is_ok(), "retiring works from maintenance");
    let (back, _) = serviced.set_service(ServiceStatus::Available, at(3)).unwrap().unwrap();
    assert!(back.is_listed(&RULES));

    let started = start_rental(&pass, Some(&board()), &alice, RentalId::random(), &RIDE, at(2)).unwrap();
    assert_eq!(started.board.set_service(ServiceStatus::Maintenance, at(3)), Err(RuleViolation::KickboardRented));
}

#[test]
fn a_return_takes_the_reported_battery_and_may_alert_the_crew() {
    let alice = customer("alice");
    let pass = paid_pass("alice");
    let started = start_rental(&pass, Some(&board()), &alice, RentalId::random(), &RIDE, at(2)).unwrap();
    let report = ReturnReport { location: None, battery: Some(pct(9)) };
    let finished =
        finish_rental(&started.rental, &started.pass, &started.board, &alice, &report, &RIDE, at(9)).unwrap();
    assert_eq!(finished.board.battery_pct, pct(9));
    assert_eq!(finished.battery_low.map(|event| event.detail_type()), Some("KickboardBatteryLow"));
}

#[test]
fn boards_stored_before_vehicles_reported_read_as_charged_standard_boards() {
    let stored = serde_json::json!({
        "kickboardId": "kb-old", "model": "Ninebot", "lat": 37.5, "lon": 127.0,
        "registeredAt": "2026-11-01T00:00:00Z", "status": "AVAILABLE",
    });
    let board: Kickboard = serde_json::from_value(stored).unwrap();
    assert_eq!((board.battery_pct, board.revision), (BatteryPct::FULL, super::kickboard::LEGACY_REVISION));
    assert_eq!(board.vehicle_type_id, default_vehicle_type_id());
    assert_eq!(board.last_reported_at(), board.registered_at);
    assert_eq!(board.range_meters(), 25_000);
}

#[test]
fn a_rides_distance_is_the_sum_of_its_reported_legs_and_the_last_one() {
    let alice = customer("alice");
    let parked = board();
    // A parked board's reports are not a ride: they add nothing.
    let (parked, _) = applied(report(&parked, 80, 1));
    assert_eq!(parked.ride_distance_m, 0);
    let started = start_rental(&paid_pass("alice"), Some(&parked), &alice, RentalId::random(), &RIDE, at(2)).unwrap();
    let mut riding = started.board.clone();
    let mut legs = 0.0;
    // North in three legs, then a jitter with a new battery: stored, but no leg.
    for (minute, lat, battery) in [(3, 37.512, 79), (4, 37.514, 79), (5, 37.516, 79), (6, 37.51601, 78)] {
        let here = Coordinates::new(lat, 127.01).unwrap();
        let leg = riding.location.distance_m(&here);
        let telemetry = Telemetry::new(here, pct(battery), Some(at(minute)), at(minute)).unwrap();
        riding = riding.report(&telemetry, &RULES, &OPEN).unwrap().expect("applied").board;
        if leg >= super::kickboard::GPS_JITTER_M {
            legs += leg.round();
        }
    }
    assert_eq!(f64::from(riding.ride_distance_m), legs);
    assert!((600..700).contains(&riding.ride_distance_m), "three legs of 222 m: {}", riding.ride_distance_m);
    let end = Coordinates::new(37.517, 127.01).unwrap();
    let last_leg = riding.location.distance_m(&end).round() as u32;
    let returned = ReturnReport { location: Some(end), battery: None };
    let finished = finish_rental(&started.rental, &started.pass, &riding, &alice, &returned, &RIDE, at(7)).unwrap();
    let DomainEvent::KickboardReturned { ridden_m, .. } = &finished.event.event else { panic!("not a return") };
    assert_eq!(*ridden_m, Some(riding.ride_distance_m + last_leg));
    assert_eq!(finished.board.ride_distance_m, 0, "parked again: the next ride counts anew");
}
