//! The rules: who may rent with what, what a return bills, and that refusals write nothing.

use chrono::Duration;
use hyper::{Method, StatusCode};
use kickboard_common::adapters::payment_simulator::SimulatorSettings;
use kickboard_tests::{Backend, Reply, TestServer};
use serde_json::json;

fn assert_problem(reply: &Reply, status: StatusCode, problem: &str) {
    assert_eq!((reply.status, reply.problem()), (status, problem), "{reply:?}");
    assert_eq!(reply.content_type.as_deref(), Some("application/problem+json"));
}

pub async fn renting_needs_your_own_paid_unexpired_pass_with_minutes(backend: Backend) {
    let kb = TestServer::start_on(backend).await;
    let (alice, bob) = (kb.customer_token("alice"), kb.customer_token("bob"));
    kb.register_board("kb-1").await;
    kb.verify_licence(&alice).await;
    let unpaid = kb.unpaid_pass(&alice, "basic-60").await;
    let bobs = kb.paid_pass(&bob, "basic-60").await;

    let before = kb.row_counts().await;
    assert_problem(&kb.rent(&alice, &unpaid, "kb-1").await, StatusCode::UNPROCESSABLE_ENTITY, "pass-not-active");
    assert_problem(&kb.rent(&alice, &bobs, "kb-1").await, StatusCode::NOT_FOUND, "pass-not-found");
    assert_problem(&kb.rent(&alice, "no-such-pass", "kb-1").await, StatusCode::NOT_FOUND, "pass-not-found");
    assert_problem(&kb.rent(&bob, &bobs, "no-such-board").await, StatusCode::NOT_FOUND, "kickboard-not-found");
    assert_eq!(kb.row_counts().await, before, "refused rentals write nothing");

    kb.clock.advance(Duration::days(30));
    assert_problem(&kb.rent(&bob, &bobs, "kb-1").await, StatusCode::UNPROCESSABLE_ENTITY, "pass-expired");
    assert_eq!(kb.get(&format!("/passes/{bobs}"), &bob).await.body["status"], "EXPIRED");
    assert_eq!(kb.row_counts().await, before);
    kb.stop().await;
}

pub async fn one_open_rental_per_pass_and_one_renter_per_board(backend: Backend) {
    let kb = TestServer::start_on(backend).await;
    let (alice, bob) = (kb.customer_token("alice"), kb.customer_token("bob"));
    kb.register_board("kb-1").await;
    kb.register_board("kb-2").await;
    let alices = kb.paid_pass(&alice, "plus-120").await;
    let bobs = kb.paid_pass(&bob, "plus-120").await;

    let first = kb.rent(&alice, &alices, "kb-1").await;
    assert_eq!(first.status, StatusCode::CREATED);
    let before = kb.row_counts().await;
    assert_problem(&kb.rent(&alice, &alices, "kb-2").await, StatusCode::CONFLICT, "pass-has-open-rental");
    assert_problem(&kb.rent(&bob, &bobs, "kb-1").await, StatusCode::CONFLICT, "kickboard-unavailable");
    let delete = kb.call(Method::DELETE, "/kickboards/kb-1", Some(&kb.admin_token()), None).await;
    assert_problem(&delete, StatusCode::CONFLICT, "kickboard-rented");
    assert_eq!(kb.row_counts().await, before, "conflicts write nothing");

    let rental_id = first.text("rentalId");
    assert_problem(&kb.give_back(&bob, &rental_id).await, StatusCode::NOT_FOUND, "rental-not-found");
    assert_problem(&kb.get(&format!("/rentals/{rental_id}"), &bob).await, StatusCode::NOT_FOUND, "rental-not-found");
    assert_eq!(kb.give_back(&alice, &rental_id).await.status, StatusCode::OK);
    assert_problem(&kb.give_back(&alice, &rental_id).await, StatusCode::CONFLICT, "rental-already-returned");
    assert_eq!(kb.rent(&bob, &bobs, "kb-1").await.status, StatusCode::CREATED, "a returned board rents again");
    kb.stop().await;
}

pub async fn returns_bill_whole_minutes_record_overage_and_exhaust_the_pass(backend: Backend) {
    let kb = TestServer::start_on(backend).await;
    let alice = kb.customer_token("alice");
    kb.register_board("kb-1").await;
    let pass = kb.paid_pass(&alice, "basic-60").await;

    let ride = |seconds: i64| {
        let (kb, alice, pass) = (&kb, &alice, &pass);
        async move {
            let rental = kb.rent(alice, pass, "kb-1").await;
            assert_eq!(rental.status, StatusCode::CREATED, "{rental:?}");
            kb.clock.advance(Duration::seconds(seconds));
            let returned = kb.give_back(alice, &rental.text("rentalId")).await;
            assert_eq!(returned.status, StatusCode::OK, "{returned:?}");
            returned.body
        }
    };
    let instant = ride(0).await;
    assert_eq!((instant["minutesBilled"].as_u64(), instant["minutesLeft"].as_u64()), (Some(1), Some(59)));
    let exact = ride(60).await;
    assert_eq!(exact["minutesBilled"], 1, "a full minute is one minute");
    let started = ride(61).await;
    assert_eq!(started["minutesBilled"], 2, "a started minute counts");
    assert_eq!(started["minutesLeft"], 56);
    let long = ride(55 * 60).await;
    assert_eq!((long["minutesBilled"].as_u64(), long["minutesLeft"].as_u64()), (Some(55), Some(1)));
    let over = ride(3 * 60 - 1).await;
    assert_eq!(over["minutesBilled"], 3);
    assert_eq!(over["overageMinutes"], 2);
    assert_eq!(over["minutesLeft"], 0);

    let pass_view = kb.get(&format!("/passes/{pass}"), &alice).await;
    assert_eq!(pass_view.body["status"], "EXHAUSTED");
    assert_eq!(pass_view.body["minutesUsed"], 62);
    assert_eq!(pass_view.body["overageMinutes"], 2);
    let before = kb.row_counts().await;
    assert_problem(&kb.rent(&alice, &pass, "kb-1").await, StatusCode::UNPROCESSABLE_ENTITY, "pass-exhausted");
    assert_eq!(kb.row_counts().await, before);

    kb.settle().await;
    let balance = kb.get(&format!("/passes/{pass}/balance"), &alice).await.body;
    assert_eq!((balance["status"].as_str(), balance["minutesLeft"].as_u64()), (Some("EXHAUSTED"), Some(0)));
    assert_eq!(balance["overageMinutes"], 2);
    kb.stop().await;
}

pub async fn payment_is_taken_once_and_refusals_leave_the_pass_payable(backend: Backend) {
    let kb = TestServer::start_on(backend).await;
    let (alice, bob) = (kb.customer_token("alice"), kb.customer_token("bob"));
    let unknown = kb.post("/passes", &alice, json!({ "planId": "gold-9999" })).await;
    assert_problem(&unknown, StatusCode::UNPROCESSABLE_ENTITY, "unknown-plan");

    let pass = kb.unpaid_pass(&alice, "basic-60").await;
    let pay = |token: String| {
        let (kb, path) = (&kb, format!("/passes/{pass}/payment"));
        async move { kb.call(Method::POST, &path, Some(&token), None).await }
    };
    assert_problem(&pay(bob.clone()).await, StatusCode::NOT_FOUND, "pass-not-found");

    let simulator = kb.simulator();
    simulator.set_settings(SimulatorSettings { decline_rate: 1.0, ..SimulatorSettings::default() });
    assert_problem(&pay(alice.clone()).await, StatusCode::PAYMENT_REQUIRED, "payment-declined");
    simulator.set_settings(SimulatorSettings { failure_rate: 1.0, ..SimulatorSettings::default() });
    let unavailable = pay(alice.clone()).await;
    assert_problem(&unavailable, StatusCode::SERVICE_UNAVAILABLE, "payment-unavailable");
    assert_eq!(kb.get(&format!("/passes/{pass}"), &alice).await.body["status"], "PENDING_PAYMENT");
    assert_eq!(simulator.charge_count(), 0, "nothing charged yet");

    simulator.set_settings(SimulatorSettings::default());
    assert_eq!(pay(alice.clone()).await.status, StatusCode::OK);
    assert_problem(&pay(alice.clone()).await, StatusCode::CONFLICT, "pass-already-paid");
    assert_eq!(simulator.charge_count(), 1, "one charge for one pass");

    let others_balance = kb.get(&format!("/passes/{pass}/balance"), &bob).await;
    assert_eq!(others_balance.status, StatusCode::NOT_FOUND);
    kb.stop().await;
}

pub async fn the_payment_simulator_is_set_over_http(backend: Backend) {
    let kb = TestServer::start_on(backend).await;
    let body = json!({ "latencyMs": 5, "failureRate": 0.25, "declineRate": 0.5 });
    let set = kb.call(Method::PUT, "/local/payment-simulator", None, Some(body)).await;
    assert_eq!(set.status, StatusCode::NO_CONTENT);
    let settings = kb.simulator().settings();
    assert_eq!((settings.latency_ms, settings.failure_rate, settings.decline_rate), (5, 0.25, 0.5));
    let bad = kb.call(Method::PUT, "/local/payment-simulator", None, Some(json!({ "failureRate": 2 }))).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    kb.stop().await;
}

pub async fn a_customer_sees_only_their_own_rides_newest_first_a_page_at_a_time(backend: Backend) {
    let kb = TestServer::start_on(backend).await;
    let (alice, bob) = (kb.customer_token("alice"), kb.customer_token("bob"));
    kb.register_board("kb-1").await;
    let alices = kb.paid_pass(&alice, "plus-120").await;
    let bobs = kb.paid_pass(&bob, "plus-120").await;
    let mut ridden = Vec::new();
    for ride in 0..5 {
        let rented = kb.rent(&alice, &alices, "kb-1").await;
        assert_eq!(rented.status, StatusCode::CREATED, "{rented:?}");
        ridden.push(rented.text("rentalId"));
        kb.clock.advance(Duration::minutes(2));
        if ride < 4 {
            assert_eq!(kb.give_back(&alice, ridden.last().unwrap()).await.status, StatusCode::OK);
        }
    }
    kb.register_board("kb-2").await;
    let bobs_ride = kb.rent(&bob, &bobs, "kb-2").await.text("rentalId");

    // Newest first, two at a time; the open ride is the first, the last page has no cursor.
    let mut seen = Vec::new();
    let mut path = "/me/rentals?limit=2".to_owned();
    let mut cursors = Vec::new();
    loop {
        let page = kb.get(&path, &alice).await;
        assert_eq!(page.status, StatusCode::OK, "{page:?}");
        let rentals = page.body["rentals"].as_array().unwrap();
        assert!(rentals.len() <= 2, "{page:?}");
        seen.extend(rentals.iter().map(|rental| rental["rentalId"].as_str().unwrap().to_owned()));
        match page.body["next"].as_str() {
            Some(next) => {
                cursors.push(next.to_owned());
                path = format!("/me/rentals?limit=2&next={next}");
            }
            None => break,
        }
    }
    ridden.reverse();
    assert_eq!(seen, ridden, "every ride once, newest first");
    let first = &kb.get("/me/rentals", &alice).await.body["rentals"];
    assert_eq!((first[0]["status"].as_str(), first[1]["status"].as_str()), (Some("OPEN"), Some("CLOSED")));
    assert!(first[1]["minutesBilled"].as_u64().is_some() && first[1]["kickboardId"] == "kb-1", "{first}");
    let bobs_list = kb.get("/me/rentals", &bob).await;
    assert_eq!(bobs_list.body["rentals"].as_array().unwrap().len(), 1);
    assert_eq!(bobs_list.body["rentals"][0]["rentalId"], bobs_ride.as_str());

    // A cursor is the caller's own: bob cannot page through alice's rides with hers.
    let bad = |reply: &Reply, field: &str| {
        assert_problem(reply, StatusCode::BAD_REQUEST, "invalid-request");
        assert_eq!(reply.body["field"], field, "{reply:?}");
    };
    bad(&kb.get(&format!("/me/rentals?next={}", cursors[0]), &bob).await, "next");
    let (position, tag) = cursors[0].split_once('.').unwrap();
    let (kept, last) = position.split_at(position.len() - 1);
    let altered = format!("{kept}{}.{tag}", if last == "A" { "B" } else { "A" });
    for forged in [altered.as_str(), "abc.def", "nonsense"] {
        bad(&kb.get(&format!("/me/rentals?next={forged}"), &alice).await, "next");
    }
    for limit in ["0", "101", "1000", "-1", "two"] {
        bad(&kb.get(&format!("/me/rentals?limit={limit}"), &alice).await, "limit");
    }
    assert_eq!(kb.get("/me/rentals?limit=100", &alice).await.body["rentals"].as_array().unwrap().len(), 5);
    kb.stop().await;
}
