//! Events keep flowing after what used to strand them: a 100-way race for one board (99
//! cancelled transactions), a refused rent, and a restart of the server in mid-flow.

use hyper::{Method, StatusCode};
use kickboard_tests::{Backend, TestServer};
use serde_json::json;
use std::sync::Arc;

const RACERS: usize = 100;

/// The phone of racer `i`, so each one's alerts can be found.
fn phone(i: usize) -> String {
    format!("+8210{:08}", 20_000_000 + i)
}

pub async fn events_still_flow_after_a_race_a_refused_rent_and_a_restart(backend: Backend) {
    let kb = Arc::new(TestServer::start_durable(backend).await);
    kb.register_board("kb-contested").await;
    kb.register_board("kb-spare").await;
    let mut buyers = tokio::task::JoinSet::new();
    for i in 0..RACERS {
        let kb = Arc::clone(&kb);
        buyers.spawn(async move {
            let token = kb.customer_token(&format!("racer-{i}"));
            kb.set_phone(&token, &phone(i)).await;
            let pass = kb.paid_pass(&token, "basic-60").await;
            (i, token, pass)
        });
    }
    let mut races = tokio::task::JoinSet::new();
    for (i, token, pass) in buyers.join_all().await {
        let kb = Arc::clone(&kb);
        races.spawn(async move {
            let reply = kb.rent(&token, &pass, "kb-contested").await;
            (i, token, pass, reply)
        });
    }
    let mut winners = Vec::new();
    while let Some(raced) = races.join_next().await {
        let (i, token, pass, reply) = raced.unwrap();
        match reply.status {
            StatusCode::CREATED => winners.push((i, token, pass, reply.text("rentalId"))),
            StatusCode::CONFLICT => assert_eq!(reply.problem(), "kickboard-unavailable", "{reply:?}"),
            _ => panic!("unexpected answer: {reply:?}"),
        }
    }
    assert_eq!(winners.len(), 1, "one board, one renter");
    let (winner, winner_token, winner_pass, rental) = winners.remove(0);

    // A refused rent: the pass is not paid.
    let carol = kb.customer_token("carol");
    kb.set_contact(&carol, json!({ "phone": "+821055556666", "locale": "en" })).await;
    kb.verify_licence(&carol).await;
    let unpaid = kb.unpaid_pass(&carol, "basic-60").await;
    let refused = kb.rent(&carol, &unpaid, "kb-spare").await;
    assert_eq!((refused.status, refused.problem()), (StatusCode::UNPROCESSABLE_ENTITY, "pass-not-active"));

    // A new purchase after all that reaches the balance view, and the winner's alerts go out.
    let fresh = kb.unpaid_pass(&carol, "plus-120").await;
    assert_eq!(kb.give_back(&winner_token, &rental).await.status, StatusCode::OK);
    // Some 500 events through one serialised emulator: a bounded wait, not a timing claim.
    kb.settle_within(std::time::Duration::from_secs(30)).await;
    let balances = kb.get("/me/passes", &carol).await.body;
    let viewed: Vec<&str> = balances.as_array().unwrap().iter().map(|b| b["passId"].as_str().unwrap()).collect();
    assert!(viewed.contains(&fresh.as_str()) && viewed.contains(&unpaid.as_str()), "{balances}");
    let alerts = kb.alerts(&format!("racer-{winner}")).await;
    assert_eq!(alerts.len(), 4, "licence, paid, rented, returned, once each: {alerts:?}");
    assert!(alerts[2]["message"].as_str().unwrap().contains("kb-contested 대여 시작"), "{alerts:?}");
    let loser = (winner + 1) % RACERS;
    assert_eq!(kb.alerts(&format!("racer-{loser}")).await.len(), 2, "a loser was told of the licence and payment");

    // Restart in mid-flow: carol pays, the server stops before or after relaying it, and
    // the next server carries on where the last one left off, sending nothing twice.
    let paid = kb.call(Method::POST, &format!("/passes/{fresh}/payment"), Some(&carol), None).await;
    assert_eq!(paid.status, StatusCode::OK, "{paid:?}");
    let kb = Arc::into_inner(kb).expect("no racer holds the server").restart().await;
    let carol = kb.customer_token("carol");
    let ride = kb.rent(&carol, &fresh, "kb-spare").await;
    assert_eq!(ride.status, StatusCode::CREATED, "{ride:?}");
    assert_eq!(kb.give_back(&carol, &ride.text("rentalId")).await.status, StatusCode::OK);
    kb.settle_within(std::time::Duration::from_secs(30)).await;
    let alerts = kb.alerts("carol").await;
    let texts: Vec<&str> = alerts.iter().map(|alert| alert["message"].as_str().unwrap()).collect();
    assert_eq!(texts.len(), 4, "licence, paid, rented, returned, once each, in English: {texts:?}");
    assert!(texts.iter().all(|text| text.starts_with("[Kickboard]")), "{texts:?}");
    let balance = kb.get(&format!("/passes/{fresh}/balance"), &carol).await;
    assert_eq!((balance.body["status"].as_str(), balance.body["minutesLeft"].as_u64()), (Some("ACTIVE"), Some(119)));
    let winner_token = kb.customer_token(&format!("racer-{winner}"));
    let winners_balance = kb.get(&format!("/passes/{winner_pass}/balance"), &winner_token).await;
    assert_eq!(winners_balance.body["minutesUsed"], 1, "{winners_balance:?}");
    assert_eq!(kb.alerts(&format!("racer-{winner}")).await.len(), 4, "nothing sent again after the restart");
    kb.stop().await;
}
