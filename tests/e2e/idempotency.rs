//! `Idempotency-Key`: a retry gets the first answer and writes nothing; a reused key with
//! another body is refused; nothing is charged or rented twice.

use chrono::Duration;
use hyper::{Method, StatusCode};
use kickboard_common::adapters::payment_simulator::SimulatorSettings;
use kickboard_common::invocation;
use kickboard_common::ports::{Clock, KeyClaim, KeyClaimed};
use kickboard_tests::{Backend, TestServer};
use serde_json::json;
use std::sync::Arc;

pub async fn retries_with_a_key_get_the_first_answer_and_write_nothing(backend: Backend) {
    let kb = TestServer::start_on(backend).await;
    let (alice, bob) = (kb.customer_token("alice"), kb.customer_token("bob"));
    kb.verify_licence(&alice).await;
    kb.register_board("kb-1").await;
    let basic = Some(json!({ "planId": "basic-60" }));

    let bought = kb.call_with_key(Method::POST, "/passes", &alice, basic.clone(), "buy-1").await;
    assert_eq!(bought.status, StatusCode::CREATED, "{bought:?}");
    let pass = bought.text("passId");
    let counts = kb.row_counts().await;
    let again = kb.call_with_key(Method::POST, "/passes", &alice, basic.clone(), "buy-1").await;
    assert_eq!((again.status, again.text("passId")), (StatusCode::CREATED, pass.clone()), "the first answer again");
    assert_eq!(kb.row_counts().await, counts, "a retry writes nothing");
    let reused =
        kb.call_with_key(Method::POST, "/passes", &alice, Some(json!({ "planId": "plus-120" })), "buy-1").await;
    assert_eq!((reused.status, reused.problem()), (StatusCode::UNPROCESSABLE_ENTITY, "idempotency-key-reused"));
    assert_eq!(kb.row_counts().await, counts, "a reused key writes nothing");
    let bobs = kb.call_with_key(Method::POST, "/passes", &bob, basic, "buy-1").await;
    assert_ne!(bobs.text("passId"), pass, "keys are per customer");

    let path = format!("/passes/{pass}/payment");
    let paid = kb.call_with_key(Method::POST, &path, &alice, None, "pay-1").await;
    assert_eq!(paid.status, StatusCode::OK, "{paid:?}");
    let repaid = kb.call_with_key(Method::POST, &path, &alice, None, "pay-1").await;
    assert_eq!(repaid.status, StatusCode::OK, "a retried payment is answered, not refused: {repaid:?}");
    assert_eq!(repaid.body["paymentId"], paid.body["paymentId"]);
    assert_eq!(kb.simulator().charge_count(), 1, "charged once");
    let without_key = kb.call(Method::POST, &path, Some(&alice), None).await;
    assert_eq!(without_key.problem(), "pass-already-paid");

    let rent = Some(json!({ "passId": pass, "kickboardId": "kb-1" }));
    let rented = kb.call_with_key(Method::POST, "/rentals", &alice, rent.clone(), "rent-1").await;
    assert_eq!(rented.status, StatusCode::CREATED, "{rented:?}");
    let counts = kb.row_counts().await;
    let rerented = kb.call_with_key(Method::POST, "/rentals", &alice, rent, "rent-1").await;
    assert_eq!((rerented.status, rerented.text("rentalId")), (StatusCode::CREATED, rented.text("rentalId")));
    assert_eq!(kb.row_counts().await, counts);
    let rents = kb.outbox_events().await.iter().filter(|event| event.detail_type() == "KickboardRented").count();
    assert_eq!(rents, 1);

    let bad = kb.call_with_key(Method::POST, "/passes", &alice, Some(json!({ "planId": "basic-60" })), "a/b").await;
    assert_eq!((bad.status, bad.body["field"].as_str()), (StatusCode::BAD_REQUEST, Some("Idempotency-Key")));
    kb.stop().await;
}

pub async fn a_key_is_held_while_its_request_runs_and_answers_expire(backend: Backend) {
    let kb = Arc::new(TestServer::start_on(backend).await);
    let alice = kb.customer_token("alice");
    let pass = kb.unpaid_pass(&alice, "basic-60").await;

    // Two payments with one key at once: the provider is called once; the other request is
    // told to wait, or (if it came after) gets the first answer.
    kb.simulator().set_settings(SimulatorSettings { latency_ms: 300, ..SimulatorSettings::default() });
    let path = format!("/passes/{pass}/payment");
    let mut payers = tokio::task::JoinSet::new();
    for _ in 0..2 {
        let (kb, alice, path) = (Arc::clone(&kb), alice.clone(), path.clone());
        payers.spawn(async move { kb.call_with_key(Method::POST, &path, &alice, None, "pay-twice").await });
    }
    let mut replies = payers.join_all().await;
    replies.sort_by_key(|reply| reply.status);
    assert_eq!(replies[0].status, StatusCode::OK, "{replies:?}");
    match replies[1].status {
        StatusCode::CONFLICT => {
            assert_eq!(replies[1].problem(), "request-in-progress");
            assert!(replies[1].retry_after.is_some_and(|secs| secs >= 1), "{:?}", replies[1]);
        }
        status => assert_eq!((status, &replies[1].body["paymentId"]), (StatusCode::OK, &replies[0].body["paymentId"])),
    }
    assert_eq!(kb.simulator().charge_count(), 1, "one provider charge");
    kb.simulator().set_settings(SimulatorSettings::default());

    // A claim left by a function that died blocks its key only until the claim expires.
    let body = json!({ "planId": "basic-60" });
    let now = kb.clock.now();
    let dead = KeyClaim {
        scope: "alice/purchase-pass/died".into(),
        request: body.to_string(),
        token: "a-function-that-timed-out".into(),
        now,
        until: now + Duration::seconds(30),
    };
    // Claimed as purchase-pass claims it, with its role, by an invocation that then died.
    let claimed = invocation::running_as("purchase-pass", kb.server.app.ports.answers.claim_key(&dead)).await;
    assert_eq!(claimed.unwrap(), KeyClaimed::Claimed);
    let blocked = kb.call_with_key(Method::POST, "/passes", &alice, Some(body.clone()), "died").await;
    assert_eq!((blocked.status, blocked.problem()), (StatusCode::CONFLICT, "request-in-progress"));
    assert!(blocked.retry_after.is_some_and(|secs| (1..=30).contains(&secs)), "{blocked:?}");
    kb.clock.advance(Duration::seconds(31));
    let done = kb.call_with_key(Method::POST, "/passes", &alice, Some(body.clone()), "died").await;
    assert_eq!(done.status, StatusCode::CREATED, "the next retry does the work: {done:?}");

    // An answer is given again for a day, not after.
    kb.clock.advance(Duration::hours(23));
    let replayed = kb.call_with_key(Method::POST, "/passes", &alice, Some(body.clone()), "died").await;
    assert_eq!(replayed.text("passId"), done.text("passId"));
    kb.clock.advance(Duration::hours(2));
    let fresh = kb.call_with_key(Method::POST, "/passes", &alice, Some(body), "died").await;
    assert_eq!(fresh.status, StatusCode::CREATED);
    assert_ne!(fresh.text("passId"), done.text("passId"), "an expired answer is not replayed");
    Arc::into_inner(kb).unwrap().stop().await;
}

/// A request with a key that fails gives the key back at once: the retry after the cause is
/// mended does the work, rather than waiting out the claim (`409 request-in-progress`).
pub async fn a_failed_request_gives_its_key_back_at_once(backend: Backend) {
    let kb = TestServer::start_on(backend).await;
    let alice = kb.customer_token("alice");
    kb.verify_licence(&alice).await;

    let unknown = kb.call_with_key(Method::POST, "/passes", &alice, Some(json!({ "planId": "gold-999" })), "buy").await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY, "{unknown:?}");
    let bought = kb.call_with_key(Method::POST, "/passes", &alice, Some(json!({ "planId": "basic-60" })), "buy").await;
    assert_eq!(bought.status, StatusCode::CREATED, "purchase-pass gave its key back: {bought:?}");
    let pass = bought.text("passId");

    kb.simulator().set_settings(SimulatorSettings { failure_rate: 1.0, ..SimulatorSettings::default() });
    let payment = format!("/passes/{pass}/payment");
    let failed = kb.call_with_key(Method::POST, &payment, &alice, None, "pay").await;
    assert_eq!(failed.status, StatusCode::SERVICE_UNAVAILABLE, "{failed:?}");
    kb.simulator().set_settings(SimulatorSettings::default());
    let paid = kb.call_with_key(Method::POST, &payment, &alice, None, "pay").await;
    assert_eq!(paid.status, StatusCode::OK, "pay-pass gave its key back: {paid:?}");

    let rent = json!({ "passId": pass, "kickboardId": "kb-late" });
    let missing = kb.call_with_key(Method::POST, "/rentals", &alice, Some(rent.clone()), "ride").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND, "{missing:?}");
    kb.register_board("kb-late").await;
    let rented = kb.call_with_key(Method::POST, "/rentals", &alice, Some(rent), "ride").await;
    assert_eq!(rented.status, StatusCode::CREATED, "rent-kickboard gave its key back: {rented:?}");
}
