//! A city's rules as MDS 2.0 publishes them, imported and obeyed: Seoul's kickboard-free streets
//! (Hongdae's Red Road and the Banpo 학원가, closed 12:00–23:00 every day) refuse a return at
//! 13:00 KST and allow it at 23:30 KST; bad documents are refused at their path, storing nothing;
//! what is kept and what is refused are held to the OMF's models (`tests/mds_policy_check.py`).

use chrono::{Duration, Timelike};
use hyper::{Method, StatusCode};
use kickboard_common::ports::Clock;
use kickboard_tests::{Backend, Reply, TestServer, assert_check_passes_on};
use serde_json::{Value, json};

const HONGDAE: &str = "1f0b6c4e-2d3a-4b5c-8d9e-0a1b2c3d4e5f";
const BANPO: &str = "2a1c7d5f-3e4b-4c6d-9e0f-1b2c3d4e5f60";
const POLICY: &str = "3b2d8e60-4f5c-4d7e-8f10-2c3d4e5f6071";
/// Inside Hongdae's Red Road, as the fixture draws it.
const IN_HONGDAE: (f64, f64) = (37.5557, 126.9240);

fn fixture(name: &str) -> Value {
    let path = format!("{}/fixtures/mds-policy/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

async fn put(kb: &TestServer, path: &str, body: Value) -> Reply {
    kb.call(Method::PUT, path, Some(&kb.admin_token()), Some(body)).await
}

fn assert_refused_at(reply: &Reply, path: &str) {
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{reply:?}");
    assert!(reply.text("detail").starts_with(&format!("{path}: ")), "{reply:?}");
}

/// Runs `tests/mds_policy_check.py`: each document valid, or not, under the OMF's models.
fn assert_as_the_models_say(cases: &[Value]) {
    assert_check_passes_on("mds_policy_check.py", &[], cases, "not as the models say");
}

/// The crew's alerts that a cap went over, newest first, once every event is delivered.
async fn cap_alerts(kb: &TestServer, admin: &str) -> Vec<Value> {
    kb.settle().await;
    let alerts = kb.get("/admin/alerts", admin).await.body["alerts"].as_array().unwrap().clone();
    alerts.into_iter().filter(|alert| alert["kind"] == "cap-exceeded").collect()
}

/// Advances the clock to the next `hour`:`minute` in Seoul.
fn to_seoul_time(kb: &TestServer, hour: u32, minute: u32) {
    let now = kb.clock.now().with_timezone(&chrono_tz::Asia::Seoul);
    let minutes_now = i64::from(now.hour() * 60 + now.minute());
    let wanted = i64::from(hour * 60 + minute);
    kb.clock.advance(Duration::minutes((wanted - minutes_now).rem_euclid(24 * 60)));
}

pub async fn a_citys_kickboard_free_streets_refuse_returns_only_while_closed(backend: Backend) {
    let kb = TestServer::start_on(backend).await;
    let alice = kb.customer_token("alice");

    // The streets first: a policy naming a geography not imported is refused, nothing stored.
    let policy = fixture("kickboard-free-streets.policy.json");
    let policy_path = format!("/mds/policies/{POLICY}");
    assert_refused_at(&put(&kb, &policy_path, policy.clone()).await, "rules[0].geographies[0]");
    for (name, id) in [("hongdae-red-road", HONGDAE), ("banpo", BANPO)] {
        let path = format!("/mds/geographies/{id}");
        let geography = fixture(&format!("{name}.geography.json"));
        assert_eq!(
            kb.call(Method::PUT, &path, Some(&alice), Some(geography.clone())).await.status,
            StatusCode::FORBIDDEN
        );
        let imported = put(&kb, &path, geography.clone()).await;
        assert_eq!(imported.status, StatusCode::CREATED, "{imported:?}");
        assert_eq!(imported.body["geography"], geography);
        assert_eq!(put(&kb, &path, geography).await.status, StatusCode::OK, "the same again changes nothing");
    }

    // Bad policies: each refused at its path, none stored.
    let mut bad_cases = Vec::new();
    let mut changed = |path: &str, change: &dyn Fn(&mut Value)| {
        let mut bad = policy.clone();
        change(&mut bad);
        bad_cases.push((path.to_owned(), bad));
    };
    changed("rules[0].start_time", &|bad| bad["rules"][0]["start_time"] = json!("25:00:00"));
    changed("rules[0].states.parked", &|bad| bad["rules"][0]["states"] = json!({"parked": []}));
    changed("rules[0].states.available[0]", &|bad| bad["rules"][0]["states"]["available"] = json!(["teleported"]));
    changed("rules[0].geographies[1]", &|bad| bad["rules"][0]["geographies"][1] = json!(POLICY));
    let mut against_the_models = Vec::new();
    for (path, bad) in bad_cases {
        assert_refused_at(&put(&kb, &policy_path, bad.clone()).await, &path);
        // All but the unknown geography are refused by the published models too.
        if !path.contains("geographies") {
            against_the_models.push(json!({"model": "policy", "valid": false, "document": bad}));
        }
    }
    let other_id = put(&kb, "/mds/policies/00000000-0000-4000-8000-000000000000", policy.clone()).await;
    assert_refused_at(&other_id, "policy_id");
    let mut square = fixture("banpo.geography.json");
    square["geography_json"]["features"][0]["geometry"]["coordinates"] = json!([[[127.0, 37.5], [127.001, 37.5]]]);
    let bad_geometry = put(&kb, "/mds/geographies/5d4fa082-6172-4f90-8132-4e5f60718293", square).await;
    assert_eq!(bad_geometry.status, StatusCode::BAD_REQUEST, "{bad_geometry:?}");
    assert!(bad_geometry.text("detail").starts_with("geography_json.features[0].geometry"), "{bad_geometry:?}");
    let admin = kb.admin_token();
    assert_eq!(kb.get("/mds/policies", &admin).await.body["policies"], json!([]), "nothing stored");
    assert_eq!(kb.get("/mds/geographies", &admin).await.body["geographies"].as_array().map(Vec::len), Some(2));

    // The policy: enforced as a zone closed to riding and parking; importing it again is a no-op,
    // and another document under its id is refused.
    let imported = put(&kb, &policy_path, policy.clone()).await;
    assert_eq!(imported.status, StatusCode::CREATED, "{imported:?}");
    let rule = &imported.body["rules"][0];
    assert_eq!(
        rule["zone_rules"],
        json!({"rideStartAllowed": false, "rideEndAllowed": false, "rideThroughAllowed": false}),
        "{imported:?}"
    );
    assert_eq!(rule["not_enforced"], json!([]));
    assert_eq!(put(&kb, &policy_path, policy.clone()).await.status, StatusCode::OK);
    let mut edited = policy.clone();
    edited["name"] = json!("changed after publishing");
    let published = put(&kb, &policy_path, edited).await;
    assert_eq!((published.status, published.problem()), (StatusCode::CONFLICT, "mds-document-published"));
    let listed = kb.get("/mds/policies", &admin).await;
    assert_eq!(listed.body["policies"], json!([policy]));
    assert_eq!(listed.body["enforcement"][0]["policy_id"], POLICY);
    assert_eq!(listed.body["enforcement"][0]["rules"], imported.body["rules"], "shown as the import said");
    // What was kept is valid under the OMF models, and what was refused for its form is not.
    let kept = kb.get("/mds/geographies", &admin).await.body["geographies"].as_array().unwrap().clone();
    against_the_models
        .extend(kept.into_iter().map(|document| json!({"model": "geography", "valid": true, "document": document})));
    against_the_models.push(json!({"model": "policy", "valid": true, "document": policy}));
    assert_as_the_models_say(&against_the_models);

    // 13:00 in Seoul: a ride from City Hall may not end on the Red Road.
    to_seoul_time(&kb, 13, 0);
    kb.register_board("kb-1").await;
    kb.set_phone(&alice, "+821012345678").await;
    let pass = kb.paid_pass(&alice, "basic-60").await;
    let ride = kb.rent(&alice, &pass, "kb-1").await;
    assert_eq!(ride.status, StatusCode::CREATED, "{ride:?}");

    // Riding onto the closed street tells the rider and the crew, once each time it enters.
    let report_at = |lat: f64, lon: f64| {
        kb.clock.advance(Duration::seconds(30));
        kb.report("kb-1", json!({"lat": lat, "lon": lon, "batteryPct": 90}))
    };
    for (lat, lon) in [IN_HONGDAE, (37.5558, 126.9241), (37.5600, 126.9300), IN_HONGDAE] {
        assert_eq!(report_at(lat, lon).await.status, StatusCode::OK);
    }
    kb.settle().await;
    let entered = |alert: &&Value| alert["kind"] == "rode-into-no-riding-zone";
    let crew = kb.get("/admin/alerts", &admin).await.body["alerts"].as_array().unwrap().clone();
    assert_eq!(crew.iter().filter(entered).count(), 2, "two entries, two alerts: {crew:?}");
    assert!(crew[0]["text"].as_str().unwrap().contains("킥보드 없는 거리"), "{crew:?}");
    let texts = kb.texts("alice").await;
    let warned: Vec<&String> = texts.iter().filter(|text| text.contains("통행 금지 구역")).collect();
    assert_eq!(warned.len(), 2, "{texts:?}");
    assert!(warned[0].contains("12:00~23:00 킥보드 통행 금지 구역입니다"), "the city's message: {warned:?}");
    let give_back = |language: &'static str| {
        let (kb, alice, rental) = (&kb, alice.clone(), ride.text("rentalId"));
        async move {
            let body = json!({"lat": IN_HONGDAE.0, "lon": IN_HONGDAE.1});
            let path = format!("/rentals/{rental}/return");
            let language = [("accept-language", language)];
            let body = serde_json::to_vec(&body).unwrap();
            kb.send_with_headers(Method::POST, &path, Some(&alice), Some("application/json"), body, &language).await
        }
    };
    let refused = give_back("ko-KR,ko;q=0.9").await;
    assert_eq!((refused.status, refused.problem()), (StatusCode::UNPROCESSABLE_ENTITY, "ride-end-not-allowed"));
    let detail = refused.text("detail");
    assert!(
        detail.contains("킥보드 없는 거리") && detail.contains("Kickboard-free streets"),
        "names the rule: {detail}"
    );
    assert!(detail.ends_with("12:00~23:00 킥보드 통행 금지 구역입니다"), "in Korean: {detail}");
    let in_english = give_back("en").await;
    assert!(
        in_english.text("detail").ends_with("Kickboards are not allowed here from 12:00 to 23:00"),
        "{in_english:?}"
    );

    // The public feed publishes the closed streets while they are closed, until they open.
    let feed = kb.call(Method::GET, "/gbfs/v3/geofencing_zones.json", None, None).await;
    let zones = feed.body["data"]["geofencing_zones"]["features"].as_array().unwrap().clone();
    assert_eq!(zones.len(), 2, "{feed:?}");
    assert_eq!(zones[0]["properties"]["rules"][0]["ride_end_allowed"], false);
    let until_open = (23 - 13) * 3600 + 1;
    assert!(feed.body["ttl"].as_i64().unwrap() <= until_open, "{feed:?}");

    // 23:30: open again.
    to_seoul_time(&kb, 23, 30);
    let allowed = give_back("ko").await;
    assert_eq!(allowed.status, StatusCode::OK, "{allowed:?}");
    let feed = kb.call(Method::GET, "/gbfs/v3/geofencing_zones.json", None, None).await;
    assert_eq!(feed.body["data"]["geofencing_zones"]["features"], json!([]), "{feed:?}");

    // A cap: at most 2 boards parked in Banpo, counted against the fleet on request.
    let cap = fixture("banpo-cap.policy.json");
    let capped = put(&kb, &format!("/mds/policies/{}", cap["policy_id"].as_str().unwrap()), cap).await;
    assert_eq!((capped.status, &capped.body["rules"][0]["fleet_cap"]), (StatusCode::CREATED, &json!(2)), "{capped:?}");
    for board in ["kb-b1", "kb-b2", "kb-b3"] {
        let body = json!({"kickboardId": board, "model": "Ninebot Max", "lat": 37.5047, "lon": 126.998});
        assert_eq!(kb.post("/kickboards", &admin, body).await.status, StatusCode::CREATED);
    }
    let standing = |reply: Reply| (reply.body["caps"][0]["count"].clone(), reply.body["caps"][0]["met"].clone());
    assert_eq!(kb.get("/mds/compliance", &alice).await.status, StatusCode::FORBIDDEN);
    let over = kb.get("/mds/compliance", &admin).await;
    assert_eq!(over.body["caps"].as_array().map(Vec::len), Some(1), "{over:?}");
    assert_eq!(
        (&over.body["caps"][0]["limit"], &over.body["caps"][0]["rule_name"]),
        (&json!(2), &json!("Banpo parking cap"))
    );
    assert_eq!(standing(over), (json!(3), json!(false)));
    // The minute's watch tells the crew once, from the board parked there last, until the count
    // is back within the cap and goes over again.
    assert_eq!(kb.server.app.watch_rides().await.unwrap().caps_over, 1);
    assert_eq!(kb.server.app.watch_rides().await.unwrap().caps_over, 0, "still over: told once");
    let told = cap_alerts(&kb, &admin).await;
    assert_eq!(told.len(), 1, "{told:?}");
    assert_eq!(told[0]["kickboardId"], "kb-b3");
    assert!(told[0]["text"].as_str().unwrap().contains("주차 3대, 상한 2대 초과"), "{told:?}");
    let service = |status: &str| json!({"status": status});
    let status_path = "/kickboards/kb-b3/status";
    assert_eq!(
        kb.call(Method::PUT, status_path, Some(&admin), Some(service("MAINTENANCE"))).await.status,
        StatusCode::OK
    );
    assert_eq!(
        standing(kb.get("/mds/compliance", &admin).await),
        (json!(2), json!(true)),
        "only available boards count"
    );
    assert_eq!(kb.server.app.watch_rides().await.unwrap().caps_over, 0);
    assert_eq!(
        kb.call(Method::PUT, status_path, Some(&admin), Some(service("AVAILABLE"))).await.status,
        StatusCode::OK
    );
    assert_eq!(kb.server.app.watch_rides().await.unwrap().caps_over, 1, "over again: told again");
    assert_eq!(cap_alerts(&kb, &admin).await.len(), 2);
    kb.stop().await;
}
