//! Zones: rides start and end only where the zones (or the global rules) allow, and the
//! zones are published as GBFS `geofencing_zones`.

use hyper::{Method, StatusCode};
use kickboard_tests::{Backend, Reply, TestServer};
use serde_json::{Value, json};

fn assert_problem(reply: &Reply, status: StatusCode, problem: &str, naming: &str) {
    assert_eq!((reply.status, reply.problem()), (status, problem), "{reply:?}");
    let detail = reply.body["detail"].as_str().unwrap_or_default();
    assert!(detail.contains(naming), "the detail names {naming}: {detail}");
}

/// A rectangle from its south-west corner, counter-clockwise and closed, as GeoJSON.
pub fn rectangle(south: f64, west: f64, north: f64, east: f64) -> Value {
    json!({"type": "Polygon", "coordinates": [[[west, south], [east, south], [east, north], [west, north], [west, south]]]})
}

fn rules(start: bool, end: bool) -> Value {
    json!({"rideStartAllowed": start, "rideEndAllowed": end, "rideThroughAllowed": true})
}

async fn put_zone(kb: &TestServer, id: &str, priority: i32, geometry: Value, rules: Value) {
    let body = json!({"name": format!("Zone {id}"), "priority": priority, "geometry": geometry, "rules": rules});
    let reply = kb.call(Method::PUT, &format!("/geofencing/zones/{id}"), Some(&kb.admin_token()), Some(body)).await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    assert_eq!(reply.body["zoneId"], id);
}

async fn give_back_at(kb: &TestServer, token: &str, rental_id: &str, place: Option<(f64, f64)>) -> Reply {
    let body = place.map(|(lat, lon)| json!({"lat": lat, "lon": lon}));
    kb.call(Method::POST, &format!("/rentals/{rental_id}/return"), Some(token), body).await
}

pub async fn rides_start_and_end_only_where_the_zones_allow(backend: Backend) {
    let kb = TestServer::start_on(backend).await;
    let (alice, admin) = (kb.customer_token("alice"), kb.admin_token());
    let open = kb.call(Method::GET, "/geofencing/global-rules", None, None).await;
    assert_eq!(open.body, rules(true, true), "everything allowed by default");
    kb.register_board("kb-1").await; // at 37.5665, 126.978, by City Hall
    let depot = json!({"kickboardId": "kb-2", "model": "Ninebot Max", "lat": 37.5702, "lon": 126.9902});
    assert_eq!(kb.post("/kickboards", &admin, depot).await.status, StatusCode::CREATED);
    let pass = kb.paid_pass(&alice, "plus-120").await;

    // A service area, nothing allowed outside it, a no-parking square at City Hall and a depot
    // where rides may not start.
    let service =
        json!({"rideStartAllowed": true, "rideEndAllowed": true, "rideThroughAllowed": true, "maximumSpeedKph": 25});
    put_zone(&kb, "service", 100, rectangle(37.55, 126.96, 37.58, 127.0), service).await;
    let closed = kb.call(Method::PUT, "/geofencing/global-rules", Some(&admin), Some(rules(false, false))).await;
    assert_eq!(closed.status, StatusCode::OK, "{closed:?}");
    put_zone(&kb, "city-hall", 1, rectangle(37.566, 126.9775, 37.567, 126.9785), rules(true, false)).await;
    put_zone(&kb, "depot", 5, rectangle(37.57, 126.99, 37.5705, 126.9905), rules(false, true)).await;
    let listed = kb.call(Method::GET, "/geofencing/zones", None, None).await;
    let ids: Vec<&str> = listed.body.as_array().unwrap().iter().map(|zone| zone["zoneId"].as_str().unwrap()).collect();
    assert_eq!(ids, ["city-hall", "depot", "service"], "in priority order");

    let bob = kb.customer_token("bob");
    kb.verify_licence(&bob).await;
    let before = kb.row_counts().await;
    let refused = kb.rent(&alice, &pass, "kb-2").await;
    assert_problem(&refused, StatusCode::UNPROCESSABLE_ENTITY, "ride-start-not-allowed", "depot");
    let bobs = kb.rent(&bob, &pass, "kb-2").await;
    assert_eq!(bobs.problem(), "pass-not-found", "the pass is checked before the place, as always");
    assert_eq!(kb.row_counts().await, before, "a refused rent writes nothing");

    let ride = kb.rent(&alice, &pass, "kb-1").await;
    assert_eq!(ride.status, StatusCode::CREATED, "starting in a no-parking zone is allowed: {ride:?}");
    let rental_id = ride.text("rentalId");
    let before = kb.row_counts().await;
    let in_city_hall = give_back_at(&kb, &alice, &rental_id, Some((37.5666, 126.978))).await;
    assert_problem(&in_city_hall, StatusCode::UNPROCESSABLE_ENTITY, "ride-end-not-allowed", "city-hall");
    let on_its_edge = give_back_at(&kb, &alice, &rental_id, Some((37.566, 126.978))).await;
    assert_problem(&on_its_edge, StatusCode::UNPROCESSABLE_ENTITY, "ride-end-not-allowed", "city-hall");
    let outside = give_back_at(&kb, &alice, &rental_id, Some((37.6, 127.1))).await;
    assert_problem(&outside, StatusCode::UNPROCESSABLE_ENTITY, "ride-end-not-allowed", "outside every zone");
    // With no place given the ride ends where the vehicle last said it was: City Hall.
    let unsaid = give_back_at(&kb, &alice, &rental_id, None).await;
    assert_problem(&unsaid, StatusCode::UNPROCESSABLE_ENTITY, "ride-end-not-allowed", "city-hall");
    assert_eq!(kb.row_counts().await, before, "refused returns write nothing");
    let still = kb.get(&format!("/rentals/{rental_id}"), &alice).await;
    assert_eq!(still.body["status"], "OPEN", "the rental stays open: {still:?}");

    let back = give_back_at(&kb, &alice, &rental_id, Some((37.5680, 126.9800))).await;
    assert_eq!(back.status, StatusCode::OK, "{back:?}");
    let near = kb.get("/kickboards?near=37.5680,126.9800&radiusM=50", &alice).await;
    assert_eq!(near.body[0]["kickboardId"], "kb-1", "parked where the ride ended: {near:?}");

    // A zone removed no longer holds; removing it twice is a 404.
    let ride = kb.rent(&alice, &pass, "kb-1").await;
    assert_eq!(ride.status, StatusCode::CREATED, "{ride:?}");
    let vehicle = kb.report("kb-1", json!({"lat": 37.5665, "lon": 126.978, "batteryPct": 80})).await;
    assert_eq!(vehicle.status, StatusCode::OK);
    let rental_id = ride.text("rentalId");
    assert_eq!(give_back_at(&kb, &alice, &rental_id, None).await.status, StatusCode::UNPROCESSABLE_ENTITY);
    let city_hall = "/geofencing/zones/city-hall";
    assert_eq!(kb.call(Method::DELETE, city_hall, Some(&admin), None).await.status, StatusCode::NO_CONTENT);
    assert_eq!(kb.call(Method::DELETE, city_hall, Some(&admin), None).await.problem(), "zone-not-found");
    assert_eq!(give_back_at(&kb, &alice, &rental_id, None).await.status, StatusCode::OK);
    kb.stop().await;
}

pub async fn the_zones_are_published_as_gbfs_geofencing_zones(backend: Backend) {
    let kb = TestServer::start_on(backend).await;
    let admin = kb.admin_token();
    let discovery = kb.call(Method::GET, "/gbfs/v3/gbfs.json", None, None).await;
    assert!(!discovery.body.to_string().contains("geofencing_zones"), "not listed before there are zones");
    let service =
        json!({"rideStartAllowed": true, "rideEndAllowed": true, "rideThroughAllowed": true, "maximumSpeedKph": 25});
    put_zone(&kb, "service", 100, rectangle(37.55, 126.96, 37.58, 127.0), service).await;
    let holes = json!({"type": "MultiPolygon", "coordinates": [
        [[[126.97, 37.56], [126.98, 37.56], [126.98, 37.57], [126.97, 37.57], [126.97, 37.56]],
         [[126.974, 37.564], [126.976, 37.564], [126.976, 37.566], [126.974, 37.566], [126.974, 37.564]]],
    ]});
    put_zone(&kb, "plaza", 1, holes, rules(true, false)).await;
    let body = json!({"rideStartAllowed": false, "rideEndAllowed": false, "rideThroughAllowed": true});
    assert_eq!(kb.call(Method::PUT, "/geofencing/global-rules", Some(&admin), Some(body)).await.status, StatusCode::OK);

    crate::gbfs::assert_valid_feed(&kb, 0);
    let file = kb.call(Method::GET, "/gbfs/v3/geofencing_zones.json", None, None).await;
    let features = file.body["data"]["geofencing_zones"]["features"].as_array().unwrap();
    let names: Vec<&str> =
        features.iter().map(|feature| feature["properties"]["name"][0]["text"].as_str().unwrap()).collect();
    assert_eq!(names, ["Zone plaza", "Zone service"], "priority order: the first listed wins, as in GBFS");
    assert_eq!(features[0]["geometry"]["type"], "MultiPolygon");
    assert_eq!(features[1]["geometry"]["type"], "MultiPolygon", "a Polygon is published as a MultiPolygon");
    assert_eq!(features[1]["properties"]["rules"][0]["maximum_speed_kph"], 25);
    assert_eq!(file.body["data"]["global_rules"][0]["ride_end_allowed"], false);
    kb.stop().await;
}
