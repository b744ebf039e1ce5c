//! `Idempotency-Key`: a retry gets the first answer and writes nothing; a reused key with
//! another body is refused; nothing is charged or rented twice.

use hyper::{Method, StatusCode};
use kickboard_tests::{Backend, TestServer};
use serde_json::json;

pub async fn retries_with_a_key_get_the_first_answer_and_write_nothing(backend: Backend) {
    let kb = TestServer::start_on(backend).await;
    let (alice, bob) = (kb.customer_token("alice"), kb.customer_token("bob"));
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
