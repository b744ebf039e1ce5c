//! Riders the law allows: a driving licence verified before the first ride, 16 or older,
//! re-checked after its period with a grace while the provider is down, guessing stopped, and
//! the number kept nowhere: not in the stores, the outbox or the logs.

use chrono::Duration;
use hyper::{Method, StatusCode};
use kickboard_common::adapters::http_licences::{HttpLicenceVerifier, VerificationAnswer, VerificationBody};
use kickboard_common::adapters::licence_simulator::LicenceSimulator;
use kickboard_common::domain::licence::{LicenceApplication, LicenceClass, LicenceForm};
use kickboard_common::ports::{Clock, LicenceCheckError, LicenceVerdict, LicenceVerifier};
use kickboard_common::settings::LicenceProviderSetting;
use kickboard_tests::{Backend, LICENCE, Reply, TestServer, logs};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

fn simulate(kb: &TestServer, settings: Value) -> impl Future<Output = Reply> + '_ {
    kb.call(Method::PUT, "/local/licence-simulator", None, Some(settings))
}

fn licence(number: &str, birth_date: &str) -> Value {
    json!({ "licenceNumber": number, "name": "홍길동", "birthDate": birth_date })
}

/// Row counts without the breakers' call counters, which count every call to a provider.
async fn records(kb: &TestServer) -> std::collections::BTreeMap<String, i64> {
    let mut counts = kb.row_counts().await;
    counts.retain(|table, _| !table.ends_with("/COUNT") && table != "breaker_counts");
    counts
}

fn assert_problem(reply: &Reply, status: StatusCode, problem: &str) {
    assert_eq!((reply.status, reply.problem()), (status, problem), "{reply:?}");
    assert_eq!(reply.content_type.as_deref(), Some("application/problem+json"), "{reply:?}");
}

pub async fn a_rider_verifies_once_and_the_number_is_kept_nowhere(backend: Backend) {
    let kb = TestServer::start_on(backend).await;
    let alice = kb.customer_token("alice");
    kb.set_phone(&alice, "+821012345678").await;

    // Bad input: 400 naming the field, nothing written.
    let before = kb.row_counts().await;
    for (body, field) in [
        (licence("11-22-33333-44", "2001-02-03"), "licenceNumber"),
        (licence("99-22-333333-44", "2001-02-03"), "licenceNumber"),
        (licence("11-22-333333-44", "2001-02-30"), "birthDate"),
        (licence("11-22-333333-44", "2999-01-01"), "birthDate"),
        (json!({ "licenceNumber": "11-22-333333-44", "name": "가".repeat(31), "birthDate": "2001-02-03" }), "name"),
    ] {
        let refused = kb.call(Method::PUT, "/me/licence", Some(&alice), Some(body)).await;
        assert_problem(&refused, StatusCode::BAD_REQUEST, "invalid-request");
        assert_eq!(refused.body["field"], field, "{refused:?}");
    }
    // Under 16 on the day (in Korea): refused, nothing asked of the provider, nothing kept.
    let today = (kb.clock.now() + Duration::hours(9)).date_naive();
    let fifteen = today.checked_sub_months(chrono::Months::new(16 * 12)).unwrap() + chrono::Days::new(1);
    let young = licence("11-22-333333-44", &fifteen.format("%Y-%m-%d").to_string());
    assert_problem(
        &kb.call(Method::PUT, "/me/licence", Some(&alice), Some(young)).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "rider-too-young",
    );
    assert_eq!(kb.row_counts().await, before, "refused verifications write nothing");
    assert_problem(&kb.get("/me/licence", &alice).await, StatusCode::NOT_FOUND, "licence-not-found");

    // The region-name form is the same licence; the answer never holds the number.
    let verified =
        kb.call(Method::PUT, "/me/licence", Some(&alice), Some(licence("서울 22-333333-44", "2001-02-03"))).await;
    assert_eq!(verified.status, StatusCode::OK, "{verified:?}");
    assert_eq!(verified.body["status"], "VERIFIED");
    assert_eq!(verified.body["last4"], "3344");
    assert_eq!(verified.body["licenceClass"], "SECOND_ORDINARY");
    let verified_at: chrono::DateTime<chrono::Utc> = verified.text("verifiedAt").parse().unwrap();
    let recheck: chrono::DateTime<chrono::Utc> = verified.text("recheckAfter").parse().unwrap();
    assert_eq!(recheck - verified_at, Duration::days(30));
    assert_eq!(kb.get("/me/licence", &alice).await.body, verified.body);
    assert!(kb.store_dump().await.contains("3344"), "the last four digits are kept");

    // Then it rides, and the crew of alerts says so in the rider's language.
    kb.register_board("kb-1").await;
    let pass = kb.paid_pass(&alice, "basic-60").await;
    let ride = kb.rent(&alice, &pass, "kb-1").await;
    assert_eq!(ride.status, StatusCode::CREATED, "{ride:?}");
    assert_eq!(kb.give_back(&alice, &ride.text("rentalId")).await.status, StatusCode::OK);
    kb.settle().await;
    let alerts = kb.alerts("alice").await;
    assert!(alerts.iter().any(|alert| alert["message"] == "[킥보드] 면허 인증이 완료되었습니다"), "{alerts:?}");
    let event = kb.outbox_events().await.into_iter().find(|event| event.detail_type() == "LicenceVerified");
    let event = serde_json::to_value(event.expect("a LicenceVerified event")).unwrap();
    assert_eq!(event["payload"], json!({ "licenceClass": "SECOND_ORDINARY" }), "nothing personal: {event}");

    // Forgotten: no ride until verified again.
    let pass = kb.paid_pass(&alice, "basic-60").await;
    let forgotten = kb.call(Method::DELETE, "/me/licence", Some(&alice), None).await;
    assert_eq!(forgotten.status, StatusCode::NO_CONTENT);
    assert_problem(&kb.get("/me/licence", &alice).await, StatusCode::NOT_FOUND, "licence-not-found");
    let before = kb.row_counts().await;
    let unlicensed = kb.rent(&alice, &pass, "kb-1").await;
    assert_problem(&unlicensed, StatusCode::UNPROCESSABLE_ENTITY, "licence-required");
    assert_eq!(kb.row_counts().await, before, "a refused rent writes nothing");

    // The number, in any of its forms, is in no store, no event and no log line.
    let (stores, events) = (kb.store_dump().await, format!("{:?}", kb.outbox_events().await));
    for form in ["112233333344", "11-22-333333-44", "22-333333-44", "홍길동", "2001-02-03"] {
        assert!(!stores.contains(form), "{form} is in a store");
        assert!(!events.contains(form), "{form} is in an event");
        assert!(!logs().contains(form), "{form} is in the logs");
    }
    kb.stop().await;
}

pub async fn guessing_is_stopped_after_five_failures_a_day(backend: Backend) {
    let kb = TestServer::start_on(backend).await;
    let mallory = kb.customer_token("mallory");
    let numbers: Vec<String> = (0..5).map(|i| format!("11-22-44444{i}-44")).collect();
    assert_eq!(simulate(&kb, json!({ "invalidNumbers": numbers })).await.status, StatusCode::NO_CONTENT);
    for number in &numbers[..5] {
        let refused = kb.call(Method::PUT, "/me/licence", Some(&mallory), Some(licence(number, "2001-02-03"))).await;
        assert_problem(&refused, StatusCode::UNPROCESSABLE_ENTITY, "licence-invalid");
    }
    // The sixth is refused before the provider is asked, even with a valid number.
    let blocked = kb.call(Method::PUT, "/me/licence", Some(&mallory), Some(LICENCE.clone())).await;
    assert_problem(&blocked, StatusCode::TOO_MANY_REQUESTS, "too-many-attempts");
    let wait = blocked.retry_after.expect("Retry-After");
    assert!((23 * 3600..=24 * 3600 + 1).contains(&wait), "{blocked:?}");
    // Another customer is not held back by mallory's failures.
    kb.verify_licence(&kb.customer_token("bob")).await;
    kb.clock.advance(Duration::seconds(i64::try_from(wait).unwrap()));
    kb.verify_licence(&mallory).await;

    // Two verifications of one customer at once: one provider call, the other told to wait.
    simulate(&kb, json!({ "latencyMs": 1000 })).await;
    let carol = kb.customer_token("carol");
    let verify = || kb.call(Method::PUT, "/me/licence", Some(&carol), Some(LICENCE.clone()));
    let second = async {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        verify().await
    };
    let (first, second) = tokio::join!(verify(), second);
    assert_eq!(first.status, StatusCode::OK, "{first:?}");
    assert_problem(&second, StatusCode::CONFLICT, "request-in-progress");
    assert!(second.retry_after.is_some(), "{second:?}");
    kb.stop().await;
}

pub async fn the_provider_down_refuses_the_unverified_and_spares_the_recently_verified(backend: Backend) {
    let kb = TestServer::start_durable(backend).await;
    let alice = kb.customer_token("alice");
    kb.register_board("kb-1").await;

    // Down at the first verification: 503 with Retry-After, nothing kept, no ride.
    simulate(&kb, json!({ "failureRate": 1.0 })).await;
    let down = kb.call(Method::PUT, "/me/licence", Some(&alice), Some(LICENCE.clone())).await;
    assert_problem(&down, StatusCode::SERVICE_UNAVAILABLE, "licence-check-unavailable");
    assert!(down.retry_after.is_some(), "{down:?}");
    assert_problem(&kb.get("/me/licence", &alice).await, StatusCode::NOT_FOUND, "licence-not-found");
    // Down for every try: past ten calls in the window, all failed, the shared licence breaker
    // opens, and while it is open nobody waits on the provider, even once it is back.
    for _ in 0..10 {
        let down = kb.call(Method::PUT, "/me/licence", Some(&alice), Some(LICENCE.clone())).await;
        assert_problem(&down, StatusCode::SERVICE_UNAVAILABLE, "licence-check-unavailable");
    }
    simulate(&kb, json!({})).await;
    let open = kb.call(Method::PUT, "/me/licence", Some(&alice), Some(LICENCE.clone())).await;
    assert_problem(&open, StatusCode::SERVICE_UNAVAILABLE, "licence-check-unavailable");
    let cool_down = open.retry_after.expect("Retry-After");
    assert!(cool_down > 5, "the breaker's cool-down, not a failed call's 5 s: {open:?}");
    kb.clock.advance(Duration::seconds(i64::try_from(cool_down).unwrap()));
    kb.verify_licence(&alice).await;

    // A restart between the verification and the rent changes nothing.
    let kb = kb.restart().await;
    let alice = kb.customer_token("alice");
    let pass = kb.paid_pass(&alice, "basic-60").await;
    let ride = kb.rent(&alice, &pass, "kb-1").await;
    assert_eq!(ride.status, StatusCode::CREATED, "{ride:?}");
    assert_eq!(kb.give_back(&alice, &ride.text("rentalId")).await.status, StatusCode::OK);

    // 31 days on the verification is due for its re-check; the provider is down, and a rider
    // verified within the grace (90 days) rides on.
    kb.clock.advance(Duration::days(31));
    let pass = kb.paid_pass(&alice, "basic-60").await;
    simulate(&kb, json!({ "failureRate": 1.0 })).await;
    let graced = kb.rent(&alice, &pass, "kb-1").await;
    assert_eq!(graced.status, StatusCode::CREATED, "{graced:?}");
    assert_eq!(kb.give_back(&alice, &graced.text("rentalId")).await.status, StatusCode::OK);

    // Past the grace, no ride while the provider is down, and nothing written.
    kb.clock.advance(Duration::days(60));
    simulate(&kb, json!({})).await;
    let pass = kb.paid_pass(&alice, "basic-60").await;
    simulate(&kb, json!({ "failureRate": 1.0 })).await;
    let before = records(&kb).await;
    let refused = kb.rent(&alice, &pass, "kb-1").await;
    assert_problem(&refused, StatusCode::SERVICE_UNAVAILABLE, "licence-check-unavailable");
    assert_eq!(records(&kb).await, before, "a refused rent writes nothing (but the breaker's count)");

    // The provider back: the rent re-checks the licence and rides.
    simulate(&kb, json!({})).await;
    let verified_before = kb.get("/me/licence", &alice).await.text("verifiedAt");
    let rechecked = kb.rent(&alice, &pass, "kb-1").await;
    assert_eq!(rechecked.status, StatusCode::CREATED, "{rechecked:?}");
    assert_ne!(kb.get("/me/licence", &alice).await.text("verifiedAt"), verified_before, "re-checked now");

    // A licence the provider no longer accepts at its re-check is forgotten.
    assert_eq!(kb.give_back(&alice, &rechecked.text("rentalId")).await.status, StatusCode::OK);
    kb.clock.advance(Duration::days(31));
    let pass = kb.paid_pass(&alice, "basic-60").await;
    simulate(&kb, json!({ "invalidNumbers": ["11-22-333333-44"] })).await;
    let revoked = kb.rent(&alice, &pass, "kb-1").await;
    assert_problem(&revoked, StatusCode::UNPROCESSABLE_ENTITY, "licence-invalid");
    assert_problem(&kb.get("/me/licence", &alice).await, StatusCode::NOT_FOUND, "licence-not-found");
    kb.stop().await;
}

pub async fn with_licences_off_anyone_with_a_pass_rides(backend: Backend) {
    let kb = TestServer::start_on_with(backend, |config| config.licence.policy.required = false).await;
    let alice = kb.customer_token("alice");
    kb.register_board("kb-1").await;
    let pass = kb.unpaid_pass(&alice, "basic-60").await;
    assert_eq!(
        kb.call(Method::POST, &format!("/passes/{pass}/payment"), Some(&alice), None).await.status,
        StatusCode::OK
    );
    let ride = kb.rent(&alice, &pass, "kb-1").await;
    assert_eq!(ride.status, StatusCode::CREATED, "{ride:?}");
    kb.stop().await;
}

/// A licence provider over HTTP on loopback, as `HttpLicenceVerifier` speaks to it: the
/// simulator behind it, and a switch to answer 500 or to hang past any timeout.
struct HttpProvider {
    url: String,
    mode: Arc<Mutex<&'static str>>,
    simulator: Arc<LicenceSimulator>,
}

async fn http_provider() -> HttpProvider {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let mode = Arc::new(Mutex::new("answer"));
    let simulator = Arc::new(LicenceSimulator::default());
    let (served_mode, served) = (Arc::clone(&mode), Arc::clone(&simulator));
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let (mode, simulator) = (Arc::clone(&served_mode), Arc::clone(&served));
            let service = hyper::service::service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                let (mode, simulator) = (*mode.lock().unwrap(), Arc::clone(&simulator));
                async move { Ok::<_, std::convert::Infallible>(provider_answer(mode, &simulator, request).await) }
            });
            let io = hyper_util::rt::TokioIo::new(stream);
            tokio::spawn(hyper::server::conn::http1::Builder::new().serve_connection(io, service));
        }
    });
    HttpProvider { url, mode, simulator }
}

async fn provider_answer(
    mode: &str,
    simulator: &LicenceSimulator,
    request: hyper::Request<hyper::body::Incoming>,
) -> hyper::Response<http_body_util::Full<bytes::Bytes>> {
    use http_body_util::BodyExt;
    let reply = |status: StatusCode, body: String| {
        let mut response = hyper::Response::new(http_body_util::Full::new(bytes::Bytes::from(body)));
        *response.status_mut() = status;
        response
    };
    match mode {
        "fail" => return reply(StatusCode::INTERNAL_SERVER_ERROR, String::new()),
        "hang" => tokio::time::sleep(std::time::Duration::from_secs(5)).await,
        _ => {}
    }
    let (method, path) = (request.method().clone(), request.uri().path().to_owned());
    let body = request.into_body().collect().await.unwrap().to_bytes();
    let verdict = match (method, path.strip_prefix("/verifications")) {
        (Method::POST, Some("")) => {
            let sent: VerificationBody = serde_json::from_slice(&body).unwrap();
            let form =
                LicenceForm { licence_number: sent.licence_number, name: sent.name, birth_date: sent.birth_date };
            let application = LicenceApplication::check(form, chrono::NaiveDate::MAX).unwrap();
            simulator.verify(&application).await.unwrap()
        }
        (Method::GET, Some(reference)) if reference.len() == 33 => simulator.recheck(&reference[1..]).await.unwrap(),
        _ => return reply(StatusCode::NOT_FOUND, String::new()),
    };
    reply(StatusCode::OK, serde_json::to_string(&VerificationAnswer::from(verdict)).unwrap())
}

/// The HTTP client of a licence provider: verdicts both ways, re-checks by reference, and
/// every way a provider fails (a 5xx, no answer in time) is "unavailable", never a verdict.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_licence_provider_over_http_verifies_rechecks_and_fails_as_unavailable() {
    let provider = http_provider().await;
    let client = HttpLicenceVerifier::new(&provider.url, std::time::Duration::from_millis(500)).unwrap();
    let application = |number: &str| {
        let form =
            LicenceForm { licence_number: number.into(), name: "홍길동".into(), birth_date: "2001-02-03".into() };
        LicenceApplication::check(form, chrono::NaiveDate::MAX).unwrap()
    };
    let LicenceVerdict::Valid { class, reference } = client.verify(&application("11-22-333333-44")).await.unwrap()
    else {
        panic!("a valid licence");
    };
    assert_eq!(class, LicenceClass::SecondOrdinary);
    assert_eq!(
        client.recheck(&reference).await.unwrap(),
        LicenceVerdict::Valid { class, reference: reference.clone() }
    );
    assert!(matches!(client.recheck("not/a/reference").await, Err(LicenceCheckError::Unavailable(_))));
    provider
        .simulator
        .configure(serde_json::from_value(json!({ "invalidNumbers": ["11-22-444444-44"] })).unwrap())
        .unwrap();
    assert!(matches!(client.verify(&application("11-22-444444-44")).await, Ok(LicenceVerdict::Invalid { .. })));

    *provider.mode.lock().unwrap() = "fail";
    assert!(matches!(client.verify(&application("11-22-333333-44")).await, Err(LicenceCheckError::Unavailable(_))));
    *provider.mode.lock().unwrap() = "hang";
    assert!(matches!(client.recheck(&reference).await, Err(LicenceCheckError::Unavailable(_))));

    // The local server with `--licence-url` verifies through it.
    *provider.mode.lock().unwrap() = "answer";
    let url = provider.url.clone();
    let kb = TestServer::start_on_with(Backend::Sqlite, |config| {
        config.licence.provider = LicenceProviderSetting::Url(url);
    })
    .await;
    let alice = kb.customer_token("alice");
    let no_simulator = kb.call(Method::PUT, "/local/licence-simulator", None, Some(json!({}))).await;
    assert_eq!(no_simulator.status, StatusCode::NOT_FOUND, "{no_simulator:?}");
    assert_eq!(kb.verify_licence(&alice).await.body["last4"], "3344");
    kb.stop().await;
}
