//! The public GBFS v3.0 feed: valid against MobilityData's official schemas (and the rules
//! they miss), without a token, never showing a ride, and read from the store once per ttl.

use chrono::Duration;
use hyper::{Method, StatusCode};
use kickboard_common::ports::Clock;
use kickboard_local::config::{LocalConfig, Storage};
use kickboard_tests::{Backend, ManualClock, Reply, TestServer, assert_check_passes};
use serde_json::{Value, json};
use std::collections::BTreeSet;

/// Runs `tests/gbfs_check.py` on the served feed: schemas, gbfs-validator's cross-file rules,
/// references, translations, headers and freshness. Fails the test on any problem.
pub fn assert_valid_feed(kb: &TestServer, vehicles: usize) {
    let (feed, vehicles, now) =
        (format!("{}/gbfs/v3/gbfs.json", kb.base_url()), vehicles.to_string(), kb.clock.now().to_rfc3339());
    let args = [feed.as_str(), "--expect-vehicles", &vehicles, "--server-now", &now];
    assert_check_passes("gbfs_check.py", &args, "the feed is not valid GBFS v3.0");
}

async fn feed(kb: &TestServer, file: &str) -> Reply {
    let reply = kb.call(Method::GET, &format!("/gbfs/v3/{file}"), None, None).await;
    assert_eq!(reply.status, StatusCode::OK, "{file}: {reply:?}");
    reply
}

async fn vehicle_ids(kb: &TestServer) -> BTreeSet<String> {
    let status = feed(kb, "vehicle_status.json").await;
    status.body["data"]["vehicles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["vehicle_id"].as_str().unwrap().to_owned())
        .collect()
}

pub async fn the_public_feed_is_valid_gbfs_and_never_shows_a_ride(backend: Backend) {
    let kb = TestServer::start_on(backend).await;
    let (alice, admin) = (kb.customer_token("alice"), kb.admin_token());
    assert_valid_feed(&kb, 0);
    for board in ["kb-1", "kb-2", "kb-3", "kb-4"] {
        kb.register_board(board).await;
    }
    let serviced =
        kb.call(Method::PUT, "/kickboards/kb-2/status", Some(&admin), Some(json!({"status": "MAINTENANCE"})));
    assert_eq!(serviced.await.status, StatusCode::OK);
    kb.clock.advance(Duration::seconds(1));
    assert_eq!(
        kb.report("kb-3", json!({"lat": 37.5671, "lon": 126.9801, "batteryPct": 9})).await.status,
        StatusCode::OK
    );

    let discovery = feed(&kb, "gbfs.json").await;
    let urls: Vec<&str> =
        discovery.body["data"]["feeds"].as_array().unwrap().iter().map(|feed| feed["url"].as_str().unwrap()).collect();
    assert!(urls.contains(&format!("{}/gbfs/v3/vehicle_status.json", kb.base_url()).as_str()), "{urls:?}");
    assert_valid_feed(&kb, 4);
    let status = feed(&kb, "vehicle_status.json").await;
    // A client that takes gzip gets the same file gzipped (the city's file is megabytes); one
    // that does not, or a file too small to gain from it, goes as it is.
    let gzip = [("accept-encoding", "br, gzip")];
    let zipped = kb.send_with_headers(Method::GET, "/gbfs/v3/vehicle_status.json", None, None, vec![], &gzip).await;
    assert_eq!(zipped.content_encoding.as_deref(), Some("gzip"));
    // Each read of the fleet on DynamoDB is a parallel scan, in no set order.
    let listed = |reply: &Reply| {
        let vehicles = reply.body["data"]["vehicles"].as_array().unwrap().iter();
        vehicles.map(|vehicle| vehicle.to_string()).collect::<BTreeSet<_>>()
    };
    assert_eq!(listed(&zipped), listed(&status));
    assert_eq!((status.content_encoding.as_deref(), status.vary.as_deref()), (None, Some("Accept-Encoding")));
    let small = kb.send_with_headers(Method::GET, "/gbfs/v3/system_information.json", None, None, vec![], &gzip);
    assert_eq!(small.await.content_encoding, None);
    let vehicles = status.body["data"]["vehicles"].as_array().unwrap();
    let disabled = vehicles.iter().filter(|vehicle| vehicle["is_disabled"] == true).count();
    assert_eq!(disabled, 2, "maintenance and low battery are disabled: {vehicles:?}");
    let low = vehicles.iter().find(|vehicle| vehicle["lat"] == 37.5671).expect("the reported position");
    assert_eq!((&low["current_fuel_percent"], &low["current_range_meters"]), (&json!(0.09), &json!(2_250)));
    let before = vehicle_ids(&kb).await;
    assert!(before.iter().all(|id| !id.starts_with("kb-")), "internal ids never appear: {before:?}");

    // A ride takes the board out of the feed; back, it has a new public id.
    let pass = kb.paid_pass(&alice, "basic-60").await;
    let ride = kb.rent(&alice, &pass, "kb-4").await;
    assert_eq!(ride.status, StatusCode::CREATED, "{ride:?}");
    let riding = vehicle_ids(&kb).await;
    assert_eq!(riding.len(), 3, "a rented board is not listed");
    assert!(riding.is_subset(&before));
    assert_valid_feed(&kb, 3);
    assert_eq!(kb.give_back(&alice, &ride.text("rentalId")).await.status, StatusCode::OK);
    let after = vehicle_ids(&kb).await;
    let returned: Vec<&String> = after.difference(&before).collect();
    assert_eq!(returned.len(), 1, "the returned board is back under a new id: {before:?} → {after:?}");

    let retired = kb.call(Method::DELETE, "/kickboards/kb-2", Some(&admin), None).await;
    assert_eq!(retired.status, StatusCode::NO_CONTENT);
    assert_valid_feed(&kb, 3);
    let types = feed(&kb, "vehicle_types.json").await;
    assert_eq!(types.body["data"]["vehicle_types"][0]["propulsion_type"], "electric");
    kb.stop().await;
}

/// On AWS a feed request must not read the fleet: the fleet is read once per ttl, and the
/// files say so truthfully.
pub async fn the_fleet_is_read_once_per_ttl_and_the_files_say_how_old_they_are() {
    let clock = ManualClock::new();
    let mut config =
        LocalConfig { addr: "127.0.0.1:0".parse().unwrap(), storage: Storage::InMemory, ..LocalConfig::default() };
    config.gbfs.ttl_secs = 60;
    let kb = TestServer::start_configured(config, clock).await;
    kb.register_board("kb-1").await;
    let first = feed(&kb, "vehicle_status.json").await;
    let taken = first.body["last_updated"].clone();
    assert_eq!((&first.body["ttl"], first.cache_control.as_deref()), (&json!(60), Some("public, max-age=60")));
    assert_eq!(first.body["data"]["vehicles"].as_array().unwrap().len(), 1);

    kb.register_board("kb-2").await;
    kb.clock.advance(Duration::seconds(20));
    let cached = feed(&kb, "vehicle_status.json").await;
    assert_eq!(cached.body["last_updated"], taken, "the same snapshot");
    assert_eq!(cached.body["data"]["vehicles"].as_array().unwrap().len(), 1);
    assert_eq!(cached.cache_control.as_deref(), Some("public, max-age=40"), "caches keep it only for what is left");
    assert_valid_feed(&kb, 1);

    kb.clock.advance(Duration::seconds(40));
    let fresh = feed(&kb, "vehicle_status.json").await;
    assert_ne!(fresh.body["last_updated"], taken);
    assert_eq!(fresh.body["data"]["vehicles"].as_array().unwrap().len(), 2, "read again after its ttl");
    let system: Value = feed(&kb, "system_information.json").await.body;
    assert_eq!(system["data"]["timezone"], "Asia/Seoul");
    assert_eq!(system["ttl"], 60);
    kb.stop().await;
}
