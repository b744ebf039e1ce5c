//! The sample events in `events/` are what the event functions really accept.

use kickboard_common::domain::events::Subscriber;
use kickboard_common::handlers::events::KickboardEvent;
use kickboard_local::config::Storage;
use kickboard_local::relay::deliver;
use kickboard_tests::{ManualClock, TestServer};

fn sample(name: &str) -> KickboardEvent {
    let path = format!("{}/../events/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{path}: {error}"));
    serde_json::from_str(&text).unwrap_or_else(|error| panic!("{path}: {error}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sample_events_drive_the_notifier_and_the_balance_view() {
    let kb = TestServer::start_with(Storage::InMemory, false, ManualClock::new()).await;
    let customer = kb.customer_token("customer-1");
    kb.set_phone(&customer, "+821012345678").await;

    let rented = sample("notifier.json");
    assert!(Subscriber::Notifier.wants(&rented.detail));
    deliver(&kb.server.app, Subscriber::Notifier, rented.clone()).await.unwrap();
    deliver(&kb.server.app, Subscriber::Notifier, rented).await.unwrap();
    let alerts = kb.alerts("customer-1").await;
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert!(alerts[0]["message"].as_str().unwrap().contains("[킥보드] kb-seoul-1 대여 시작 (18:00)"));

    let returned = sample("balance-view.json");
    assert!(Subscriber::BalanceView.wants(&returned.detail));
    deliver(&kb.server.app, Subscriber::BalanceView, returned).await.unwrap();
    let balance = kb.get("/passes/p-0001/balance", &customer).await;
    assert_eq!(balance.body["minutesLeft"], 52, "{balance:?}");
    assert_eq!(balance.body["version"], 3);
    kb.stop().await;
}
