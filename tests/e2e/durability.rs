//! A crash between a write and its relay loses nothing: after a restart on the same data
//! dir the outbox is relayed, and only once.

use kickboard_local::config::Storage;
use kickboard_tests::{ManualClock, TempDir, TestServer};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_written_before_a_stop_are_relayed_once_after_the_restart() {
    let dir = TempDir::default();
    let clock = ManualClock::new();

    // First run: the relay never gets to these events.
    let kb = TestServer::start_with(Storage::DataDir(dir.0.clone()), false, clock.clone()).await;
    let alice = kb.customer_token("alice");
    kb.set_phone(&alice, "+821012345678").await;
    kb.register_board("kb-1").await;
    let pass = kb.paid_pass(&alice, "basic-60").await;
    let rental = kb.rent(&alice, &pass, "kb-1").await.text("rentalId");
    assert!(kb.alerts("alice").await.is_empty(), "nothing relayed yet");
    kb.stop().await;

    // Second run, same data dir: the token still verifies and the outbox drains.
    let kb = TestServer::start_with(Storage::DataDir(dir.0.clone()), true, clock.clone()).await;
    kb.settle().await;
    let alerts = kb.alerts("alice").await;
    assert_eq!(alerts.len(), 3, "licence, paid and rented, once each: {alerts:?}");
    let balance = kb.get(&format!("/passes/{pass}/balance"), &alice).await;
    assert_eq!(balance.body["status"], "ACTIVE", "{balance:?}");
    assert_eq!(kb.give_back(&alice, &rental).await.status, hyper::StatusCode::OK);
    kb.settle().await;
    kb.stop().await;

    // Third run: nothing is sent twice.
    let kb = TestServer::start_with(Storage::DataDir(dir.0.clone()), true, clock).await;
    kb.settle().await;
    assert_eq!(kb.alerts("alice").await.len(), 4, "licence, paid, rented, returned; none repeated");
    assert_eq!(kb.get(&format!("/passes/{pass}/balance"), &alice).await.body["minutesLeft"], 59);
    kb.stop().await;
}
