//! Which rules hold where: priorities, holes, the areas refused, and a city's rules on top.

use super::*;

fn square(west: f64, south: f64, side: f64) -> ZoneGeometry {
    let ring = [[west, south], [west + side, south], [west + side, south + side], [west, south + side], [west, south]];
    serde_json::from_value(serde_json::json!({"type": "Polygon", "coordinates": [ring]})).unwrap()
}

fn zone(id: &str, priority: i32, geometry: ZoneGeometry, rules: ZoneRules) -> Zone {
    let name = ZoneName::try_from(format!("zone {id}")).unwrap();
    Zone::define(ZoneId::try_from(id).unwrap(), name, priority, geometry, rules, Utc::now()).unwrap().0
}

const NO_PARKING: ZoneRules = ZoneRules {
    ride_start_allowed: true,
    ride_end_allowed: false,
    ride_through_allowed: true,
    maximum_speed_kph: None,
};

#[test]
fn the_highest_priority_zone_containing_a_point_governs_it_edges_included() {
    let service = ZoneRules { maximum_speed_kph: Some(25), ..ZoneRules::default() };
    let closed = ZoneRules { ride_start_allowed: false, ride_end_allowed: false, ..ZoneRules::default() };
    let map = ZoneMap::new(ZoneSet {
        version: 1,
        zones: vec![
            zone("service", 10, square(126.9, 37.5, 0.2), service),
            zone("no-parking", 1, square(126.97, 37.56, 0.01), NO_PARKING),
        ],
        global: closed,
        ..ZoneSet::default()
    });
    let at = |lat, lon| Coordinates::new(lat, lon).unwrap();
    assert_eq!(map.governing(&at(37.565, 126.975)).zone.unwrap().zone_id.as_str(), "no-parking");
    assert_eq!(map.governing(&at(37.55, 126.95)).rules, service);
    assert_eq!(map.governing(&at(37.56, 126.975)).zone.unwrap().zone_id.as_str(), "no-parking", "on the edge");
    assert_eq!(map.governing(&at(37.8, 127.5)).zone, None);
    assert!(
        matches!(map.ensure_end_allowed(&at(37.565, 126.975)), Err(RuleViolation::RideEndNotAllowed(zone)) if zone.place.contains("no-parking"))
    );
    assert!(map.ensure_start_allowed(&at(37.565, 126.975)).is_ok());
    assert!(matches!(map.ensure_start_allowed(&at(37.8, 127.5)), Err(RuleViolation::RideStartNotAllowed(_))));
    assert!(!ZoneMap::new(ZoneSet::default()).restricts(), "no zones: nothing to check");
}

#[test]
fn a_citys_rule_makes_the_operators_stricter_never_looser() {
    let street = ZoneRules { ride_end_allowed: false, maximum_speed_kph: Some(10), ..ZoneRules::default() };
    let messages =
        BTreeMap::from([("ko".to_owned(), "주차 금지".to_owned()), ("en".to_owned(), "No parking".to_owned())]);
    let city = CityZone {
        zone: zone("mds:street", i32::MIN, square(126.97, 37.56, 0.01), street),
        rule: "policy P, rule R".to_owned(),
        messages,
    };
    let parking = ZoneRules { maximum_speed_kph: Some(20), ..ZoneRules::default() };
    let closed = ZoneRules { ride_start_allowed: false, ..ZoneRules::default() };
    let operator = vec![
        zone("parking", 1, square(126.97, 37.56, 0.01), parking),
        zone("closed", 2, square(126.975, 37.5, 0.01), closed),
    ];
    let map = ZoneMap::with_city(ZoneSet { zones: operator, ..ZoneSet::default() }, vec![city]);
    let inside = Coordinates::new(37.565, 126.975).unwrap();
    assert_eq!(map.governing(&inside).rules, street, "the city's no and its lower limit win");
    let Err(RuleViolation::RideEndNotAllowed(refusal)) = map.ensure_end_allowed(&inside) else {
        panic!("the city's rule refuses the end")
    };
    assert_eq!(refusal.in_language("ko-KR"), "in policy P, rule R: 주차 금지");
    assert_eq!(refusal.in_language("en-GB"), "in policy P, rule R: No parking");
    assert!(map.ensure_start_allowed(&inside).is_ok(), "what the city allows stays allowed");
    let elsewhere = Coordinates::new(37.505, 126.98).unwrap();
    let Err(RuleViolation::RideStartNotAllowed(refusal)) = map.ensure_start_allowed(&elsewhere) else {
        panic!("the operator may be stricter")
    };
    assert_eq!(refusal.in_language("ko"), "in zone closed (zone closed)");
    assert!(map.restricts());
}

#[test]
fn holes_are_outside_their_polygon() {
    let outline = [[0.0, 0.0], [10.0, 0.0], [10.0, 10.0], [0.0, 10.0], [0.0, 0.0]];
    let hole = [[4.0, 4.0], [6.0, 4.0], [6.0, 6.0], [4.0, 6.0], [4.0, 4.0]];
    let geometry = serde_json::from_value(serde_json::json!({"type": "Polygon", "coordinates": [outline, hole]}));
    let map =
        ZoneMap::new(ZoneSet { zones: vec![zone("ring", 1, geometry.unwrap(), NO_PARKING)], ..ZoneSet::default() });
    assert!(map.governing(&Coordinates::new(5.0, 5.0).unwrap()).zone.is_none());
    assert!(map.governing(&Coordinates::new(2.0, 2.0).unwrap()).zone.is_some());
}

#[test]
fn only_areas_are_zones() {
    let geometry = |coordinates: serde_json::Value| {
        serde_json::from_value::<ZoneGeometry>(serde_json::json!({"type": "Polygon", "coordinates": coordinates}))
    };
    let refused = |coordinates| geometry(coordinates).unwrap().validate().unwrap_err().reason;
    assert!(refused(serde_json::json!([[[0, 0], [1, 0], [0, 0]]])).contains("4 positions"));
    assert!(refused(serde_json::json!([[[0, 0], [1, 0], [1, 1], [0, 1]]])).contains("ends where it starts"));
    assert!(refused(serde_json::json!([[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]])).contains("self-intersection"));
    assert!(geometry(serde_json::json!([[[0, 0], [181, 0], [1, 1], [0, 0]]])).is_err(), "longitude out of range");
    assert!(geometry(serde_json::json!([[[0], [1, 0], [1, 1], [0, 0]]])).is_err(), "a position is two numbers");
    let point = serde_json::json!({"type": "Point", "coordinates": [0, 0]});
    assert!(serde_json::from_value::<ZoneGeometry>(point).is_err());
    let many: Vec<[f64; 2]> = (0..MAX_ZONE_POSITIONS)
        .map(|i| {
            let angle = i as f64 / MAX_ZONE_POSITIONS as f64 * std::f64::consts::TAU;
            [angle.cos(), angle.sin()]
        })
        .chain([[1.0, 0.0]])
        .collect();
    assert!(refused(serde_json::json!([many])).contains("at most"));
}
