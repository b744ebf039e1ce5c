//! Rules checked without any adapter: billing, the pass lifecycle, and stored shapes.

use super::error::RuleViolation;
use super::events::{DomainEvent, EventEnvelope, Subscriber};
use super::geo::Coordinates;
use super::ids::{CustomerId, KickboardId, PassId, PaymentId, RentalId};
use super::kickboard::{Kickboard, Model};
use super::pass::{Pass, PassState, PassStatus};
use super::plan::{catalogue, find_plan};
use super::rental::{finish_rental, minutes_billed, start_rental};
use chrono::{DateTime, Duration, TimeZone, Utc};

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
    Kickboard::register(KickboardId::random(), Model::try_from("Ninebot".to_owned()).unwrap(), location, at(0)).0
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
        start_rental(&pass, Some(&board), &mallory, RentalId::random(), at(2)),
        Err(RuleViolation::PassNotFound)
    );
    assert_eq!(start_rental(&pass, None, &alice, RentalId::random(), at(2)), Err(RuleViolation::KickboardNotFound));
    let late = at(1) + Duration::days(30);
    assert_eq!(start_rental(&pass, None, &alice, RentalId::random(), late), Err(RuleViolation::PassExpired));

    let started = start_rental(&pass, Some(&board), &alice, RentalId::random(), at(2)).unwrap();
    assert_eq!(started.event.detail_type(), "KickboardRented");
    assert_eq!(
        start_rental(&started.pass, Some(&board), &alice, RentalId::random(), at(3)),
        Err(RuleViolation::PassHasOpenRental)
    );
    let other = paid_pass("bob");
    assert_eq!(
        start_rental(&other, Some(&started.board), &customer("bob"), RentalId::random(), at(3)),
        Err(RuleViolation::KickboardUnavailable)
    );
    assert_eq!(started.board.retire(at(3)).unwrap_err(), RuleViolation::KickboardRented);
}

#[test]
fn a_return_past_the_last_minute_records_overage_and_exhausts_the_pass() {
    let alice = customer("alice");
    let pass = Pass { minutes_left: 2, ..paid_pass("alice") };
    let started = start_rental(&pass, Some(&board()), &alice, RentalId::random(), at(2)).unwrap();
    let finished = finish_rental(&started.rental, &started.pass, &alice, None, at(7)).unwrap();
    let board = finished.release.apply(&started.board).unwrap();
    assert_eq!(board.status(), super::kickboard::KickboardStatus::Available);
    assert!(finished.release.apply(&board).is_err(), "a free board cannot be released again");
    assert_eq!(finished.pass.minutes_left, 0);
    assert_eq!(finished.pass.overage_minutes, 3);
    assert!(matches!(finished.pass.state, PassState::Exhausted { .. }));
    assert_eq!(finished.pass.version, pass.version + 1);
    let DomainEvent::KickboardReturned { minutes_billed, overage_minutes, .. } = &finished.event.event else {
        panic!("not a return event");
    };
    assert_eq!((*minutes_billed, *overage_minutes), (5, 3));
    assert_eq!(
        finish_rental(&finished.rental, &finished.pass, &alice, None, at(8)).unwrap_err(),
        RuleViolation::RentalAlreadyReturned
    );
}

#[test]
fn stored_shapes_round_trip_through_json() {
    let pass = paid_pass("alice");
    let started = start_rental(&pass, Some(&board()), &customer("alice"), RentalId::random(), at(2)).unwrap();
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
