//! The seed flow: buy → pay → rent → alert → return → alert → balance, and the admin's fleet.

use chrono::Duration;
use hyper::{Method, StatusCode};
use kickboard_tests::{Backend, TestServer};
use serde_json::json;

pub async fn a_customer_buys_pays_rents_and_returns_with_alerts_and_balance(backend: Backend) {
    let kb = TestServer::start_on(backend).await;
    let alice = kb.customer_token("alice");
    let admin = kb.admin_token();

    let plans = kb.call(Method::GET, "/plans", None, None).await;
    assert_eq!(plans.status, StatusCode::OK);
    assert_eq!(plans.body[0]["planId"], "basic-60");
    assert_eq!(plans.body[0]["priceWon"], 6000);

    kb.set_phone(&alice, "+821012345678").await;
    kb.register_board("kb-seoul-1").await;

    let bought = kb.post("/passes", &alice, json!({ "planId": "basic-60" })).await;
    assert_eq!(bought.status, StatusCode::CREATED, "{bought:?}");
    assert_eq!(bought.body["status"], "PENDING_PAYMENT");
    assert_eq!(bought.body["minutesLeft"], 60);
    let pass_id = bought.text("passId");

    let paid = kb.call(Method::POST, &format!("/passes/{pass_id}/payment"), Some(&alice), None).await;
    assert_eq!(paid.status, StatusCode::OK, "{paid:?}");
    assert_eq!(paid.body["status"], "ACTIVE");
    assert!(paid.body["paymentId"].is_string() && paid.body["expiresAt"].is_string());
    let pass = kb.get(&format!("/passes/{pass_id}"), &alice).await;
    assert_eq!(pass.body["status"], "ACTIVE");

    let nearby = kb.get("/kickboards?near=37.5666,126.9781&radiusM=200", &alice).await;
    assert_eq!(nearby.body.as_array().unwrap().len(), 1, "{nearby:?}");
    // The law: no ride without a verified driving licence; the number is never shown again.
    let unlicensed = kb.rent(&alice, &pass_id, "kb-seoul-1").await;
    assert_eq!((unlicensed.status, unlicensed.problem()), (StatusCode::UNPROCESSABLE_ENTITY, "licence-required"));
    assert!(unlicensed.body["detail"].as_str().unwrap().contains("PUT /me/licence"), "{unlicensed:?}");
    let verified = kb.verify_licence(&alice).await;
    assert_eq!((verified.body["status"].as_str(), verified.body["last4"].as_str()), (Some("VERIFIED"), Some("3344")));
    let shown = kb.get("/me/licence", &alice).await;
    assert_eq!(shown.body, verified.body);
    assert!(!shown.body.to_string().contains("333333"), "never the number: {shown:?}");
    let rented = kb.rent(&alice, &pass_id, "kb-seoul-1").await;
    assert_eq!(rented.status, StatusCode::CREATED, "{rented:?}");
    assert_eq!(rented.body["status"], "OPEN");
    let rental_id = rented.text("rentalId");
    assert_eq!(kb.get("/kickboards", &alice).await.body, json!([]), "a rented board is not listed");

    kb.settle().await;
    let alerts = kb.alerts("alice").await;
    assert_eq!(alerts.len(), 3, "paid, licence and rented alerts: {alerts:?}");
    assert_eq!(alerts[1]["message"], "[킥보드] 면허 인증이 완료되었습니다", "{alerts:?}");
    assert!(alerts[2]["message"].as_str().unwrap().contains("[킥보드] kb-seoul-1 대여 시작"), "{alerts:?}");
    assert_eq!(alerts[2]["channel"], "sms");

    kb.clock.advance(Duration::seconds(7 * 60 + 30));
    let returned = kb.give_back(&alice, &rental_id).await;
    assert_eq!(returned.status, StatusCode::OK, "{returned:?}");
    assert_eq!(returned.body["status"], "CLOSED");
    assert_eq!(returned.body["minutesBilled"], 8);
    assert_eq!(returned.body["minutesLeft"], 52);

    kb.settle().await;
    let alerts = kb.alerts("alice").await;
    assert_eq!(alerts.len(), 4, "{alerts:?}");
    assert!(alerts[3]["message"].as_str().unwrap().contains("kb-seoul-1 반납 완료: 8분 이용, 잔여 52분"), "{alerts:?}");

    let balance = kb.get(&format!("/passes/{pass_id}/balance"), &alice).await;
    assert_eq!(balance.status, StatusCode::OK, "{balance:?}");
    assert_eq!(balance.body["minutesLeft"], 52);
    assert_eq!(balance.body["minutesUsed"], 8);
    assert_eq!(balance.body["status"], "ACTIVE");
    let mine = kb.get("/me/passes", &alice).await;
    assert_eq!(mine.body.as_array().unwrap().len(), 1);
    assert_eq!(mine.body[0]["passId"], pass_id.as_str());

    let rental = kb.get(&format!("/rentals/{rental_id}"), &alice).await;
    assert_eq!(rental.body["minutesBilled"], 8);

    let retired = kb.call(Method::DELETE, "/kickboards/kb-seoul-1", Some(&admin), None).await;
    assert_eq!(retired.status, StatusCode::NO_CONTENT);
    assert_eq!(kb.get("/kickboards", &alice).await.body, json!([]));
    let again = kb.call(Method::DELETE, "/kickboards/kb-seoul-1", Some(&admin), None).await;
    assert_eq!((again.status, again.problem()), (StatusCode::NOT_FOUND, "kickboard-not-found"));
    kb.stop().await;
}

pub async fn admins_register_and_retire_boards_and_customers_cannot(backend: Backend) {
    let kb = TestServer::start_on(backend).await;
    let (alice, admin) = (kb.customer_token("alice"), kb.admin_token());

    let registered = kb.post("/kickboards", &admin, json!({ "model": "Segway", "lat": 37.5, "lon": 127.0 })).await;
    assert_eq!(registered.status, StatusCode::CREATED, "{registered:?}");
    assert_eq!(registered.body["status"], "AVAILABLE");
    let board_id = registered.text("kickboardId");

    let taken =
        kb.post("/kickboards", &admin, json!({ "kickboardId": board_id, "model": "X", "lat": 1, "lon": 1 })).await;
    assert_eq!((taken.status, taken.problem()), (StatusCode::CONFLICT, "kickboard-id-taken"));

    let before = kb.row_counts().await;
    let by_customer = kb.post("/kickboards", &alice, json!({ "model": "X", "lat": 1, "lon": 1 })).await;
    assert_eq!((by_customer.status, by_customer.problem()), (StatusCode::FORBIDDEN, "forbidden"));
    let delete = kb.call(Method::DELETE, &format!("/kickboards/{board_id}"), Some(&alice), None).await;
    assert_eq!(delete.status, StatusCode::FORBIDDEN);
    assert_eq!(kb.row_counts().await, before, "refused fleet changes write nothing");

    let listed = kb.get("/kickboards", &alice).await;
    assert_eq!(listed.body.as_array().unwrap().len(), 1);
    let far = kb.get("/kickboards?near=35.1,129.0&radiusM=1000", &alice).await;
    assert_eq!(far.body, json!([]), "a board in Seoul is not near Busan");

    let retired = kb.call(Method::DELETE, &format!("/kickboards/{board_id}"), Some(&admin), None).await;
    assert_eq!(retired.status, StatusCode::NO_CONTENT);
    assert_eq!(kb.get("/kickboards", &alice).await.body, json!([]));
    kb.stop().await;
}
