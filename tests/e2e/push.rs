//! Push endpoints are the service's own: the app gives its device token, the service makes the
//! endpoint in its platform application, and a client-named ARN is refused. An endpoint the
//! push service disabled (or deleted) does not swallow alerts: they go by SMS, once, until the
//! app registers again; a throttled push is retried, not taken for dead.

use chrono::Duration;
use hyper::{Method, StatusCode};
use kickboard_common::domain::contact::PushPlatform;
use kickboard_common::domain::events::Subscriber;
use kickboard_local::relay::{deliver, to_eventbridge};
use kickboard_tests::faults::{Fault, FaultRates, FaultyAws};
use kickboard_tests::{Backend, TestServer};
use serde_json::{Value, json};

const PHONE: &str = "+821055556666";

fn device(token: &str) -> Value {
    json!({ "phone": PHONE, "pushPlatform": "FCM", "pushToken": token })
}

/// The prefix SNS gives the endpoints of an application `arn:…:app/GCM/name`.
fn endpoints_of(application: &str) -> String {
    format!("{}/", application.replacen(":app/", ":endpoint/", 1))
}

async fn contact(kb: &TestServer, token: &str) -> Value {
    let reply = kb.get("/me/contact", token).await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    reply.body
}

/// Buys and pays a pass, rents kb-1 and returns it: three alerts (paid, rented, returned).
async fn ride(kb: &TestServer, token: &str) {
    let pass = kb.paid_pass(token, "basic-60").await;
    let rental = kb.rent(token, &pass, "kb-1").await;
    assert_eq!(rental.status, StatusCode::CREATED, "{rental:?}");
    kb.clock.advance(Duration::minutes(3));
    assert_eq!(kb.give_back(token, &rental.text("rentalId")).await.status, StatusCode::OK);
    kb.settle().await;
}

pub async fn a_registered_device_gets_pushes_and_a_dead_endpoint_falls_back_to_sms(backend: Backend) {
    let kb = TestServer::start_on(backend).await;
    let alice = kb.customer_token("alice");
    kb.register_board("kb-1").await;

    // A client never names an endpoint: not the operators' topic, not another account's queue.
    let before = kb.row_counts().await;
    for arn in [
        "arn:aws:sns:ap-northeast-2:123456789012:kickboard-operators",
        "arn:aws:sqs:ap-northeast-2:999999999999:somebody-elses-queue",
        "arn:aws:sns:ap-northeast-2:123456789012:endpoint/GCM/kickboard/not-yours",
    ] {
        let body = json!({ "phone": PHONE, "pushEndpointArn": arn });
        let refused = kb.call(Method::PUT, "/me/contact", Some(&alice), Some(body)).await;
        assert_eq!((refused.status, refused.problem()), (StatusCode::BAD_REQUEST, "invalid-request"), "{refused:?}");
        assert_eq!(refused.content_type.as_deref(), Some("application/problem+json"));
        assert_eq!(refused.body["field"], "pushEndpointArn", "{refused:?}");
    }
    for (body, field) in [
        (json!({ "phone": PHONE, "pushPlatform": "FCM", "pushToken": "has a space" }), "pushToken"),
        (json!({ "phone": PHONE, "pushPlatform": "FCM", "pushToken": "" }), "pushToken"),
        (json!({ "phone": PHONE, "pushPlatform": "FCM", "pushToken": "t".repeat(4097) }), "pushToken"),
        (json!({ "phone": PHONE, "pushPlatform": "FCM" }), "pushPlatform"),
        (json!({ "phone": PHONE, "pushPlatform": "HMS", "pushToken": "t" }), "pushPlatform"),
    ] {
        let refused = kb.call(Method::PUT, "/me/contact", Some(&alice), Some(body)).await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{refused:?}");
        assert_eq!(refused.body["field"], field, "{refused:?}");
    }
    assert_eq!(kb.row_counts().await, before, "refused contacts wrote nothing");
    assert!(kb.push_endpoints("alice").await.is_empty(), "and made no endpoint");

    // A device token: the service makes the endpoint in its own application.
    kb.set_contact(&alice, device("alice-phone-1")).await;
    let shown = contact(&kb, &alice).await;
    assert_eq!(shown["pushPlatform"], "FCM");
    assert_eq!(shown["pushActive"], true);
    assert_eq!(shown["channels"], json!(["push"]));
    assert!(shown.get("pushEndpointArn").is_none(), "the endpoint is the service's: {shown}");
    let endpoints = kb.push_endpoints("alice").await;
    assert_eq!(endpoints.len(), 1, "{endpoints:?}");
    let endpoint = endpoints[0].clone();
    assert!(endpoint.starts_with(&endpoints_of(&kb.push_application(PushPlatform::Fcm))), "{endpoint}");

    ride(&kb, &alice).await;
    assert_eq!(kb.pushes("alice").await.len(), 4, "licence, paid, rented, returned by push");
    assert!(kb.texts("alice").await.is_empty(), "no SMS while push works");

    // The push service gives up on the token: the next alert goes by SMS, once, and so do the
    // later ones until the app registers again.
    kb.disable_push_endpoint(&endpoint).await;
    ride(&kb, &alice).await;
    assert_eq!(kb.pushes("alice").await.len(), 4, "nothing pushed to a disabled endpoint");
    let texts = kb.texts("alice").await;
    assert_eq!(texts.len(), 3, "each alert once by SMS: {texts:?}");
    assert!(texts.iter().any(|text| text.contains("kb-1 대여 시작")), "{texts:?}");
    let shown = contact(&kb, &alice).await;
    assert_eq!((shown["pushPlatform"].clone(), shown["pushActive"].clone()), (json!("FCM"), json!(false)));
    assert_eq!(shown["channels"], json!(["sms"]));

    // Every event delivered twice more sends nothing again.
    for event in kb.outbox_events().await.iter().filter(|event| Subscriber::Notifier.wants(event)) {
        for _ in 0..2 {
            deliver(&kb.server.app, Subscriber::Notifier, to_eventbridge(event).unwrap()).await.unwrap();
        }
    }
    assert_eq!((kb.pushes("alice").await.len(), kb.texts("alice").await.len()), (4, 3), "redeliveries sent nothing");

    // The app registers again: push is back.
    kb.set_contact(&alice, device("alice-phone-1")).await;
    assert_eq!(contact(&kb, &alice).await["pushActive"], true);
    ride(&kb, &alice).await;
    assert_eq!((kb.pushes("alice").await.len(), kb.texts("alice").await.len()), (7, 3));

    if backend == Backend::Moto {
        // A deleted endpoint (SNS's NotFound) is as dead as a disabled one, not retried for ever.
        let aws = kb.aws.as_ref().unwrap();
        let live = kb.push_endpoints("alice").await.last().unwrap().clone();
        let sns = aws_sdk_sns::Client::new(&aws.config);
        sns.delete_endpoint().endpoint_arn(&live).send().await.unwrap();
        ride(&kb, &alice).await;
        assert_eq!((kb.pushes("alice").await.len(), kb.texts("alice").await.len()), (7, 6));
        assert_eq!(contact(&kb, &alice).await["pushActive"], false);
    }
    kb.stop().await;
}

/// A new device replaces the old endpoint, and a device that changes hands stops reaching its
/// former owner: their alerts go by SMS.
pub async fn a_device_reaches_only_its_last_customer(backend: Backend) {
    let kb = TestServer::start_on(backend).await;
    let (alice, bob) = (kb.customer_token("alice"), kb.customer_token("bob"));
    kb.register_board("kb-1").await;
    kb.set_contact(&alice, device("old-phone")).await;
    let old = kb.push_endpoints("alice").await;
    kb.set_contact(&alice, device("new-phone")).await;
    let endpoints = kb.push_endpoints("alice").await;
    let new = endpoints.iter().find(|arn| !old.contains(arn)).expect("an endpoint for the new phone").clone();

    // Bob signs in on Alice's new phone.
    kb.set_contact(&bob, json!({ "phone": "+821077778888", "pushPlatform": "FCM", "pushToken": "new-phone" })).await;
    assert!(!kb.push_endpoints("bob").await.contains(&new), "made anew for bob");
    ride(&kb, &alice).await;
    assert!(kb.pushes("alice").await.is_empty(), "alice's alerts do not reach bob's phone");
    assert_eq!(kb.texts("alice").await.len(), 4, "licence, paid, rented, returned");
    assert_eq!(contact(&kb, &alice).await["pushActive"], false);
    kb.stop().await;
}

/// A throttled push is retried until it goes, never taken for a dead endpoint.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_throttled_push_is_retried_not_taken_for_dead() {
    let faults = FaultyAws::new(FaultRates { dynamodb: 0.0, eventbridge: 0.0, sns: 0.0 }, 7);
    let http = faults.http_client();
    let kb = TestServer::start_on_moto_with(true, |config| config.into_builder().http_client(http).build()).await;
    let alice = kb.customer_token("alice");
    kb.set_contact(&alice, device("alice-phone")).await;
    faults.fail_next("Publish", Fault::Throttling, 5);
    let pass = kb.paid_pass(&alice, "basic-60").await;
    tokio::time::timeout(std::time::Duration::from_secs(30), async {
        while kb.pushes("alice").await.is_empty() {
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
    })
    .await
    .expect("the push went out after the throttling");
    kb.settle().await;
    assert_eq!(faults.injected().get(&Fault::Throttling), Some(&5));
    assert_eq!(kb.pushes("alice").await.len(), 2, "pushed once each, for the licence and {pass}");
    assert!(kb.texts("alice").await.is_empty(), "no SMS fallback for a throttle");
    assert_eq!(contact(&kb, &alice).await["pushActive"], true);
    kb.stop().await;
}
