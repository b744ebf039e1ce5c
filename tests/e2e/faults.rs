//! The seed flow, a 100-way race for one board and at-least-once delivery, on the AWS
//! adapters against moto with faults injected under the SDK (throttling, 500s, timeouts,
//! transaction conflicts, partial `PutEvents`): every answer is the right one or a `503`
//! problem with `Retry-After` that writes nothing, exactly one customer rents the board,
//! every event reaches the balance view and the notifier, no alert goes out twice, and the
//! day's figures count each payment and ride once. Then vehicle reports and zones under the
//! same faults: a report sent again after a lost answer is taken once, the crew hears of a low
//! battery once, and the zones hold. Last, a city's fleet cap: the crew hears once per crossing.
//!
//! Run alone to see the figures (RELIABILITY.md has one run's table):
//! `cargo nextest run -p kickboard-tests --test e2e faults:: --no-capture`

use aws_config::retry::RetryConfig;
use hyper::{Method, StatusCode};
use kickboard_common::domain::alerts::{OPERATORS, crew_alert};
use kickboard_common::domain::contact::Channel;
use kickboard_common::domain::events::EventEnvelope;
use kickboard_common::domain::events::Subscriber;
use kickboard_common::handlers::notifier::ALERT_CLAIM_LEASE;
use kickboard_common::ports::Clock;
use kickboard_tests::faults::{Fault, FaultRates, FaultyAws};
use kickboard_tests::{LICENCE, ManualClock, Reply, TestServer};
use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const RACERS: usize = 100;
const SEED: u64 = 0x00fa_0175_0000_0011;
const RATES: FaultRates = FaultRates { dynamodb: 0.2, eventbridge: 0.3, sns: 0.3 };

/// Every answer the clients got, by status.
#[derive(Default)]
struct Answers(Mutex<BTreeMap<u16, usize>>);

impl Answers {
    /// Sends until the answer is neither `503` nor `409 request-in-progress`: a busy answer
    /// must be a problem with `Retry-After`, never a 500. A key left held by a request whose
    /// work failed, and whose release failed too, frees itself at its deadline: the client
    /// waits as long as `Retry-After` says (the test's clock moves that far).
    async fn until_done<F, Fut>(&self, clock: &ManualClock, call: F) -> Reply
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Reply>,
    {
        for _ in 0..100 {
            let reply = call().await;
            *self.0.lock().unwrap().entry(reply.status.as_u16()).or_default() += 1;
            assert_ne!(reply.status, StatusCode::INTERNAL_SERVER_ERROR, "{reply:?}");
            let busy = match (reply.status, reply.problem()) {
                (StatusCode::SERVICE_UNAVAILABLE, "service-unavailable" | "payment-unavailable") => true,
                (StatusCode::CONFLICT, "request-in-progress") => true,
                (StatusCode::SERVICE_UNAVAILABLE, _) => panic!("an unknown 503: {reply:?}"),
                _ => return reply,
            };
            assert!(busy);
            assert_eq!(reply.content_type.as_deref(), Some("application/problem+json"), "{reply:?}");
            let wait = reply.retry_after.unwrap_or_else(|| panic!("busy without Retry-After: {reply:?}"));
            assert!(wait >= 1, "{reply:?}");
            if reply.status == StatusCode::CONFLICT {
                clock.advance(chrono::Duration::seconds(i64::try_from(wait).unwrap()));
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        panic!("still busy after 100 attempts");
    }
}

/// At-least-once delivery through the faulty bus and SNS, until the pump is idle. Time passes
/// meanwhile: a claim whose release failed after a failed send is taken over once its lease
/// is over, as a Lambda retry a minute later would. Answers the leases that passed.
async fn deliver_everything(kb: &TestServer) -> usize {
    let app = Arc::clone(&kb.server.app);
    let delivered = app.relayed();
    tokio::pin!(delivered);
    let mut leases_passed = 0;
    // A bound on waiting, not a timing claim: on a loaded machine (CI runs the suite two
    // tests at a time) the faulted flow took 136 s of these one-second leases once.
    for _ in 0..240 {
        tokio::select! {
            done = &mut delivered => {
                done.unwrap();
                break;
            }
            () = tokio::time::sleep(Duration::from_secs(1)) => {
                kb.clock.advance(ALERT_CLAIM_LEASE);
                leases_passed += 1;
            }
        }
    }
    assert!(leases_passed < 240, "events delivered within 240 one-second leases");
    leases_passed
}

/// The alerts SNS took, as the server recorded them.
fn sent_alerts(kb: &TestServer) -> Vec<kickboard_local::local_alerts::LocalAlert> {
    match &kb.server.app.backend {
        kickboard_local::Backend::Aws { alerts, .. } => alerts.list(None),
        kickboard_local::Backend::Sqlite { .. } => unreachable!("a moto server"),
    }
}

/// The AWS adapters on moto, every request through the fault injector with `seed`.
async fn faulty_server(seed: u64) -> (FaultyAws, TestServer) {
    faulty_server_configured(seed, |_| {}).await
}

/// The same, for riders without licences: the seed flow's hundred racers, whose verifications
/// would add a hundred events to deliver through the faults (the reports flow verifies a
/// licence under faults).
async fn faulty_server_without_licences(seed: u64) -> (FaultyAws, TestServer) {
    faulty_server_configured(seed, |config| config.licence.policy.required = false).await
}

async fn faulty_server_configured(
    seed: u64,
    configure: impl FnOnce(&mut kickboard_local::config::LocalConfig),
) -> (FaultyAws, TestServer) {
    let faults = FaultyAws::new(RATES, seed);
    let http = faults.http_client();
    // Fewer SDK retries than on Lambda (2 attempts, not 3), so that more faults reach the
    // clients; shorter pauses so the test stays quick.
    let retries = RetryConfig::standard()
        .with_max_attempts(2)
        .with_initial_backoff(Duration::from_millis(5))
        .with_max_backoff(Duration::from_millis(50));
    let kb = TestServer::start_on_moto_configured(true, configure, |config| {
        config.into_builder().http_client(http).retry_config(retries).build()
    })
    .await;
    (faults, kb)
}

fn phone(i: usize) -> String {
    format!("+8210{:08}", 30_000_000 + i)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_injected_faults_answers_are_right_or_503_and_no_event_is_lost_or_sent_twice() {
    let (faults, kb) = faulty_server_without_licences(SEED).await;
    // The day's figures: one event's count conflicts as often as the adapter tries it (it comes
    // again, uncounted), and one counted event's balance fails (it comes again, counted).
    faults.fail_next_holding("TransactWriteItems", "COUNTED#", Fault::TransactionConflict, 3);
    faults.fail_next_holding("PutItem", r#"{"S":"BALANCE"}"#, Fault::Throttling, 2);
    let kb = Arc::new(kb);
    let answers = Arc::new(Answers::default());
    let admin = kb.admin_token();
    for board in ["kb-contested", "kb-1"] {
        let body = serde_json::json!({ "kickboardId": board, "model": "Ninebot Max", "lat": 37.5665, "lon": 126.978 });
        let reply = answers.until_done(&kb.clock, || kb.post("/kickboards", &admin, body.clone())).await;
        assert!(matches!(reply.status, StatusCode::CREATED | StatusCode::CONFLICT), "{reply:?}");
    }

    // A hundred customers set a phone, buy and pay, each command retried on 503 with its key.
    let mut buyers = tokio::task::JoinSet::new();
    for i in 0..RACERS {
        let (kb, answers) = (Arc::clone(&kb), Arc::clone(&answers));
        buyers.spawn(async move {
            let token = kb.customer_token(&format!("racer-{i}"));
            let contact = serde_json::json!({ "phone": phone(i) });
            let set = answers
                .until_done(&kb.clock, || kb.call(Method::PUT, "/me/contact", Some(&token), Some(contact.clone())))
                .await;
            assert_eq!(set.status, StatusCode::OK, "{set:?}");
            let body = serde_json::json!({ "planId": "basic-60" });
            let key = format!("buy-{i}");
            let bought = answers
                .until_done(&kb.clock, || kb.call_with_key(Method::POST, "/passes", &token, Some(body.clone()), &key))
                .await;
            assert_eq!(bought.status, StatusCode::CREATED, "{bought:?}");
            let pass = bought.text("passId");
            let (path, key) = (format!("/passes/{pass}/payment"), format!("pay-{i}"));
            let paid =
                answers.until_done(&kb.clock, || kb.call_with_key(Method::POST, &path, &token, None, &key)).await;
            assert_eq!(paid.status, StatusCode::OK, "{paid:?}");
            (i, token, pass)
        });
    }
    let renters = buyers.join_all().await;
    let mut races = tokio::task::JoinSet::new();
    for (i, token, pass) in renters {
        let (kb, answers) = (Arc::clone(&kb), Arc::clone(&answers));
        races.spawn(async move {
            let body = serde_json::json!({ "passId": pass, "kickboardId": "kb-contested" });
            let key = format!("rent-{i}");
            let reply = answers
                .until_done(&kb.clock, || kb.call_with_key(Method::POST, "/rentals", &token, Some(body.clone()), &key))
                .await;
            (token, reply)
        });
    }
    let mut winners = Vec::new();
    while let Some(raced) = races.join_next().await {
        let (token, reply) = raced.unwrap();
        match reply.status {
            StatusCode::CREATED => winners.push((token, reply.text("rentalId"))),
            StatusCode::CONFLICT => assert_eq!(reply.problem(), "kickboard-unavailable", "{reply:?}"),
            _ => panic!("unexpected answer: {reply:?}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one rental of the contested board");
    let (winner, rental) = winners.remove(0);
    let path = format!("/rentals/{rental}/return");
    let returned = answers.until_done(&kb.clock, || kb.call(Method::POST, &path, Some(&winner), None)).await;
    assert_eq!(returned.status, StatusCode::OK, "{returned:?}");

    let leases_passed = deliver_everything(&kb).await;

    let events = kb.outbox_events().await;
    let count = |kind: &str| events.iter().filter(|event| event.detail_type() == kind).count();
    assert_eq!(
        (count("PassPaid"), count("KickboardRented"), count("KickboardReturned")),
        (RACERS, 1, 1),
        "no half writes"
    );
    assert_eq!(kb.simulator().charge_count(), RACERS, "each pass charged once");
    assert_eq!(faults.scripted_left(), 0, "the day's count and a balance were faulted");
    let plans = answers.until_done(&kb.clock, || kb.call(Method::GET, "/plans", None, None)).await;
    let price = plans.body.as_array().unwrap().iter().find(|plan| plan["planId"] == "basic-60").unwrap()["priceWon"]
        .as_u64()
        .unwrap();
    let summary = answers.until_done(&kb.clock, || kb.get("/admin/summary", &admin)).await;
    assert_eq!(
        (&summary.body["ridesEnded"], &summary.body["minutesBilled"], &summary.body["revenueWon"]),
        (&serde_json::json!(1), &returned.body["minutesBilled"], &serde_json::json!(price * RACERS as u64)),
        "each ride and payment counted once in the day: {summary:?}"
    );

    // Every balance event reached the view.
    let mut lost = Vec::new();
    for event in events.iter().filter(|event| Subscriber::BalanceView.wants(event)) {
        let (balance, customer) = (event.balance().unwrap(), event.customer_id.as_ref().unwrap());
        let token = kb.customer_token(customer.as_str());
        let path = format!("/passes/{}/balance", balance.pass_id);
        let viewed = answers.until_done(&kb.clock, || kb.get(&path, &token)).await;
        if viewed.body["version"].as_u64().is_none_or(|version| version < balance.version) {
            lost.push(format!("{} {} (view: {})", event.detail_type(), event.event_id, viewed.body["version"]));
        }
    }
    // Every alerting event went out once on its channel, and SNS sent nothing more.
    let sent = sent_alerts(&kb);
    let mut per_alert: HashMap<(String, String), usize> = HashMap::new();
    for alert in &sent {
        *per_alert.entry((alert.event_id.clone(), alert.channel.name().to_owned())).or_default() += 1;
    }
    // A rider's alert goes by SMS (the racers give phones); the crew's (a lock whose
    // acknowledgement the faults swallowed) to the crew's topic.
    let channel = |event: &EventEnvelope| if crew_alert(event).is_some() { Channel::Crew } else { Channel::Sms };
    let alerting = events.iter().filter(|event| Subscriber::Notifier.wants(event)).collect::<Vec<_>>();
    for event in &alerting {
        if !per_alert.contains_key(&(event.event_id.to_string(), channel(event).name().into())) {
            lost.push(format!("{} {} (not on {:?})", event.detail_type(), event.event_id, channel(event)));
        }
    }
    let sms_alerts = sent.iter().filter(|alert| alert.channel == Channel::Sms).count();
    let duplicates: usize = per_alert.values().map(|sent| sent - 1).sum();
    let sms = kb.aws.as_ref().unwrap().moto.sms().await.len();

    let injected = faults.injected();
    println!("\n| faults injected (seed {SEED:#x}) | count |\n|---|---|");
    for (fault, times) in &injected {
        println!("| {fault:?} | {times} |");
    }
    println!("\n| answers by status | count |\n|---|---|");
    for (status, times) in answers.0.lock().unwrap().iter() {
        println!("| {status} | {times} |");
    }
    println!("\n| events | count |\n|---|---|");
    println!("| written to the outbox | {} |", events.len());
    println!("| alerting events / alerts sent / SMS at SNS | {} / {} / {sms} |", alerting.len(), sent.len());
    println!("| lost | {} |\n| duplicate alerts | {duplicates} |", lost.len());
    println!("| seconds waited for the last deliveries (each one alert-claim lease of time) | {leases_passed} |");

    assert_eq!(injected.len(), 5, "every kind of fault was exercised: {injected:?}");
    assert!(answers.0.lock().unwrap().contains_key(&503), "some faults reached the clients as 503");
    assert!(lost.is_empty(), "every event reached the balance view and the notifier; lost: {lost:#?}");
    assert_eq!(duplicates, 0, "no alert sent twice on a channel");
    assert_eq!(sms, sms_alerts, "SNS sent exactly the SMS alerts recorded");
    assert_eq!(sent.len(), alerting.len(), "one alert per alerting event");
    Arc::into_inner(kb).unwrap().stop().await;
}

/// Vehicles report and riders park under the same faults: every report is taken or answered
/// 503 and sent again, a report that landed before its answer was lost is not taken twice, the
/// crew hears of the low battery once, and the zones refuse and allow as without faults.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_injected_faults_reports_count_once_and_zones_hold() {
    // Another seed than the seed flow's; like it, one whose faults spare the local server's own
    // start-up (creating its stream reader), which is the test rig's, not the service's.
    let (faults, kb) = faulty_server(SEED ^ 0x1111).await;
    let answers = Answers::default();
    let admin = kb.admin_token();
    let board = serde_json::json!({ "kickboardId": "kb-1", "model": "Ninebot Max", "lat": 37.5665, "lon": 126.978 });
    let registered = answers.until_done(&kb.clock, || kb.post("/kickboards", &admin, board.clone())).await;
    assert!(matches!(registered.status, StatusCode::CREATED | StatusCode::CONFLICT), "{registered:?}");
    let no_parking = serde_json::json!({"name": "Plaza", "priority": 1,
        "geometry": crate::zones::rectangle(37.568, 126.98, 37.569, 126.981),
        "rules": {"rideStartAllowed": true, "rideEndAllowed": false, "rideThroughAllowed": true}});
    let zone = answers
        .until_done(&kb.clock, || {
            kb.call(Method::PUT, "/geofencing/zones/plaza", Some(&admin), Some(no_parking.clone()))
        })
        .await;
    assert_eq!(zone.status, StatusCode::OK, "{zone:?}");

    // From 60 % down to 2 %, one report a second: the battery crosses 20 % once.
    for battery in (2..=60).rev().step_by(2) {
        kb.clock.advance(chrono::Duration::seconds(1));
        let at = kb.clock.now().to_rfc3339();
        let report = serde_json::json!({"lat": 37.5665, "lon": 126.978, "batteryPct": battery, "reportedAt": at});
        let taken = answers.until_done(&kb.clock, || kb.report("kb-1", report.clone())).await;
        assert_eq!(
            (taken.status, &taken.body["batteryPct"]),
            (StatusCode::OK, &serde_json::json!(battery)),
            "{taken:?}"
        );
    }
    kb.clock.advance(chrono::Duration::seconds(1));
    let charged = serde_json::json!({"lat": 37.5665, "lon": 126.978, "batteryPct": 90});
    assert_eq!(answers.until_done(&kb.clock, || kb.report("kb-1", charged.clone())).await.status, StatusCode::OK);

    let alice = kb.customer_token("alice");
    let contact = serde_json::json!({ "phone": phone(0) });
    answers.until_done(&kb.clock, || kb.call(Method::PUT, "/me/contact", Some(&alice), Some(contact.clone()))).await;
    let licence = LICENCE.clone();
    let verified = answers
        .until_done(&kb.clock, || kb.call(Method::PUT, "/me/licence", Some(&alice), Some(licence.clone())))
        .await;
    assert_eq!(verified.status, StatusCode::OK, "{verified:?}");
    let bought = answers
        .until_done(&kb.clock, || {
            kb.call_with_key(Method::POST, "/passes", &alice, Some(serde_json::json!({"planId": "basic-60"})), "buy")
        })
        .await;
    let path = format!("/passes/{}/payment", bought.text("passId"));
    let paid = answers.until_done(&kb.clock, || kb.call_with_key(Method::POST, &path, &alice, None, "pay")).await;
    assert_eq!(paid.status, StatusCode::OK, "{paid:?}");
    let rent = serde_json::json!({"passId": bought.text("passId"), "kickboardId": "kb-1"});
    let ride = answers
        .until_done(&kb.clock, || kb.call_with_key(Method::POST, "/rentals", &alice, Some(rent.clone()), "rent"))
        .await;
    assert_eq!(ride.status, StatusCode::CREATED, "{ride:?}");
    let back = format!("/rentals/{}/return", ride.text("rentalId"));
    let at = |lat: f64| Some(serde_json::json!({"lat": lat, "lon": 126.9805}));
    let inside = answers.until_done(&kb.clock, || kb.call(Method::POST, &back, Some(&alice), at(37.5685))).await;
    assert_eq!(inside.problem(), "ride-end-not-allowed", "{inside:?}");
    let outside = answers.until_done(&kb.clock, || kb.call(Method::POST, &back, Some(&alice), at(37.5695))).await;
    assert_eq!(outside.status, StatusCode::OK, "{outside:?}");

    deliver_everything(&kb).await;
    let events = kb.outbox_events().await;
    let low = events.iter().filter(|event| event.detail_type() == "KickboardBatteryLow").count();
    assert_eq!(low, 1, "one crossing, one event, however often a report was sent");
    // Of the battery: a lock whose acknowledgement a fault swallowed tells the crew too.
    let crew = sent_alerts(&kb).into_iter().filter(|alert| alert.customer_id == OPERATORS);
    assert_eq!(crew.filter(|alert| alert.message.contains("배터리")).count(), 1, "the crew heard once");
    assert!(answers.0.lock().unwrap().contains_key(&503), "some faults reached the clients as 503");
    assert!(!faults.injected().is_empty());
    kb.stop().await;
}

/// A city's fleet cap watched under the same faults: a watch whose cap alert kept conflicting
/// tells no one and a later minute's does, and the crew hears once per crossing however often
/// the watch runs or its alert is delivered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_injected_faults_the_crew_hears_once_per_cap_crossing() {
    let (faults, kb) = faulty_server(SEED ^ 0x2222).await;
    let answers = Answers::default();
    let admin = kb.admin_token();
    // Banpo, capped at 2 parked boards, as `city_rules` imports it.
    let banpo: serde_json::Value =
        serde_json::from_str(include_str!("../fixtures/mds-policy/banpo.geography.json")).unwrap();
    let cap: serde_json::Value =
        serde_json::from_str(include_str!("../fixtures/mds-policy/banpo-cap.policy.json")).unwrap();
    let geography_path = format!("/mds/geographies/{}", banpo["geography_id"].as_str().unwrap());
    let policy_path = format!("/mds/policies/{}", cap["policy_id"].as_str().unwrap());
    for (path, document) in [(geography_path, banpo), (policy_path, cap)] {
        let put = || kb.call(Method::PUT, &path, Some(&admin), Some(document.clone()));
        let imported = answers.until_done(&kb.clock, put).await;
        assert!(matches!(imported.status, StatusCode::CREATED | StatusCode::OK), "{imported:?}");
    }
    for board in ["kb-b1", "kb-b2", "kb-b3"] {
        let body = serde_json::json!({ "kickboardId": board, "model": "Ninebot Max", "lat": 37.5047, "lon": 126.998 });
        let reply = answers.until_done(&kb.clock, || kb.post("/kickboards", &admin, body.clone())).await;
        assert!(matches!(reply.status, StatusCode::CREATED | StatusCode::CONFLICT), "{reply:?}");
    }

    // The crew's alerts of a cap over, as SNS sent them to the crew's topic.
    let told = || {
        let crew = sent_alerts(&kb).into_iter().filter(|alert| alert.customer_id == OPERATORS);
        crew.filter(|alert| alert.message.contains("상한")).count()
    };
    // Over (the third board is in service already), back within, and over again: each time it
    // goes over, the watch's alert conflicts as often as the adapter tries it.
    for (crossings, status) in [(1, "AVAILABLE"), (1, "MAINTENANCE"), (2, "AVAILABLE")] {
        let (path, body) = ("/kickboards/kb-b3/status", serde_json::json!({ "status": status }));
        let set = answers.until_done(&kb.clock, || kb.call(Method::PUT, path, Some(&admin), Some(body.clone()))).await;
        assert_eq!(set.status, StatusCode::OK, "{set:?}");
        let going_over = status == "AVAILABLE";
        if going_over {
            faults.fail_next_holding("TransactWriteItems", "FleetCapExceeded", Fault::TransactionConflict, 3);
        }
        let (over, failures) = watch_minutes(&kb, 6).await;
        assert_eq!(over, usize::from(going_over), "the watch saw the cap go over once: {failures:?}");
        assert_eq!(faults.scripted_left(), 0, "the cap's alert was faulted");
        if going_over {
            assert!(failures.iter().any(|why| why.contains("TransactionConflict")), "{failures:?}");
        }
        deliver_everything(&kb).await;
        let events = kb.outbox_events().await;
        let exceeded = events.iter().filter(|event| event.detail_type() == "FleetCapExceeded").count();
        let logged = answers.until_done(&kb.clock, || kb.get("/admin/alerts", &admin)).await.body["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|alert| alert["kind"] == "cap-exceeded")
            .count();
        assert_eq!((exceeded, logged, told()), (crossings, crossings, crossings), "one alert per crossing");
    }
    kb.stop().await;
}

/// Runs the minute's watch, a minute apart, `minutes` times and at least until one run got
/// through: answers how many caps the runs that got through saw go over, and why the others
/// failed.
async fn watch_minutes(kb: &TestServer, minutes: usize) -> (usize, Vec<String>) {
    let (mut over, mut through, mut failures) = (0, 0, Vec::new());
    while through == 0 || through + failures.len() < minutes {
        assert!(failures.len() < 50, "the watch keeps failing: {failures:?}");
        kb.clock.advance(chrono::Duration::minutes(1));
        match kb.server.app.watch_rides().await {
            Ok(watched) => (over, through) = (over + watched.caps_over, through + 1),
            Err(error) => failures.push(error.to_string()),
        }
    }
    (over, failures)
}
