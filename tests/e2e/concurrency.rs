//! Many customers, one board: the atomic rent write lets exactly one through, and only the
//! winner's rent unlocks the board.

use hyper::StatusCode;
use kickboard_tests::{Backend, TestServer};
use std::sync::Arc;

const RENTERS: usize = 100;

pub async fn a_hundred_customers_race_for_one_board_and_exactly_one_rents_it(backend: Backend) {
    // Only the write side matters here, so events stay in the outbox.
    let kb = Arc::new(TestServer::start_without_relay(backend).await);
    kb.register_board("kb-contested").await;
    let mut buyers = tokio::task::JoinSet::new();
    for i in 0..RENTERS {
        let kb = Arc::clone(&kb);
        buyers.spawn(async move {
            let token = kb.customer_token(&format!("racer-{i}"));
            let pass = kb.paid_pass(&token, "basic-60").await;
            (token, pass)
        });
    }
    let renters = buyers.join_all().await;

    let mut races = tokio::task::JoinSet::new();
    for (token, pass) in renters {
        let kb = Arc::clone(&kb);
        races.spawn(async move { kb.rent(&token, &pass, "kb-contested").await });
    }
    let (mut rented, mut busy) = (0, 0);
    while let Some(reply) = races.join_next().await {
        let reply = reply.unwrap();
        match (reply.status, reply.problem()) {
            (StatusCode::CREATED, _) => rented += 1,
            (StatusCode::CONFLICT, "kickboard-unavailable") => busy += 1,
            other => panic!("unexpected answer {other:?}: {reply:?}"),
        }
    }
    assert_eq!((rented, busy), (1, RENTERS - 1));

    let events = kb.outbox_events().await;
    let rent_events = events.iter().filter(|event| event.detail_type() == "KickboardRented").count();
    assert_eq!(rent_events, 1, "one rent event in the outbox");
    let available = kb.get("/kickboards", &kb.customer_token("racer-0")).await;
    assert_eq!(available.body.as_array().unwrap().len(), 0, "the board is rented");
    if kb.aws.is_none() {
        // The local server's simulated board acknowledged each command it got: one unlock.
        assert_eq!(kb.row_counts().await["commands"], 1, "one unlock sent, for the one winner");
    }
}
