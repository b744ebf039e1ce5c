//! Vehicles as an operator runs them: types, position and battery reports, low-battery rules
//! and the crew's alerts, maintenance.

use chrono::Duration;
use hyper::{Method, StatusCode};
use kickboard_common::domain::events::Subscriber;
use kickboard_common::ports::Clock;
use kickboard_local::relay::{deliver, to_eventbridge};
use kickboard_tests::{Backend, Reply, TestServer};
use serde_json::{Value, json};

fn assert_problem(reply: &Reply, status: StatusCode, problem: &str) {
    assert_eq!((reply.status, reply.problem()), (status, problem), "{reply:?}");
}

fn listed(reply: &Reply) -> Vec<String> {
    let mut ids: Vec<String> =
        reply.body.as_array().unwrap().iter().map(|board| board["kickboardId"].as_str().unwrap().to_owned()).collect();
    ids.sort();
    ids
}

fn at(kb: &TestServer, seconds: i64) -> Value {
    json!((kb.clock.now() + Duration::seconds(seconds)).to_rfc3339())
}

pub async fn low_batteries_are_not_rented_nor_listed_and_the_crew_hears_once(backend: Backend) {
    let kb = TestServer::start_on(backend).await;
    let alice = kb.customer_token("alice");
    let types = kb.call(Method::GET, "/vehicle-types", None, None).await;
    assert_eq!(types.status, StatusCode::OK);
    assert_eq!(types.body[0]["vehicleTypeId"], "kickboard-standard", "{types:?}");
    assert_eq!(types.body[0]["formFactor"], "scooter_standing");

    kb.register_board("kb-1").await;
    let long_range = json!({"kickboardId": "kb-2", "model": "Max G2", "vehicleTypeId": "kickboard-long-range",
        "lat": 37.5667, "lon": 126.9781});
    let registered = kb.post("/kickboards", &kb.admin_token(), long_range).await;
    assert_eq!(registered.status, StatusCode::CREATED, "{registered:?}");
    assert_eq!(
        (&registered.body["vehicleTypeId"], &registered.body["batteryPct"], &registered.body["rangeMeters"]),
        (&json!("kickboard-long-range"), &json!(100), &json!(45_000))
    );
    assert!(registered.body["lastReportedAt"].is_string(), "{registered:?}");

    // Nearly empty: still parked, but not offered and not rented.
    let low = kb.report("kb-1", json!({"lat": 37.5666, "lon": 126.9782, "batteryPct": 12})).await;
    assert_eq!(low.status, StatusCode::OK, "{low:?}");
    assert_eq!((&low.body["batteryPct"], &low.body["rangeMeters"]), (&json!(12), &json!(3_000)));
    assert_eq!(low.body["lat"], 37.5666);
    let stale =
        kb.report("kb-1", json!({"lat": 37.0, "lon": 127.0, "batteryPct": 99, "reportedAt": at(&kb, -60)})).await;
    assert_eq!((stale.status, &stale.body["batteryPct"]), (StatusCode::OK, &json!(12)), "an older report is ignored");
    assert_eq!(listed(&kb.get("/kickboards?near=37.5666,126.9781", &alice).await), ["kb-2"]);
    assert_eq!(listed(&kb.get("/kickboards", &alice).await), ["kb-2"]);

    let pass = kb.paid_pass(&alice, "basic-60").await;
    let before = kb.row_counts().await;
    assert_problem(&kb.rent(&alice, &pass, "kb-1").await, StatusCode::UNPROCESSABLE_ENTITY, "battery-too-low");
    assert_eq!(kb.row_counts().await, before, "a refused rent writes nothing");

    let crew = kb.crew_alerts().await;
    assert_eq!(crew.len(), 1, "one alert for the fall below 20 %: {crew:?}");
    assert!(crew[0].contains("kb-1") && crew[0].contains("12%"), "{crew:?}");
    kb.clock.advance(Duration::seconds(30));
    assert_eq!(
        kb.report("kb-1", json!({"lat": 37.5666, "lon": 126.9782, "batteryPct": 9})).await.status,
        StatusCode::OK
    );
    assert_eq!(kb.crew_alerts().await.len(), 1, "still low: no second alert");

    // Charged by the crew: rented, and it reports from the road while ridden.
    kb.clock.advance(Duration::seconds(30));
    assert_eq!(
        kb.report("kb-1", json!({"lat": 37.5666, "lon": 126.9782, "batteryPct": 95})).await.status,
        StatusCode::OK
    );
    let ride = kb.rent(&alice, &pass, "kb-1").await;
    assert_eq!(ride.status, StatusCode::CREATED, "{ride:?}");
    kb.clock.advance(Duration::seconds(30));
    let riding = kb.report("kb-1", json!({"lat": 37.5700, "lon": 126.9900, "batteryPct": 40})).await;
    assert_eq!((&riding.body["status"], &riding.body["lat"]), (&json!("RENTED"), &json!(37.57)), "{riding:?}");

    // The return takes the battery the vehicle reports; below 20 % again: a new crossing.
    let back = kb
        .call(
            Method::POST,
            &format!("/rentals/{}/return", ride.text("rentalId")),
            Some(&alice),
            Some(json!({"lat": 37.5710, "lon": 126.9910, "batteryPct": 18})),
        )
        .await;
    assert_eq!(back.status, StatusCode::OK, "{back:?}");
    let crew = kb.crew_alerts().await;
    assert_eq!(crew.len(), 2, "{crew:?}");
    assert!(crew[1].contains("18%"), "{crew:?}");
    let near_return = kb.get("/kickboards?near=37.5710,126.9910&radiusM=100", &alice).await;
    assert_eq!(near_return.body[0]["batteryPct"], 18, "parked where it ended, as charged as it said");
    kb.stop().await;
}

pub async fn maintenance_takes_a_board_out_of_service_until_it_is_back(backend: Backend) {
    let kb = TestServer::start_on(backend).await;
    let (alice, admin) = (kb.customer_token("alice"), kb.admin_token());
    kb.register_board("kb-1").await;
    kb.register_board("kb-2").await;
    let kb = &kb;
    let status = |board: &str, status: &str| {
        let path = format!("/kickboards/{board}/status");
        let admin = admin.clone();
        let body = json!({ "status": status });
        async move { kb.call(Method::PUT, &path, Some(&admin), Some(body)).await }
    };

    let serviced = status("kb-1", "MAINTENANCE").await;
    assert_eq!((serviced.status, &serviced.body["status"]), (StatusCode::OK, &json!("MAINTENANCE")), "{serviced:?}");
    assert_eq!(status("kb-1", "MAINTENANCE").await.status, StatusCode::OK, "asking twice is fine");
    assert_eq!(listed(&kb.get("/kickboards", &alice).await), ["kb-2"]);
    let pass = kb.paid_pass(&alice, "basic-60").await;
    assert_problem(&kb.rent(&alice, &pass, "kb-1").await, StatusCode::CONFLICT, "kickboard-unavailable");
    let report = kb.report("kb-1", json!({"lat": 37.5665, "lon": 126.978, "batteryPct": 70})).await;
    assert_eq!((report.status, &report.body["status"]), (StatusCode::OK, &json!("MAINTENANCE")), "{report:?}");

    let back = status("kb-1", "AVAILABLE").await;
    assert_eq!(back.body["status"], "AVAILABLE", "{back:?}");
    assert_eq!(listed(&kb.get("/kickboards", &alice).await), ["kb-1", "kb-2"]);
    let ride = kb.rent(&alice, &pass, "kb-1").await;
    assert_eq!(ride.status, StatusCode::CREATED, "{ride:?}");
    assert_problem(&status("kb-1", "MAINTENANCE").await, StatusCode::CONFLICT, "kickboard-rented");

    // Retiring works from maintenance; a retired board takes no reports.
    assert_eq!(status("kb-2", "MAINTENANCE").await.status, StatusCode::OK);
    let retire = kb.call(Method::DELETE, "/kickboards/kb-2", Some(&admin), None).await;
    assert_eq!(retire.status, StatusCode::NO_CONTENT, "{retire:?}");
    let gone = kb.report("kb-2", json!({"lat": 37.5665, "lon": 126.978, "batteryPct": 70})).await;
    assert_problem(&gone, StatusCode::NOT_FOUND, "kickboard-not-found");
    assert_problem(&status("kb-2", "AVAILABLE").await, StatusCode::NOT_FOUND, "kickboard-not-found");
}

/// Vehicles report every few seconds while riders rent: reports racing each other and a rent
/// neither lose the rent nor store an older report over a newer one.
pub async fn racing_reports_and_a_rent_keep_the_newest_report(backend: Backend) {
    let kb = std::sync::Arc::new(TestServer::start_on(backend).await);
    let alice = kb.customer_token("alice");
    kb.register_board("kb-1").await;
    let pass = kb.paid_pass(&alice, "basic-60").await;
    let mut racing = tokio::task::JoinSet::new();
    for second in 1..=12_i64 {
        let kb = std::sync::Arc::clone(&kb);
        racing.spawn(async move {
            let body =
                json!({"lat": 37.5665, "lon": 126.978, "batteryPct": 50 + second, "reportedAt": at(&kb, second)});
            (second, kb.report("kb-1", body).await)
        });
    }
    let rent = kb.rent(&alice, &pass, "kb-1").await;
    let mut applied = Vec::new();
    while let Some(answer) = racing.join_next().await {
        let (second, reply) = answer.unwrap();
        match reply.status {
            StatusCode::OK => applied.push(second),
            // Too many writers on one board: nothing written, the vehicle sends its next report.
            StatusCode::SERVICE_UNAVAILABLE => assert_eq!(reply.retry_after, Some(1), "{reply:?}"),
            other => panic!("report {second}: {other} {reply:?}"),
        }
    }
    assert_eq!(rent.status, StatusCode::CREATED, "{rent:?}");
    assert!(!applied.is_empty());
    let newest = applied.iter().max().unwrap();
    let stored =
        kb.report("kb-1", json!({"lat": 37.5665, "lon": 126.978, "batteryPct": 1, "reportedAt": at(&kb, 0)})).await;
    assert_eq!(stored.body["status"], "RENTED", "{stored:?}");
    assert_eq!(stored.body["batteryPct"], json!(50 + newest), "the newest applied report is stored: {stored:?}");
    std::sync::Arc::into_inner(kb).unwrap().stop().await;
}

/// After a restart and a redelivery of every event, twice: the crew has heard of a low
/// battery once, an older report still loses to the stored one, and the zones still hold.
pub async fn after_a_restart_and_redeliveries_the_crew_hears_once_and_zones_hold(backend: Backend) {
    let kb = TestServer::start_durable(backend).await;
    kb.register_board("kb-1").await;
    let no_parking = json!({"name": "Plaza", "priority": 1, "geometry": crate::zones::rectangle(37.568, 126.98, 37.569, 126.981),
        "rules": {"rideStartAllowed": true, "rideEndAllowed": false, "rideThroughAllowed": true}});
    let zone = kb.call(Method::PUT, "/geofencing/zones/plaza", Some(&kb.admin_token()), Some(no_parking)).await;
    assert_eq!(zone.status, StatusCode::OK, "{zone:?}");
    kb.clock.advance(Duration::seconds(30));
    let low = kb.report("kb-1", json!({"lat": 37.5665, "lon": 126.978, "batteryPct": 9})).await;
    assert_eq!(low.status, StatusCode::OK);
    assert_eq!(kb.crew_alerts().await.len(), 1);

    let kb = kb.restart().await;
    let heard = kb.crew_alerts().await.len();
    let events = kb.outbox_events().await;
    assert!(events.iter().any(|event| event.detail_type() == "KickboardBatteryLow"));
    for event in events.iter().chain(events.iter()) {
        for subscriber in Subscriber::ALL.into_iter().filter(|subscriber| subscriber.wants(event)) {
            deliver(&kb.server.app, subscriber, to_eventbridge(event).unwrap()).await.unwrap();
        }
    }
    assert_eq!(kb.crew_alerts().await.len(), heard, "redelivered, the low battery is not told again");

    let stale =
        kb.report("kb-1", json!({"lat": 37.6, "lon": 127.1, "batteryPct": 95, "reportedAt": at(&kb, -10)})).await;
    assert_eq!(stale.body["batteryPct"], 9, "an older report still loses: {stale:?}");
    kb.clock.advance(Duration::seconds(30));
    assert_eq!(
        kb.report("kb-1", json!({"lat": 37.5665, "lon": 126.978, "batteryPct": 95})).await.status,
        StatusCode::OK
    );
    let alice = kb.customer_token("alice");
    let pass = kb.paid_pass(&alice, "basic-60").await;
    let ride = kb.rent(&alice, &pass, "kb-1").await;
    assert_eq!(ride.status, StatusCode::CREATED, "{ride:?}");
    let path = format!("/rentals/{}/return", ride.text("rentalId"));
    let inside = kb.call(Method::POST, &path, Some(&alice), Some(json!({"lat": 37.5685, "lon": 126.9805}))).await;
    assert_problem(&inside, StatusCode::UNPROCESSABLE_ENTITY, "ride-end-not-allowed");
    let outside = kb.call(Method::POST, &path, Some(&alice), Some(json!({"lat": 37.5695, "lon": 126.9805}))).await;
    assert_eq!(outside.status, StatusCode::OK, "{outside:?}");
    kb.stop().await;
}

pub async fn a_parked_board_that_moves_by_itself_tells_the_crew_once_until_it_is_parked_anew(backend: Backend) {
    let kb = TestServer::start_on(backend).await;
    kb.register_board("kb-1").await;
    let admin = kb.admin_token();
    // Where register_board leaves it: 37.5665, 126.9780. About 30 m north: GPS drift.
    let drift = kb.report("kb-1", json!({"lat": 37.56677, "lon": 126.9780, "batteryPct": 90})).await;
    assert_eq!(drift.status, StatusCode::OK, "{drift:?}");
    assert!(kb.crew_alerts().await.iter().all(|alert| !alert.contains("이동")));
    // About 90 m from where it was left, then farther: one alert for the episode.
    kb.report("kb-1", json!({"lat": 37.56731, "lon": 126.9780, "batteryPct": 90})).await;
    kb.report("kb-1", json!({"lat": 37.56800, "lon": 126.9780, "batteryPct": 90})).await;
    let moved: Vec<String> = kb.crew_alerts().await.into_iter().filter(|alert| alert.contains("주차 중")).collect();
    assert_eq!(moved.len(), 1, "{moved:?}");
    assert!(moved[0].contains("kb-1") && moved[0].contains("도난 의심"), "{moved:?}");
    // The crew brings it back into service where it now stands: a new episode starts there.
    kb.call(Method::PUT, "/kickboards/kb-1/status", Some(&admin), Some(json!({"status": "MAINTENANCE"}))).await;
    kb.call(Method::PUT, "/kickboards/kb-1/status", Some(&admin), Some(json!({"status": "AVAILABLE"}))).await;
    kb.report("kb-1", json!({"lat": 37.56810, "lon": 126.9780, "batteryPct": 90})).await;
    kb.report("kb-1", json!({"lat": 37.56950, "lon": 126.9780, "batteryPct": 90})).await;
    let moved = kb.crew_alerts().await.into_iter().filter(|alert| alert.contains("주차 중")).count();
    assert_eq!(moved, 2, "a second episode, told once");
    // A ride parks it anew where it is returned: the next move away is a third episode.
    let alice = kb.customer_token("alice");
    let pass = kb.paid_pass(&alice, "basic-60").await;
    let ride = kb.rent(&alice, &pass, "kb-1").await;
    assert_eq!(ride.status, StatusCode::CREATED, "{ride:?}");
    assert_eq!(kb.give_back(&alice, &ride.text("rentalId")).await.status, StatusCode::OK);
    kb.report("kb-1", json!({"lat": 37.57100, "lon": 126.9780, "batteryPct": 90})).await;
    let moved = kb.crew_alerts().await.into_iter().filter(|alert| alert.contains("주차 중")).count();
    assert_eq!(moved, 3, "a ride starts a new episode");
    kb.stop().await;
}

/// A rented board that says nothing for ten minutes (counted from its rent, or from its last
/// report) tells the crew once; a report ends the silence, and a new one tells them again. A
/// parked board's silence is no one's alarm.
pub async fn a_rented_board_silent_for_ten_minutes_tells_the_crew_once_per_silence(backend: Backend) {
    let kb = TestServer::start_on(backend).await;
    kb.register_board("kb-1").await;
    kb.register_board("kb-2").await;
    let alice = kb.customer_token("alice");
    let pass = kb.paid_pass(&alice, "plus-120").await;
    // kb-1 last reported when registered; its rent, later, starts the count.
    kb.clock.advance(Duration::minutes(30));
    assert_eq!(kb.rent(&alice, &pass, "kb-1").await.status, StatusCode::CREATED);
    let silent = |crew: &[String]| crew.iter().filter(|alert| alert.contains("응답 없음")).count();

    kb.clock.advance(Duration::minutes(9));
    let watched = kb.server.app.watch_rides().await.unwrap();
    assert_eq!((watched.ridden, watched.silent), (1, 0), "nine minutes since the rent");
    kb.clock.advance(Duration::minutes(2));
    assert_eq!(kb.server.app.watch_rides().await.unwrap().silent, 1);
    assert_eq!(kb.server.app.watch_rides().await.unwrap().silent, 0, "the crew hears once");
    let crew = kb.crew_alerts().await;
    assert_eq!(silent(&crew), 1, "{crew:?}");
    assert!(crew.iter().any(|alert| alert.contains("kb-1 대여 중 10분 넘게 응답 없음")), "{crew:?}");

    // It reports again: a later silence is a new one.
    let report = kb.report("kb-1", json!({"lat": 37.57, "lon": 126.98, "batteryPct": 70})).await;
    assert_eq!(report.status, StatusCode::OK, "{report:?}");
    kb.clock.advance(Duration::minutes(11));
    assert_eq!(kb.server.app.watch_rides().await.unwrap().silent, 1);
    assert_eq!(silent(&kb.crew_alerts().await), 2);
    kb.stop().await;
}
