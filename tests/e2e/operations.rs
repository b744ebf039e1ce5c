//! The operators' read routes the console polls: the whole fleet, the rides on the road, the
//! crew's alerts and the day's figures, each counted once however often events arrive.

use chrono::Duration;
use hyper::{Method, StatusCode};
use kickboard_common::domain::events::Subscriber;
use kickboard_common::ports::Clock;
use kickboard_local::relay::{deliver, to_eventbridge};
use kickboard_tests::{Backend, Reply, TestServer};
use serde_json::{Value, json};

fn boards(reply: &Reply) -> Vec<(String, Value)> {
    let boards = reply.body["kickboards"].as_array().unwrap_or_else(|| panic!("{reply:?}"));
    boards.iter().map(|board| (board["kickboardId"].as_str().unwrap().to_owned(), board.clone())).collect()
}

pub async fn operators_see_the_fleet_the_rides_the_crew_alerts_and_the_day_once(backend: Backend) {
    let kb = TestServer::start_on(backend).await;
    let (alice, admin) = (kb.customer_token("alice"), kb.admin_token());
    for board in ["kb-1", "kb-2", "kb-3"] {
        kb.register_board(board).await;
    }
    let service = json!({"status": "MAINTENANCE"});
    let repaired = kb.call(Method::PUT, "/kickboards/kb-3/status", Some(&admin), Some(service)).await;
    assert_eq!(repaired.status, StatusCode::OK, "{repaired:?}");
    let low = kb.report("kb-2", json!({"lat": 37.5666, "lon": 126.9782, "batteryPct": 12})).await;
    assert_eq!(low.status, StatusCode::OK, "{low:?}");
    let price = kb
        .call(Method::GET, "/plans", None, None)
        .await
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|plan| plan["planId"] == "basic-60")
        .map(|plan| plan["priceWon"].as_u64().unwrap())
        .unwrap();
    let pass = kb.paid_pass(&alice, "basic-60").await;
    let ride = kb.rent(&alice, &pass, "kb-1").await;
    assert_eq!(ride.status, StatusCode::CREATED, "{ride:?}");

    // Only the admin group reads them.
    for path in ["/admin/kickboards", "/admin/rentals?status=ACTIVE", "/admin/alerts", "/admin/summary"] {
        assert_eq!(kb.get(path, &alice).await.status, StatusCode::FORBIDDEN, "{path}");
        assert_eq!(kb.call(Method::GET, path, None, None).await.status, StatusCode::UNAUTHORIZED, "{path}");
    }

    // The whole fleet: parked, in maintenance and ridden, each as the map colours it.
    let fleet = kb.get("/admin/kickboards", &admin).await;
    assert_eq!(fleet.status, StatusCode::OK, "{fleet:?}");
    assert_eq!(fleet.body["readAt"], json!(kb.clock.now()), "{fleet:?}");
    let fleet = boards(&fleet);
    assert_eq!(fleet.iter().map(|(id, _)| id.as_str()).collect::<Vec<_>>(), ["kb-1", "kb-2", "kb-3"]);
    let (_, rented) = &fleet[0];
    assert_eq!((&rented["status"], &rented["rentalId"]), (&json!("RENTED"), &json!(ride.text("rentalId"))));
    assert!(rented["rentedAt"].is_string(), "{rented}");
    assert_eq!((&fleet[1].1["batteryLow"], &fleet[1].1["batteryPct"]), (&json!(true), &json!(12)));
    assert_eq!((&fleet[2].1["status"], &fleet[2].1["batteryLow"]), (&json!("MAINTENANCE"), &json!(false)));

    // The rides on the road; the query is checked.
    let rides = kb.get("/admin/rentals?status=ACTIVE", &admin).await;
    assert_eq!(rides.status, StatusCode::OK, "{rides:?}");
    let rides = rides.body["rentals"].as_array().unwrap().clone();
    assert_eq!(rides.len(), 1, "{rides:?}");
    assert_eq!((&rides[0]["kickboardId"], &rides[0]["rentalId"]), (&json!("kb-1"), &json!(ride.text("rentalId"))));
    for (query, detail) in [("", "status: is required"), ("?status=ENDED", "status: only ACTIVE")] {
        let refused = kb.get(&format!("/admin/rentals{query}"), &admin).await;
        assert_eq!((refused.status, refused.problem()), (StatusCode::BAD_REQUEST, "invalid-request"), "{refused:?}");
        assert!(refused.text("detail").starts_with(detail), "{refused:?}");
    }

    // The crew's alert for the low battery, as the notifier logged it.
    kb.settle().await;
    let alerts = kb.get("/admin/alerts", &admin).await;
    assert_eq!(alerts.status, StatusCode::OK, "{alerts:?}");
    let alerts = alerts.body["alerts"].as_array().unwrap().clone();
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!((&alerts[0]["kind"], &alerts[0]["kickboardId"]), (&json!("battery-low"), &json!("kb-2")));
    assert!(alerts[0]["text"].as_str().unwrap().contains("12%"), "{alerts:?}");
    assert_eq!(alerts[0]["lat"], 37.5666);

    // The ride ends after 5 minutes: the day counts it, its minutes and the pass's price.
    kb.clock.advance(Duration::minutes(5));
    let back = kb.give_back(&alice, &ride.text("rentalId")).await;
    assert_eq!(back.status, StatusCode::OK, "{back:?}");
    kb.settle().await;
    let summary = kb.get("/admin/summary", &admin).await;
    assert_eq!(summary.status, StatusCode::OK, "{summary:?}");
    let today = kb.clock.now().with_timezone(&chrono_tz::Asia::Seoul).date_naive().to_string();
    let expected = json!({"readAt": kb.clock.now(), "day": today, "timeZone": "Asia/Seoul", "ridesEnded": 1,
        "minutesBilled": back.body["minutesBilled"], "revenueWon": price, "paymentBreaker": "CLOSED"});
    assert_eq!(summary.body, expected);
    assert_eq!(kb.get("/admin/rentals?status=ACTIVE", &admin).await.body["rentals"], json!([]));

    // Every event delivered again, newest first: nothing is counted or logged twice.
    for entry in kb.outbox_events().await.into_iter().rev() {
        for subscriber in [Subscriber::BalanceView, Subscriber::Notifier] {
            if subscriber.wants(&entry) {
                deliver(&kb.server.app, subscriber, to_eventbridge(&entry).unwrap()).await.unwrap();
            }
        }
    }
    assert_eq!(kb.get("/admin/summary", &admin).await.body, expected);
    assert_eq!(kb.get("/admin/alerts", &admin).await.body["alerts"].as_array().map(Vec::len), Some(1));

    // A day later, the new day starts at nothing; the alert has left the 24-hour window.
    kb.clock.advance(Duration::days(1));
    let tomorrow = kb.get("/admin/summary", &admin).await;
    assert_eq!((&tomorrow.body["ridesEnded"], &tomorrow.body["revenueWon"]), (&json!(0), &json!(0)), "{tomorrow:?}");
    assert_eq!(kb.get("/admin/alerts", &admin).await.body["alerts"], json!([]));
    kb.stop().await;
}
