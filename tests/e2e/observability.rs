//! What an operator sees: business metrics move with what happens, and one trace follows a
//! ride from its request through the outbox and the relay.

use hyper::{Method, StatusCode};
use kickboard_tests::tap::Tap;
use kickboard_tests::{Backend, TestServer};
use serde_json::json;

/// The value of one series in `GET /local/metrics` (0 when it has no samples yet).
async fn series(kb: &TestServer, name: &str) -> f64 {
    let reply = kb.send_raw(Method::GET, "/local/metrics", None, None, Vec::new()).await;
    assert_eq!(reply.status, StatusCode::OK);
    let text = reply.body.as_str().expect("metrics are text").to_owned();
    text.lines().find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse().ok()).unwrap_or(0.0)
}

pub async fn each_counter_moves_by_one_with_what_happens(backend: Backend) {
    let kb = TestServer::start_on(backend).await;
    let alice = kb.customer_token("alice");
    kb.set_phone(&alice, "+821012345678").await;
    kb.register_board("kb-1").await;

    kb.verify_licence(&alice).await;
    kb.settle().await;
    // A sent alert: paying a pass texts the customer.
    let sms = "kickboard_alerts_sent_total{channel=\"sms\"}";
    let (sent, approved) = (series(&kb, sms).await, series(&kb, "kickboard_payments_approved_total").await);
    let pass = kb.paid_pass(&alice, "basic-60").await;
    kb.settle().await;
    assert_eq!(series(&kb, sms).await, sent + 1.0);
    assert_eq!(series(&kb, "kickboard_payments_approved_total").await, approved + 1.0);
    assert!(series(&kb, "kickboard_event_lag_milliseconds_count").await >= 1.0, "the consumers measured the lag");

    // A refused rent, by its problem type.
    let low = kb.report("kb-1", json!({"lat": 37.5665, "lon": 126.978, "batteryPct": 5})).await;
    assert_eq!(low.status, StatusCode::OK);
    let refused = "kickboard_rents_refused_total{reason=\"battery-too-low\"}";
    let before = series(&kb, refused).await;
    assert_eq!(kb.rent(&alice, &pass, "kb-1").await.problem(), "battery-too-low");
    assert_eq!(series(&kb, refused).await, before + 1.0);
    assert_eq!(series(&kb, "kickboard_rentals_started_total").await, 0.0);

    // A payment answered by the fallback: the provider fails until the breaker opens.
    let failing = json!({"latencyMs": 0, "failureRate": 1, "declineRate": 0});
    assert_eq!(
        kb.call(Method::PUT, "/local/payment-simulator", None, Some(failing)).await.status,
        StatusCode::NO_CONTENT
    );
    let fallback = "kickboard_payments_fallback_total";
    let mut answered_by_fallback = false;
    for _ in 0..20 {
        let pass = kb.unpaid_pass(&alice, "basic-60").await;
        let before = series(&kb, fallback).await;
        let paid = kb.call(Method::POST, &format!("/passes/{pass}/payment"), Some(&alice), None).await;
        assert_eq!(paid.status, StatusCode::SERVICE_UNAVAILABLE, "{paid:?}");
        let after = series(&kb, fallback).await;
        if after > before {
            assert_eq!(after, before + 1.0, "one payment, one fallback");
            answered_by_fallback = true;
            break;
        }
    }
    assert!(answered_by_fallback, "the breaker opened and the fallback answered");
    assert!(series(&kb, "kickboard_payments_failed_total").await >= 5.0, "the failures that opened it");
    assert_eq!(series(&kb, "kickboard_breaker_opened_total").await, 1.0);
    kb.stop().await;
}

/// The trace a rent's request belongs to is stored with its event in the outbox and handed
/// to EventBridge with it, so the consumers join the same trace.
pub async fn a_rides_trace_survives_the_outbox_and_the_relay() {
    let tap = Tap::default();
    let kb =
        TestServer::start_on_moto_with(true, |config| config.into_builder().http_client(tap.http_client()).build())
            .await;
    let alice = kb.customer_token("alice");
    kb.register_board("kb-1").await;
    let pass = kb.paid_pass(&alice, "basic-60").await;
    let trace = "Root=1-6744a1b2-0123456789abcdef01234567;Parent=53995c3f42cd8ad8;Sampled=1";
    let body = json!({"passId": pass, "kickboardId": "kb-1"}).to_string().into_bytes();
    let rented = kb
        .send_with_headers(
            Method::POST,
            "/rentals",
            Some(&alice),
            Some("application/json"),
            body,
            &[("x-amzn-trace-id", trace)],
        )
        .await;
    assert_eq!(rented.status, StatusCode::CREATED, "{rented:?}");
    kb.settle().await;
    let events = kb.outbox_events().await;
    let rent = events.iter().find(|event| event.detail_type() == "KickboardRented").expect("the rent's event");
    assert_eq!(rent.trace_header.as_deref(), Some(trace), "stored with the event in the outbox");
    assert!(tap.tally().trace_headers.iter().any(|header| header == trace), "handed to EventBridge by the relay");
    let others: Vec<_> =
        events.iter().filter_map(|event| event.trace_header.as_deref()).filter(|h| *h != trace).collect();
    assert!(!others.is_empty(), "the other requests have traces of their own");
    kb.stop().await;
}
