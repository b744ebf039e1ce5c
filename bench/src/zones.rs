//! Rent and return with a city's zones against none, in the same run: on the local server
//! (latency), through the zone index alone (lookups), and on the DynamoDB store against moto
//! (requests per command, counted by the tap).

use crate::Latencies;
use chrono::Utc;
use geo::{Coord, Intersects, LineString, MultiPolygon, Polygon};
use hyper::{Method, StatusCode};
use kickboard_common::domain::geo::Coordinates;
use kickboard_common::domain::ids::ZoneId;
use kickboard_common::domain::zones::{Zone, ZoneGeometry, ZoneMap, ZoneName, ZoneRules, ZoneSet};
use kickboard_local::config::Storage;
use kickboard_tests::tap::Tap;
use kickboard_tests::{ManualClock, TestServer, Xorshift};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// The city: 10 km × 10 km from its south-west corner, in Seoul.
const SOUTH: f64 = 37.50;
const WEST: f64 = 126.92;
const SPAN_LAT: f64 = 10.0 / 111.32;
const SPAN_LON: f64 = 10.0 / (111.32 * 0.7934);

fn city_point(random: &mut Xorshift) -> (f64, f64) {
    (SOUTH + random.unit() * SPAN_LAT, WEST + random.unit() * SPAN_LON)
}

fn square(south: f64, west: f64, side: f64) -> Value {
    let (north, east) = (south + side, west + side);
    json!({"type": "Polygon", "coordinates": [[[west, south], [east, south], [east, north], [west, north], [west, south]]]})
}

/// A service area over the whole city and `zones - 1` no-parking squares of about 100 m
/// scattered in it (a tenth of the city): `(id, body)` of each `PUT /geofencing/zones/{id}`.
fn city_zones(zones: usize, random: &mut Xorshift) -> Vec<(String, Value)> {
    let allowed =
        json!({"rideStartAllowed": true, "rideEndAllowed": true, "rideThroughAllowed": true, "maximumSpeedKph": 25});
    let no_parking = json!({"rideStartAllowed": true, "rideEndAllowed": false, "rideThroughAllowed": true});
    let mut bodies = vec![(
        "service".to_owned(),
        json!({"name": "Service area", "priority": 10_000, "geometry": square(SOUTH - 0.01, WEST - 0.01, 0.13), "rules": allowed}),
    )];
    for zone in 1..zones {
        let (lat, lon) = city_point(random);
        let body = json!({"name": format!("No parking {zone}"), "priority": zone, "geometry": square(lat, lon, 0.001),
            "rules": no_parking});
        bodies.push((format!("no-parking-{zone}"), body));
    }
    bodies
}

/// Rent and return latencies over HTTP, and how many returns a no-parking zone refused.
pub struct RideTimes {
    pub zones: usize,
    pub rent: Latencies,
    pub give_back: Latencies,
    pub refused_returns: usize,
}

async fn rides(
    kb: &TestServer,
    token: &str,
    pass: &mut String,
    boards: usize,
    rides: usize,
    random: &mut Xorshift,
) -> RideTimes {
    let (mut rents, mut returns, mut refused) = (Vec::new(), Vec::new(), 0);
    for _ in 0..rides {
        let board = format!("kb-{}", random.next_u64() % boards as u64);
        let sent = Instant::now();
        let rented = kb.rent(token, pass, &board).await;
        rents.push(sent.elapsed());
        match (rented.status, rented.problem()) {
            (StatusCode::CREATED, _) => {}
            (_, "pass-exhausted") => {
                *pass = kb.paid_pass(token, "plus-120").await;
                continue;
            }
            other => panic!("unexpected rent answer {other:?}"),
        }
        let rental = rented.text("rentalId");
        loop {
            let (lat, lon) = city_point(random);
            let path = format!("/rentals/{rental}/return");
            let sent = Instant::now();
            let back = kb.call(Method::POST, &path, Some(token), Some(json!({"lat": lat, "lon": lon}))).await;
            returns.push(sent.elapsed());
            match back.status {
                StatusCode::OK => break,
                StatusCode::UNPROCESSABLE_ENTITY => refused += 1,
                other => panic!("unexpected return answer {other} {back:?}"),
            }
        }
    }
    RideTimes { zones: 0, rent: Latencies::of(rents), give_back: Latencies::of(returns), refused_returns: refused }
}

async fn define_zones(kb: &TestServer, zones: usize, random: &mut Xorshift) {
    let admin = kb.admin_token();
    for (id, body) in city_zones(zones, random) {
        let reply = kb.call(Method::PUT, &format!("/geofencing/zones/{id}"), Some(&admin), Some(body)).await;
        assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    }
}

/// `rides` rent + return pairs on the local server (SQLite in memory) with no zones, then the
/// same with `zones` zones.
pub async fn local_rides(zones: usize, rides_each: usize) -> [RideTimes; 2] {
    let kb = TestServer::start_with(Storage::InMemory, false, ManualClock::new()).await;
    let mut random = Xorshift(0x2545_f491_4f6c_dd1d);
    let boards = 200;
    let admin = kb.admin_token();
    for board in 0..boards {
        let (lat, lon) = city_point(&mut random);
        let body = json!({"kickboardId": format!("kb-{board}"), "model": "Ninebot", "lat": lat, "lon": lon});
        assert_eq!(kb.post("/kickboards", &admin, body).await.status, StatusCode::CREATED);
    }
    let token = kb.customer_token("rider");
    let mut pass = kb.paid_pass(&token, "plus-120").await;
    // Unmeasured rides first, so neither run pays for a cold start.
    rides(&kb, &token, &mut pass, boards, rides_each / 5, &mut random).await;
    let none = rides(&kb, &token, &mut pass, boards, rides_each, &mut random).await;
    define_zones(&kb, zones, &mut random).await;
    let zoned = rides(&kb, &token, &mut pass, boards, rides_each, &mut random).await;
    kb.stop().await;
    [RideTimes { zones: 0, ..none }, RideTimes { zones, ..zoned }]
}

/// Mean time of one "which rules hold here" through the zone index, and through a plain scan
/// of every zone in priority order (what the index saves).
pub fn lookups(zones: usize, lookups: usize) -> (Duration, Duration) {
    let mut random = Xorshift(0x9e37_79b9_7f4a_7c15);
    let defined: Vec<Zone> = city_zones(zones, &mut random)
        .into_iter()
        .map(|(id, body)| {
            let geometry: ZoneGeometry = serde_json::from_value(body["geometry"].clone()).expect("a geometry");
            let rules: ZoneRules = serde_json::from_value(body["rules"].clone()).expect("rules");
            let name = ZoneName::try_from(body["name"].as_str().unwrap_or("zone").to_owned()).expect("a name");
            let priority = i32::try_from(body["priority"].as_i64().unwrap_or(0)).unwrap_or(0);
            Zone::define(ZoneId::try_from(id).expect("an id"), name, priority, geometry, rules, Utc::now())
                .expect("a zone")
                .0
        })
        .collect();
    let places: Vec<(f64, f64)> = (0..lookups).map(|_| city_point(&mut random)).collect();
    let map = ZoneMap::new(ZoneSet { version: 1, zones: defined.clone(), ..ZoneSet::default() });
    let started = Instant::now();
    let mut refused = 0;
    for (lat, lon) in &places {
        refused += usize::from(!map.governing(&Coordinates::new(*lat, *lon).expect("a place")).rules.ride_end_allowed);
    }
    let indexed = started.elapsed() / lookups.max(1) as u32;

    let mut sorted = defined;
    sorted.sort_by_key(|zone| zone.priority);
    let shapes: Vec<MultiPolygon<f64>> = sorted.iter().map(|zone| shape(&zone.geometry)).collect();
    let started = Instant::now();
    let mut scanned_refused = 0;
    for (lat, lon) in &places {
        let coord = Coord { x: *lon, y: *lat };
        let governing = shapes.iter().position(|shape| shape.intersects(&coord));
        scanned_refused += usize::from(governing.is_some_and(|index| !sorted[index].rules.ride_end_allowed));
    }
    let scanned = started.elapsed() / lookups.max(1) as u32;
    assert_eq!(refused, scanned_refused, "the index and the scan agree");
    (indexed, scanned)
}

fn shape(geometry: &ZoneGeometry) -> MultiPolygon<f64> {
    let ring = |positions: &Vec<[f64; 2]>| {
        LineString::from(positions.iter().map(|[x, y]| Coord { x: *x, y: *y }).collect::<Vec<_>>())
    };
    let json = serde_json::to_value(geometry).expect("a geometry");
    let polygons: Vec<Vec<Vec<[f64; 2]>>> = match json["type"].as_str() {
        Some("Polygon") => vec![serde_json::from_value(json["coordinates"].clone()).expect("rings")],
        _ => serde_json::from_value(json["coordinates"].clone()).expect("polygons"),
    };
    MultiPolygon(
        polygons.iter().map(|rings| Polygon::new(ring(&rings[0]), rings[1..].iter().map(ring).collect())).collect(),
    )
}

/// DynamoDB requests per rent and per return on moto, with no zones and with `zones`.
pub struct DynamoCounts {
    pub zones: usize,
    pub per_rent: f64,
    pub per_return: f64,
}

pub async fn dynamo_requests(zones: usize, rides_each: usize) -> [DynamoCounts; 2] {
    let tap = Tap::default();
    let kb =
        TestServer::start_on_moto_with(false, |config| config.into_builder().http_client(tap.http_client()).build())
            .await;
    let mut random = Xorshift(0x2545_f491_4f6c_dd1d);
    let admin = kb.admin_token();
    let boards = 20;
    for board in 0..boards {
        let (lat, lon) = city_point(&mut random);
        let body = json!({"kickboardId": format!("kb-{board}"), "model": "Ninebot", "lat": lat, "lon": lon});
        assert_eq!(kb.post("/kickboards", &admin, body).await.status, StatusCode::CREATED);
    }
    let token = kb.customer_token("rider");
    let pass = kb.paid_pass(&token, "plus-120").await;
    let mut counts = Vec::new();
    for zoned in [0, zones] {
        if zoned > 0 {
            define_zones(&kb, zoned, &mut random).await;
            // The first rent after a change reads the zones once; that is not per ride.
            let warm = kb.rent(&token, &pass, "kb-0").await;
            let back = json!({"lat": SOUTH + 0.00001, "lon": WEST + 0.00001});
            kb.call(Method::POST, &format!("/rentals/{}/return", warm.text("rentalId")), Some(&token), Some(back))
                .await;
        }
        let (mut rent_requests, mut return_requests) = (0, 0);
        for ride in 0..rides_each {
            let board = format!("kb-{}", ride % boards);
            tap.reset();
            let rented = kb.rent(&token, &pass, &board).await;
            assert_eq!(rented.status, StatusCode::CREATED, "{rented:?}");
            rent_requests += tap.tally().requests.values().sum::<u64>();
            // Returned at the south-west corner: inside the service area, in no no-parking square.
            let back = json!({"lat": SOUTH + 0.00001 * ride as f64, "lon": WEST + 0.00001});
            tap.reset();
            let path = format!("/rentals/{}/return", rented.text("rentalId"));
            let reply = kb.call(Method::POST, &path, Some(&token), Some(back)).await;
            assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
            return_requests += tap.tally().requests.values().sum::<u64>();
        }
        let per = |count: u64| count as f64 / rides_each.max(1) as f64;
        counts.push(DynamoCounts { zones: zoned, per_rent: per(rent_requests), per_return: per(return_requests) });
    }
    kb.stop().await;
    let [none, zoned] = <[DynamoCounts; 2]>::try_from(counts).unwrap_or_else(|_| unreachable!("two runs"));
    [none, zoned]
}
