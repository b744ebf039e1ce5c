//! At-least-once, unordered delivery: every event twice, shuffled, to both subscribers.
//! Balances still end right and each alert goes out once.

use chrono::Duration;
use hyper::{Method, StatusCode};
use kickboard_common::domain::events::Subscriber;
use kickboard_common::handlers::notifier::NO_CONTACT;
use kickboard_local::config::Storage;
use kickboard_local::relay::{deliver, to_eventbridge};
use kickboard_tests::{ManualClock, TestServer, shuffle};
use serde_json::json;
use std::collections::HashMap;
use std::sync::Arc;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicated_shuffled_events_give_exact_balances_and_one_alert_each() {
    let kb = TestServer::start_with(Storage::InMemory, false, ManualClock::new()).await;
    let (alice, bob, dave) = (kb.customer_token("alice"), kb.customer_token("bob"), kb.customer_token("dave"));
    kb.set_phone(&alice, "+821011112222").await;
    let contact = json!({ "phone": "+821033334444", "pushPlatform": "FCM", "pushToken": "bob-phone", "channels": ["sms", "push"] });
    assert_eq!(kb.call(Method::PUT, "/me/contact", Some(&bob), Some(contact)).await.status, StatusCode::OK);
    kb.register_board("kb-1").await;
    kb.register_board("kb-2").await;

    let mut passes = Vec::new();
    for (token, rides) in [(&alice, vec![450, 61]), (&bob, vec![3000]), (&dave, vec![10])] {
        let pass = kb.paid_pass(token, "basic-60").await;
        for seconds in rides {
            let rental = kb.rent(token, &pass, "kb-1").await;
            kb.clock.advance(Duration::seconds(seconds));
            assert_eq!(kb.give_back(token, &rental.text("rentalId")).await.status, StatusCode::OK);
        }
        passes.push((token.clone(), pass));
    }
    let unpaid = kb.unpaid_pass(&alice, "plus-120").await;
    passes.push((alice.clone(), unpaid));

    let events = kb.outbox_events().await;
    let mut deliveries: Vec<_> = events.iter().chain(events.iter()).collect();
    shuffle(&mut deliveries, 0x5eed_cafe_f00d);
    for event in deliveries {
        for subscriber in Subscriber::ALL.into_iter().filter(|subscriber| subscriber.wants(event)) {
            deliver(&kb.server.app, subscriber, to_eventbridge(event).unwrap()).await.unwrap();
        }
    }
    // And one event delivered ten times at once: the ledger admits one (it was sent above);
    // a delivery that finds another one's claim in progress fails, to be retried.
    let racing = events.iter().find(|event| event.detail_type() == "KickboardRented").unwrap();
    let mut burst = tokio::task::JoinSet::new();
    for _ in 0..10 {
        let (app, event) = (Arc::clone(&kb.server.app), to_eventbridge(racing).unwrap());
        burst.spawn(async move { deliver(&app, Subscriber::Notifier, event).await });
    }
    while let Some(result) = burst.join_next().await {
        result.unwrap().unwrap();
    }

    for (token, pass) in &passes {
        let written = kb.get(&format!("/passes/{pass}"), token).await.body;
        let viewed = kb.get(&format!("/passes/{pass}/balance"), token).await.body;
        for field in ["status", "minutesTotal", "minutesLeft", "minutesUsed", "overageMinutes"] {
            assert_eq!(viewed[field], written[field], "{field} of {pass}: view {viewed} vs pass {written}");
        }
    }
    assert_eq!(kb.get("/me/passes", &alice).await.body.as_array().unwrap().len(), 2);

    let mut per_event: HashMap<(String, String), usize> = HashMap::new();
    for alert in kb.alerts("alice").await.into_iter().chain(kb.alerts("bob").await) {
        let key = (alert["eventId"].as_str().unwrap().to_owned(), alert["channel"].as_str().unwrap().to_owned());
        *per_event.entry(key).or_default() += 1;
    }
    let notifying: Vec<_> = events
        .iter()
        .filter(|event| Subscriber::Notifier.wants(event))
        .filter(|event| event.customer_id.as_ref().is_some_and(|customer| customer.as_str() != "dave"))
        .collect();
    for event in &notifying {
        let sms = per_event.get(&(event.event_id.to_string(), "sms".to_owned()));
        assert_eq!(sms, Some(&1), "one SMS for {} {}", event.detail_type(), event.event_id);
        let to_bob = event.customer_id.as_ref().is_some_and(|customer| customer.as_str() == "bob");
        let pushes = per_event.get(&(event.event_id.to_string(), "push".to_owned())).copied().unwrap_or(0);
        assert_eq!(pushes, usize::from(to_bob), "push only where an endpoint is registered");
    }
    assert_eq!(per_event.values().sum::<usize>(), notifying.len() + 4, "alice 6 SMS, bob 4 SMS + 4 push");

    assert!(kb.alerts("dave").await.is_empty());
    let daves_paid = events
        .iter()
        .find(|event| event.detail_type() == "PassPaid" && event.customer_id.as_ref().unwrap().as_str() == "dave")
        .unwrap();
    let reason = kickboard_tests::sqlite::not_sent_reason(kb.sqlite(), &daves_paid.event_id).await;
    assert_eq!(reason.as_deref(), Some(NO_CONTACT));
    kb.stop().await;
}
