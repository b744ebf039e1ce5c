//! Commands to vehicles over MQTT, on the local broker with simulated boards: an admin rings
//! a board and reads the acknowledgement; a silent board times out and a late, foreign or
//! repeated acknowledgement changes nothing; the broker admits only a board's own token.
//! The scenarios taking a `Backend` run on both stores (`main.rs`): with `--store aws` the
//! local broker stands in for IoT Core, and commands and held rides are DynamoDB's.

use hyper::{Method, StatusCode};
use kickboard_common::domain::commands::AckMessage;
use kickboard_common::domain::ids::CommandId;
use kickboard_common::vehicle_topics::Channel;
use kickboard_tests::{Backend, Reply, TestServer};
use rumqttc::{AsyncClient, ConnectReturnCode, Event, MqttOptions, Packet, QoS};
use serde_json::{Value, json};
use std::time::Duration;

/// A deadline short enough for a test to see it pass.
const DEADLINE: Duration = Duration::from_millis(400);

async fn server(backend: Backend) -> TestServer {
    TestServer::start_on_with(backend, |config| config.command_timeout = DEADLINE).await
}

async fn register(kb: &TestServer, id: &str) {
    let reply = kb
        .post("/kickboards", &kb.admin_token(), json!({"kickboardId": id, "model": "S9", "lat": 37.5, "lon": 127.0}))
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{reply:?}");
}

async fn send(kb: &TestServer, board: &str, command: &str) -> Reply {
    kb.post(&format!("/kickboards/{board}/commands"), &kb.admin_token(), json!({"command": command})).await
}

/// The command's status once it is no longer `SENT`, waiting at most past its deadline.
async fn settled(kb: &TestServer, board: &str, command: &Value) -> Reply {
    let path = format!("/kickboards/{board}/commands/{}", command["commandId"].as_str().unwrap());
    for _ in 0..100 {
        let reply = kb.get(&path, &kb.admin_token()).await;
        if reply.body["status"] != "SENT" {
            return reply;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{path} still SENT past its deadline");
}

pub async fn a_rung_board_acknowledges_and_the_command_reads_acked(backend: Backend) {
    let kb = server(backend).await;
    register(&kb, "kb-1").await;
    let sent = send(&kb, "kb-1", "ring").await;
    assert_eq!(sent.status, StatusCode::ACCEPTED, "{sent:?}");
    assert_eq!((sent.body["command"].as_str(), sent.body["status"].as_str()), (Some("ring"), Some("SENT")));
    let read = settled(&kb, "kb-1", &sent.body).await;
    assert_eq!(read.body["status"], "ACKED", "{read:?}");
    assert!(read.body["settledAt"].is_string(), "{read:?}");
    kb.stop().await;
}

pub async fn a_silent_board_times_out_and_a_late_ack_changes_nothing(backend: Backend) {
    let kb = server(backend).await;
    register(&kb, "kb-1").await;
    let slow = kb.call(Method::PUT, "/local/vehicles/kb-1", None, Some(json!({"ackDelayMs": 900}))).await;
    assert_eq!(slow.body, json!({"online": true, "ackDelayMs": 900}), "{slow:?}");
    let sent = send(&kb, "kb-1", "lock").await;
    // The server's clock is the test's: it passes the deadline when the test moves it.
    kb.clock.advance(chrono::Duration::milliseconds(500));
    let read = settled(&kb, "kb-1", &sent.body).await;
    assert_eq!(read.body["status"], "TIMED_OUT", "{read:?}");
    // The slow board's acknowledgement arrives after the deadline: still timed out.
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    let again = settled(&kb, "kb-1", &sent.body).await;
    assert_eq!(again.body["status"], "TIMED_OUT", "{again:?}");
    assert!(again.body.get("settledAt").is_none(), "{again:?}");

    kb.call(Method::PUT, "/local/vehicles/kb-1", None, Some(json!({"online": false, "ackDelayMs": 0}))).await;
    let unheard = send(&kb, "kb-1", "unlock").await;
    kb.clock.advance(chrono::Duration::milliseconds(500));
    assert_eq!(settled(&kb, "kb-1", &unheard.body).await.body["status"], "TIMED_OUT");
    kb.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_commands_and_callers_are_refused_and_nothing_is_sent() {
    let kb = server(Backend::Sqlite).await;
    register(&kb, "kb-1").await;
    let unknown = send(&kb, "kb-1", "explode").await;
    assert_eq!((unknown.status, unknown.body["field"].as_str()), (StatusCode::BAD_REQUEST, Some("command")));
    let speed =
        kb.post("/kickboards/kb-1/commands", &kb.admin_token(), json!({"command": "set-max-speed", "kph": 20})).await;
    assert_eq!(speed.status, StatusCode::BAD_REQUEST, "speed caps follow the zones: {speed:?}");
    let nobody = send(&kb, "kb-404", "ring").await;
    assert_eq!((nobody.status, nobody.problem()), (StatusCode::NOT_FOUND, "kickboard-not-found"));
    let customer = kb.post("/kickboards/kb-1/commands", &kb.customer_token("alice"), json!({"command": "ring"})).await;
    assert_eq!(customer.status, StatusCode::FORBIDDEN);
    let unknown_id = kb.get("/kickboards/kb-1/commands/c-404", &kb.admin_token()).await;
    assert_eq!((unknown_id.status, unknown_id.problem()), (StatusCode::NOT_FOUND, "command-not-found"));
    let retired = kb.call(Method::DELETE, "/kickboards/kb-1", Some(&kb.admin_token()), None).await;
    assert_eq!(retired.status, StatusCode::NO_CONTENT);
    let to_retired = send(&kb, "kb-1", "ring").await;
    assert_eq!((to_retired.status, to_retired.problem()), (StatusCode::NOT_FOUND, "kickboard-not-found"));
    kb.stop().await;
}

/// A client session on the server's broker, connected with `password`: its event loop, and
/// whether the broker accepted it.
async fn connect(kb: &TestServer, id: &str, password: &str) -> (AsyncClient, rumqttc::EventLoop, bool) {
    let broker = kb.server.app.vehicles.as_ref().expect("vehicles are simulated").broker;
    let mut options = MqttOptions::new(id, broker.ip().to_string(), broker.port());
    options.set_credentials(id, password);
    let (client, mut events) = AsyncClient::new(options, 16);
    let accepted = loop {
        match tokio::time::timeout(Duration::from_secs(5), events.poll()).await.expect("the broker answers") {
            Ok(Event::Incoming(Packet::ConnAck(ack))) => break ack.code == ConnectReturnCode::Success,
            Ok(_) => {}
            Err(_) => break false,
        }
    };
    (client, events, accepted)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_broker_admits_a_board_by_its_own_token_only_and_drops_foreign_acks() {
    let kb = server(Backend::Sqlite).await;
    register(&kb, "kb-1").await;
    register(&kb, "kb-2").await;
    assert!(!connect(&kb, "kb-9", "not-a-token").await.2, "a made-up password");
    assert!(!connect(&kb, "kb-9", &kb.vehicle_token("kb-2")).await.2, "another board's token");
    assert!(!connect(&kb, "kb-9", &kb.customer_token("kb-9")).await.2, "a customer's token");

    // kb-1 is silent; kb-2 answers for it, on its own topic and on kb-1's.
    kb.call(Method::PUT, "/local/vehicles/kb-1", None, Some(json!({"online": false}))).await;
    let sent = send(&kb, "kb-1", "ring").await;
    let (kb2, mut events, accepted) = connect(&kb, "kb-2-probe", &kb.vehicle_token("kb-2-probe")).await;
    assert!(accepted, "a board's own token");
    tokio::spawn(async move { while events.poll().await.is_ok() {} });
    let command_id = CommandId::try_from(sent.body["commandId"].as_str().unwrap()).unwrap();
    let ack = serde_json::to_vec(&AckMessage { command_id, ok: true, error: None }).unwrap();
    let kb2_board = "kb-2".try_into().unwrap();
    kb2.publish(Channel::Acks.topic(&kb2_board), QoS::AtLeastOnce, false, ack.clone()).await.unwrap();
    kb2.publish(Channel::Acks.topic(&kb2_board), QoS::AtLeastOnce, false, b"{not json".to_vec()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let read = kb
        .get(&format!("/kickboards/kb-1/commands/{}", sent.body["commandId"].as_str().unwrap()), &kb.admin_token())
        .await;
    assert_eq!(read.body["status"], "SENT", "another board's acknowledgement is foreign: {read:?}");
    kb.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_simulated_board_reports_over_mqtt_as_the_iot_rule_reads_it() {
    let kb = server(Backend::Sqlite).await;
    register(&kb, "kb-1").await;
    let report = json!({"report": {"lat": 37.51, "lon": 127.01, "batteryPct": 64}});
    assert_eq!(kb.call(Method::PUT, "/local/vehicles/kb-1", None, Some(report)).await.status, StatusCode::OK);
    let mut battery = Value::Null;
    for _ in 0..50 {
        let boards = kb.get("/kickboards", &kb.customer_token("alice")).await;
        battery = boards.body[0]["batteryPct"].clone();
        if battery == 64 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(battery, 64);
    let unknown = kb.call(Method::PUT, "/local/vehicles/kb-404", None, Some(json!({"online": false}))).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    kb.stop().await;
}

fn silence(online: bool) -> Value {
    json!({"online": online})
}

pub async fn a_rent_begins_when_the_board_acknowledges_its_unlock(backend: Backend) {
    let kb = server(backend).await;
    register(&kb, "kb-1").await;
    let alice = kb.customer_token("alice");
    kb.set_phone(&alice, "+821012345678").await;
    let pass = kb.paid_pass(&alice, "basic-60").await;
    let rented = kb.rent(&alice, &pass, "kb-1").await;
    assert_eq!(rented.status, StatusCode::CREATED, "{rented:?}");
    assert!(rented.body["unlockedAt"].is_string(), "{rented:?}");
    let read = kb.get(&format!("/rentals/{}", rented.text("rentalId")), &alice).await;
    assert_eq!(read.body["unlockedAt"], rented.body["unlockedAt"]);
    kb.settle().await;
    assert!(kb.texts("alice").await.iter().any(|text| text.contains("kb-1")), "the rent alert");
    kb.stop().await;
}

pub async fn a_silent_board_undoes_the_rent_and_the_next_try_after_it_is_back_rides(backend: Backend) {
    let kb = server(backend).await;
    register(&kb, "kb-1").await;
    let alice = kb.customer_token("alice");
    kb.set_phone(&alice, "+821012345678").await;
    let pass = kb.paid_pass(&alice, "basic-60").await;
    kb.call(Method::PUT, "/local/vehicles/kb-1", None, Some(silence(false))).await;

    let refused = kb.rent(&alice, &pass, "kb-1").await;
    assert_eq!(
        (refused.status, refused.problem()),
        (StatusCode::GATEWAY_TIMEOUT, "vehicle-not-responding"),
        "{refused:?}"
    );
    // Nothing was taken: the board is listed again, the pass is free with its minutes, no ride
    // is in the history and no rent alert went out.
    let listed = kb.get("/kickboards", &alice).await;
    assert_eq!(listed.body.as_array().unwrap().len(), 1, "{listed:?}");
    let read = kb.get(&format!("/passes/{pass}"), &alice).await;
    assert_eq!((read.body["minutesLeft"].as_u64(), read.body.get("openRentalId")), (Some(60), None), "{read:?}");
    assert_eq!(kb.get("/me/rentals", &alice).await.body["rentals"], json!([]));
    kb.settle().await;
    let texts = kb.texts("alice").await;
    assert!(!texts.iter().any(|text| text.contains("kb-1")), "no rent alert: {texts:?}");

    kb.call(Method::PUT, "/local/vehicles/kb-1", None, Some(silence(true))).await;
    let rides = kb.rent(&alice, &pass, "kb-1").await;
    assert_eq!(rides.status, StatusCode::CREATED, "{rides:?}");
    kb.stop().await;
}

pub async fn three_missed_unlocks_in_a_row_tell_the_crew_once(backend: Backend) {
    let kb = server(backend).await;
    register(&kb, "kb-1").await;
    let alice = kb.customer_token("alice");
    let pass = kb.paid_pass(&alice, "basic-60").await;
    kb.call(Method::PUT, "/local/vehicles/kb-1", None, Some(silence(false))).await;
    for _ in 0..4 {
        let refused = kb.rent(&alice, &pass, "kb-1").await;
        assert_eq!(refused.status, StatusCode::GATEWAY_TIMEOUT, "{refused:?}");
    }
    let crew = kb.crew_alerts().await;
    let silent: Vec<_> = crew.iter().filter(|alert| alert.contains("응답 없음")).collect();
    assert_eq!(silent.len(), 1, "{crew:?}");
    assert!(silent[0].contains("kb-1"), "{silent:?}");
    kb.stop().await;
}

pub async fn a_return_stands_when_the_lock_goes_unanswered_and_the_board_leaves_service(backend: Backend) {
    use kickboard_common::domain::kickboard::{KickboardStatus, MaintenanceReason};
    let kb = server(backend).await;
    register(&kb, "kb-1").await;
    register(&kb, "kb-2").await;
    let alice = kb.customer_token("alice");
    let pass = kb.paid_pass(&alice, "plus-120").await;

    // A board that locks: available again.
    let ride = kb.rent(&alice, &pass, "kb-1").await;
    assert_eq!(kb.give_back(&alice, &ride.text("rentalId")).await.status, StatusCode::OK);
    assert_eq!(kb.kickboard("kb-1").await.status(), KickboardStatus::Available);

    // A board that goes silent during the ride: the return still bills, the board leaves service.
    let ride = kb.rent(&alice, &pass, "kb-2").await;
    kb.call(Method::PUT, "/local/vehicles/kb-2", None, Some(silence(false))).await;
    let returned = kb.give_back(&alice, &ride.text("rentalId")).await;
    assert_eq!((returned.status, returned.body["status"].as_str()), (StatusCode::OK, Some("CLOSED")), "{returned:?}");
    let silent = kb.kickboard("kb-2").await;
    assert_eq!(silent.status(), KickboardStatus::Maintenance);
    assert_eq!(silent.maintenance_reason(), Some(MaintenanceReason::LockUnconfirmed));
    let crew = kb.crew_alerts().await;
    assert!(crew.iter().any(|alert| alert.contains("kb-2 반납 후 잠금 확인 안 됨")), "{crew:?}");
    kb.stop().await;
}

/// The same acknowledgement delivered twice at once (IoT Core delivers at least once) settles
/// its command once: one delivery settles it, the other is dropped as already settled.
pub async fn an_acknowledgement_delivered_twice_at_once_settles_its_command_once(backend: Backend) {
    use kickboard_common::domain::commands::AckIgnored;
    use kickboard_common::invocation::running_as;
    use kickboard_common::ports::Clock;
    let kb = server(backend).await;
    register(&kb, "kb-1").await;
    kb.call(Method::PUT, "/local/vehicles/kb-1", None, Some(silence(false))).await;
    let sent = send(&kb, "kb-1", "ring").await;
    let command_id = CommandId::try_from(sent.body["commandId"].as_str().unwrap()).unwrap();
    let ack = AckMessage { command_id, ok: true, error: None };
    let commands = std::sync::Arc::clone(&kb.server.app.vehicles.as_ref().expect("vehicles are simulated").commands);
    let board = "kb-1".try_into().unwrap();
    let now = kb.clock.now();
    let deliver = || running_as("vehicle-acks", commands.acknowledge(&board, &ack, now));
    let (first, second) = tokio::join!(deliver(), deliver());
    let (first, second) = (first.unwrap(), second.unwrap());
    assert!(first.is_ok() != second.is_ok(), "exactly one settles it: {first:?} {second:?}");
    assert!([&first, &second].contains(&&Err(AckIgnored::AlreadySettled)), "{first:?} {second:?}");
    let read = settled(&kb, "kb-1", &sent.body).await;
    assert_eq!(read.body["status"], "ACKED", "{read:?}");
    kb.stop().await;
}

/// A rent that died after taking the board (its function timed out, its process stopped)
/// leaves the rental held: while it could still be waiting, nobody else takes the board; once
/// past that, the next rent that meets the hold undoes it, on the board and on the pass.
pub async fn a_hold_left_by_a_rent_that_died_is_undone_by_the_next_rent(backend: Backend) {
    use kickboard_common::domain::error::RuleViolation;
    use kickboard_common::domain::ids::{CustomerId, PassId, RentalId};
    use kickboard_common::ports::{Clock, PortError, RentRequest};
    let kb = server(backend).await;
    register(&kb, "kb-1").await;
    register(&kb, "kb-2").await;
    let (alice, bob) = (kb.customer_token("alice"), kb.customer_token("bob"));
    let alices = kb.paid_pass(&alice, "basic-60").await;
    let bobs = kb.paid_pass(&bob, "basic-60").await;

    // Alice's rent takes kb-1 and dies before the unlock's answer.
    let pass_id = PassId::try_from(alices.as_str()).unwrap();
    let rent = RentRequest {
        customer: CustomerId::try_from("alice").unwrap(),
        rental_id: RentalId::for_pass(&pass_id),
        pass_id,
        kickboard_id: "kb-1".try_into().unwrap(),
        now: kb.clock.now(),
        answer: None,
        rules: Default::default(),
        zones: Default::default(),
        licence_since: None,
    };
    let dead_rental = rent.rental_id.clone();
    let rides = std::sync::Arc::clone(&kb.server.app.vehicles.as_ref().expect("vehicles are simulated").rides);
    let held_until = kb.clock.now() + chrono::Duration::seconds(20);
    let hold = kickboard_common::invocation::running_as("rent-kickboard", rides.hold_rental(rent, held_until));
    hold.await.unwrap();

    let early = kb.rent(&bob, &bobs, "kb-1").await;
    assert_eq!((early.status, early.problem()), (StatusCode::CONFLICT, "kickboard-unavailable"), "{early:?}");
    // Alice's retry: her first rent may still be waiting, so she is asked to come back.
    let own = kb.rent(&alice, &alices, "kb-2").await;
    assert_eq!((own.status, own.problem()), (StatusCode::CONFLICT, "request-in-progress"), "{own:?}");
    assert!(own.retry_after.is_some_and(|wait| (1..=21).contains(&wait)), "{own:?}");

    kb.clock.advance(chrono::Duration::seconds(21));
    let taken = kb.rent(&bob, &bobs, "kb-1").await;
    assert_eq!(taken.status, StatusCode::CREATED, "the dead hold on the board is undone: {taken:?}");
    // Alice's first rent was only slow, and wakes up now: its hold is gone, so neither its
    // confirm nor its undo writes anything, and Bob rides on.
    let late = async {
        let confirmed = rides.confirm_unlock(&dead_rental, kb.clock.now(), None).await;
        (confirmed.map(|_| ()), rides.undo_rental(&dead_rental, kb.clock.now()).await)
    };
    let (confirmed, undone) = kickboard_common::invocation::running_as("rent-kickboard", late).await;
    for late in [confirmed, undone] {
        assert!(matches!(late, Err(PortError::Rule(RuleViolation::HoldReleased))), "{late:?}");
    }
    assert!(kb.kickboard("kb-1").await.rental_id().is_some(), "kb-1 is still Bob's");
    let freed = kb.rent(&alice, &alices, "kb-2").await;
    assert_eq!(freed.status, StatusCode::CREATED, "and alice's pass is free: {freed:?}");

    // A dead hold no rent meets: the minute's watch over the rides undoes it.
    register(&kb, "kb-3").await;
    let carol = kb.customer_token("carol");
    let carols = PassId::try_from(kb.paid_pass(&carol, "basic-60").await.as_str()).unwrap();
    let rent = RentRequest {
        customer: CustomerId::try_from("carol").unwrap(),
        rental_id: RentalId::for_pass(&carols),
        pass_id: carols,
        kickboard_id: "kb-3".try_into().unwrap(),
        now: kb.clock.now(),
        answer: None,
        rules: Default::default(),
        zones: Default::default(),
        licence_since: None,
    };
    let held_until = kb.clock.now() + chrono::Duration::seconds(20);
    let hold = kickboard_common::invocation::running_as("rent-kickboard", rides.hold_rental(rent, held_until));
    hold.await.unwrap();
    assert_eq!(kb.server.app.watch_rides().await.unwrap().dead_holds, 0, "a hold within its time");
    kb.clock.advance(chrono::Duration::seconds(21));
    assert_eq!(kb.server.app.watch_rides().await.unwrap().dead_holds, 1);
    let listed = kb.get("/kickboards", &carol).await;
    assert!(listed.body.as_array().unwrap().iter().any(|board| board["kickboardId"] == "kb-3"), "{listed:?}");
    kb.stop().await;
}

pub async fn a_ride_outlives_a_restart_of_the_server_and_its_broker(backend: Backend) {
    use kickboard_common::domain::kickboard::KickboardStatus;
    let kb = TestServer::start_durable(backend).await;
    kb.register_board("kb-1").await;
    let alice = kb.customer_token("alice");
    let pass = kb.paid_pass(&alice, "basic-60").await;
    let ride = kb.rent(&alice, &pass, "kb-1").await;
    assert_eq!(ride.status, StatusCode::CREATED, "{ride:?}");

    // A new broker on a new port; the rented board's vehicle connects to it again.
    let kb = kb.restart().await;
    // Where the token key is not kept (moto), the rider signs in again.
    let alice = kb.customer_token("alice");
    let returned = kb.give_back(&alice, &ride.text("rentalId")).await;
    assert_eq!(returned.status, StatusCode::OK, "{returned:?}");
    let board = kb.kickboard("kb-1").await;
    assert_eq!(board.status(), KickboardStatus::Available, "the lock was acknowledged after the restart");
    kb.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rented_board_gets_a_zones_speed_cap_once_on_entering_and_the_fleets_on_leaving() {
    let kb = server(Backend::Sqlite).await;
    register(&kb, "kb-1").await;
    let ring = json!([[[126.98, 37.57], [126.99, 37.57], [126.99, 37.58], [126.98, 37.58], [126.98, 37.57]]]);
    let rules =
        json!({"rideStartAllowed": true, "rideEndAllowed": true, "rideThroughAllowed": true, "maximumSpeedKph": 15});
    let zone = json!({"name": "school street", "priority": 1, "geometry": {"type": "Polygon", "coordinates": ring}, "rules": rules});
    let put = kb.call(Method::PUT, "/geofencing/zones/slow-1", Some(&kb.admin_token()), Some(zone)).await;
    assert_eq!(put.status, StatusCode::OK, "{put:?}");
    let alice = kb.customer_token("alice");
    let pass = kb.paid_pass(&alice, "basic-60").await;
    assert_eq!(kb.rent(&alice, &pass, "kb-1").await.status, StatusCode::CREATED);

    // In, further in (over MQTT, as the vehicle reports), out again.
    kb.report("kb-1", json!({"lat": 37.575, "lon": 126.985, "batteryPct": 90})).await;
    let inside = json!({"report": {"lat": 37.576, "lon": 126.986, "batteryPct": 89}});
    kb.call(Method::PUT, "/local/vehicles/kb-1", None, Some(inside)).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    kb.report("kb-1", json!({"lat": 37.5665, "lon": 126.978, "batteryPct": 88})).await;
    let sent = kickboard_tests::sqlite::commands_sent(kb.sqlite()).await;
    let caps: Vec<_> = sent.iter().filter(|(name, _)| name == "set-max-speed").map(|(_, kph)| *kph).collect();
    assert_eq!(caps, [Some(15), Some(25)], "{sent:?}");
    kb.stop().await;
}
