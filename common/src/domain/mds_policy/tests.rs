//! The city's rules read, refused and compiled, on Seoul's kickboard-free streets.

use super::*;
use crate::domain::geo::Coordinates;
use crate::domain::vehicle::vehicle_types;
use crate::domain::zones::{ZoneMap, ZoneSet};
use serde_json::{Value, json};

const HONGDAE: &str = "1f0b6c4e-2d3a-4b5c-8d9e-0a1b2c3d4e5f";
const BANPO: &str = "2a1c7d5f-3e4b-4c6d-9e0f-1b2c3d4e5f60";
const POLICY: &str = "3b2d8e60-4f5c-4d7e-8f10-2c3d4e5f6071";
const RULE: &str = "4c3e9f71-5061-4e8f-9021-3d4e5f607182";
const PROVIDER: Uuid = Uuid::from_u128(7);
const SEOUL: Tz = chrono_tz::Asia::Seoul;
/// 2025-05-01 and 2025-05-16 00:00 KST, in MDS milliseconds.
const MAY_1: i64 = 1_746_025_200_000;
const MAY_16: i64 = 1_747_321_200_000;
const JUNE_1: i64 = 1_748_703_600_000;

fn kst(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(&format!("{text}+09:00")).unwrap().with_timezone(&Utc)
}

/// A small square street block, `[lon, lat]` rings as GeoJSON writes them.
fn block(west: f64, south: f64) -> Value {
    let (east, north) = (west + 0.002, south + 0.0015);
    json!([[[west, south], [east, south], [east, north], [west, north], [west, south]]])
}

fn geography(id: &str, name: &str, west: f64, south: f64) -> Value {
    json!({
        "geography_id": id,
        "name": name,
        "geography_type": "policy_zone",
        "published_date": MAY_1,
        "geography_json": {"type": "FeatureCollection", "features": [
            {"type": "Feature", "id": 1, "properties": {"name": name},
             "geometry": {"type": "Polygon", "coordinates": block(west, south)}}
        ]},
    })
}

/// Hongdae's Red Road (around 37.5557, 126.9240) and the Banpo 학원가 (around 37.5045, 126.9980).
fn seoul_geographies() -> Vec<Value> {
    vec![geography(HONGDAE, "홍대 레드로드", 126.923, 37.555), geography(BANPO, "반포 학원가", 126.997, 37.504)]
}

/// Both streets closed to kickboards 12:00–23:00 every day from 2025-05-16.
fn kickboard_free_streets() -> Value {
    json!({
        "policy_id": POLICY,
        "name": "킥보드 없는 거리",
        "description": "Hongdae Red Road and the Banpo 학원가: no kickboards 12:00-23:00",
        "mode_id": "micromobility",
        "start_date": MAY_16,
        "published_date": MAY_1,
        "rules": [{
            "rule_id": RULE,
            "name": "Kickboard-free streets",
            "rule_type": "count",
            "rule_units": "devices",
            "geographies": [HONGDAE, BANPO],
            "states": {"available": [], "on_trip": []},
            "vehicle_types": ["scooter_standing"],
            "maximum": 0,
            "start_time": "12:00:00",
            "end_time": "23:00:00",
            "messages": {
                "ko": "12:00~23:00 킥보드 통행 금지 구역입니다",
                "en-US": "Kickboards are not allowed here from 12:00 to 23:00",
            },
        }],
    })
}

fn geographies() -> Vec<Geography> {
    seoul_geographies().into_iter().map(|document| Geography::parse(document).unwrap()).collect()
}

fn city(policies: Vec<Value>) -> CityRules {
    let policies: Vec<Policy> = policies.into_iter().map(|document| Policy::parse(document).unwrap()).collect();
    CityRules::new(&policies, &geographies(), SEOUL, PROVIDER).unwrap()
}

fn board() -> &'static VehicleType {
    &vehicle_types()[0]
}

fn closed_at(city: &CityRules, at: &str) -> Vec<Uuid> {
    city.zones_at(kst(at), board()).iter().map(|zone| zone.geography_id).collect()
}

/// The policy with its first rule changed by `change`.
fn with_rule(change: impl FnOnce(&mut serde_json::Map<String, Value>)) -> Value {
    let mut policy = kickboard_free_streets();
    change(policy["rules"][0].as_object_mut().unwrap());
    policy
}

#[test]
fn a_real_policy_and_its_geographies_are_read() {
    let [hongdae, banpo] = <[Geography; 2]>::try_from(geographies()).unwrap();
    assert_eq!((hongdae.name.as_str(), hongdae.live.from().timestamp_millis()), ("홍대 레드로드", MAY_1));
    assert_eq!(banpo.geography_type.as_deref(), Some("policy_zone"));
    let policy = Policy::parse(kickboard_free_streets()).unwrap();
    assert_eq!(
        (policy.mode, policy.in_force.from(), policy.in_force.until()),
        (Mode::Micromobility, kst("2025-05-16T00:00:00"), None)
    );
    let rule = &policy.rules[0];
    assert_eq!(rule.geographies.len(), 2);
    assert_eq!(rule.boards.vehicle_types, vec![MdsVehicleKind::ScooterStanding]);
    assert!(matches!(rule.measure, Measure::Count { bounds: Bounds { maximum: Some(0), .. }, fee: None }));
    assert_eq!(check_references(&policy, &[hongdae, banpo]), Ok(()));
    let closed = ZoneRules {
        ride_start_allowed: false,
        ride_end_allowed: false,
        ride_through_allowed: false,
        maximum_speed_kph: None,
    };
    let compiled = compile(&policy, PROVIDER);
    assert_eq!((compiled[0].enforced, compiled[0].not_enforced.as_slice()), (Some(Enforced::Zone(closed)), &[][..]));
}

#[test]
fn refused_documents_name_the_path_at_fault() {
    let policy = |document: Value| Policy::parse(document).unwrap_err();
    let cases = [
        (
            with_rule(|rule| drop(rule.insert("states".into(), json!({"parked": []})))),
            "rules[0].states.parked",
            "not an MDS vehicle state",
        ),
        (
            with_rule(|rule| drop(rule.insert("states".into(), json!({"available": ["dropped"]})))),
            "rules[0].states.available[0]",
            "unknown variant",
        ),
        (
            with_rule(|rule| drop(rule.insert("states".into(), json!({"available": ["trip_end", "trip_end"]})))),
            "rules[0].states.available[1]",
            "repeats",
        ),
        (
            with_rule(|rule| drop(rule.insert("start_time".into(), json!("25:00:00")))),
            "rules[0].start_time",
            "hh:mm:ss",
        ),
        (
            with_rule(|rule| drop(rule.insert("end_time".into(), json!("12:00:00")))),
            "rules[0].end_time",
            "equals start_time",
        ),
        (with_rule(|rule| drop(rule.insert("speed".into(), json!(10)))), "rules[0].speed", "unknown field `speed`"),
        (with_rule(|rule| drop(rule.insert("rule_units".into(), json!("kph")))), "rules[0].rule_units", "devices"),
        (
            with_rule(|rule| drop(rule.insert("days".into(), json!(["mon", "funday"])))),
            "rules[0].days[1]",
            "unknown variant",
        ),
        (
            with_rule(|rule| drop(rule.insert("messages".into(), json!({"korean language": "?"})))),
            "rules[0].messages.korean language",
            "language tag",
        ),
        (
            with_rule(|rule| drop(rule.insert("rule_id".into(), json!(RULE.to_uppercase())))),
            "rules[0].rule_id",
            "lowercase",
        ),
        (with_rule(|rule| drop(rule.insert("rule_type".into(), json!("user")))), "rules[0].rule_units", "null"),
    ];
    for (document, path, reason) in cases {
        let error = policy(document);
        assert_eq!(error.path, path, "{error}");
        assert!(error.reason.contains(reason), "{error}");
    }
    let mut ended_early = kickboard_free_streets();
    ended_early["end_date"] = json!(MAY_1);
    assert_eq!(policy(ended_early).path, "end_date");
    let mut no_mode = kickboard_free_streets();
    no_mode.as_object_mut().unwrap().remove("mode_id");
    assert!(policy(no_mode).reason.contains("missing field `mode_id`"));
    let mut unknown_geography = kickboard_free_streets();
    unknown_geography["rules"][0]["geographies"][1] = json!("5d4f0a82-6172-4f90-a132-4e5f60718293");
    let error = check_references(&Policy::parse(unknown_geography).unwrap(), &geographies()).unwrap_err();
    assert_eq!(error.path, "rules[0].geographies[1]");

    let geography = |change: &dyn Fn(&mut Value)| {
        let mut document = seoul_geographies().remove(0);
        change(&mut document);
        Geography::parse(document).unwrap_err()
    };
    let open_ring = geography(&|document| {
        document["geography_json"]["features"][0]["geometry"]["coordinates"][0][4] = json!([126.9, 37.5]);
    });
    assert_eq!(open_ring.path, "geography_json.features[0].geometry.coordinates[0]", "{open_ring}");
    let point = geography(&|document| {
        document["geography_json"]["features"][0]["geometry"] = json!({"type": "Point", "coordinates": [126.9, 37.5]});
    });
    assert_eq!(point.path, "geography_json.features[0].geometry.type", "{point}");
    let unknown = geography(&|document| document["area"] = json!(1));
    assert_eq!(unknown.path, "area", "{unknown}");
    let retired_first = geography(&|document| document["retire_date"] = json!(MAY_1));
    assert_eq!(retired_first.path, "retire_date");
}

#[test]
fn the_streets_close_from_noon_through_23_00_in_seoul() {
    let city = city(vec![kickboard_free_streets()]);
    let both = vec![Uuid::parse_str(HONGDAE).unwrap(), Uuid::parse_str(BANPO).unwrap()];
    assert_eq!(closed_at(&city, "2025-05-20T13:00:00"), both);
    assert!(closed_at(&city, "2025-05-20T23:30:00").is_empty());
    assert!(closed_at(&city, "2025-05-20T11:59:59").is_empty());
    assert_eq!(closed_at(&city, "2025-05-20T12:00:00"), both);
    assert_eq!(closed_at(&city, "2025-05-20T23:00:00"), both, "the end time's second is in the window");
    assert!(closed_at(&city, "2025-05-20T23:00:01").is_empty());
    assert!(closed_at(&city, "2025-05-15T13:00:00").is_empty(), "before the policy starts");

    // A return inside the Red Road, through the zones rides obey.
    let red_road = Coordinates::new(37.5557, 126.9240).unwrap();
    let map_at = |at| {
        let zones = city.zones_at(kst(at), board()).iter().map(|zone| zone.to_zone(-1, kst(at))).collect();
        ZoneMap::new(ZoneSet { version: 1, zones, ..ZoneSet::default() })
    };
    assert!(map_at("2025-05-20T13:00:00").ensure_end_allowed(&red_road).is_err());
    assert!(map_at("2025-05-20T23:30:00").ensure_end_allowed(&red_road).is_ok());

    let zone = city.zones_at(kst("2025-05-20T13:00:00"), board())[0];
    assert!(zone.message("ko").unwrap().contains("킥보드"));
    assert!(zone.message("en").unwrap().starts_with("Kickboards"), "en finds en-US");
    assert!(zone.message("fr").unwrap().starts_with("Kickboards"), "else English");
}

#[test]
fn a_window_across_midnight_runs_into_the_next_day() {
    // Fridays 22:00 to Saturday 06:00; 2025-05-23 is a Friday.
    let city = city(vec![with_rule(|rule| {
        rule.insert("days".into(), json!(["fri"]));
        rule.insert("start_time".into(), json!("22:00:00"));
        rule.insert("end_time".into(), json!("06:00:00"));
    })]);
    assert!(closed_at(&city, "2025-05-22T23:00:00").is_empty(), "Thursday");
    assert!(closed_at(&city, "2025-05-23T21:59:59").is_empty());
    assert_eq!(closed_at(&city, "2025-05-23T22:00:00").len(), 2);
    assert_eq!(closed_at(&city, "2025-05-24T03:00:00").len(), 2, "Saturday morning");
    assert_eq!(closed_at(&city, "2025-05-24T06:00:00").len(), 2);
    assert!(closed_at(&city, "2025-05-24T06:00:01").is_empty());
    assert!(closed_at(&city, "2025-05-24T23:00:00").is_empty(), "Saturday night is not listed");
}

#[test]
fn contradicting_rules_are_refused_only_where_their_windows_meet() {
    let second_rule = |start: &str| {
        let mut policy = kickboard_free_streets();
        let mut cap = policy["rules"][0].clone();
        cap["rule_id"] = json!("6e5a1b93-7283-4a01-b243-5f6071829304");
        cap["maximum"] = json!(10);
        cap["start_time"] = json!(start);
        cap["end_time"] = json!("11:00:00");
        policy["rules"].as_array_mut().unwrap().push(cap);
        policy
    };
    let error = Policy::parse(second_rule("22:00:00")).unwrap_err();
    assert_eq!(error.path, "rules[1]", "22:00 to 11:00 meets 12:00 to 23:00 at 22:00: {error}");
    assert!(error.reason.contains("rules[0]"));
    assert!(Policy::parse(second_rule("23:00:01")).is_ok(), "23:00:01 to 11:00 does not meet it");
}

#[test]
fn a_superseded_or_ended_policy_stops_applying() {
    let mut newer = kickboard_free_streets();
    newer["policy_id"] = json!("7f6b2ca4-8394-4b12-8354-607182930415");
    newer["prev_policies"] = json!([POLICY]);
    newer["start_date"] = json!(JUNE_1);
    newer["rules"][0]["rule_id"] = json!("80a7c3b5-94a5-4c23-9465-718293041526");
    newer["rules"][0]["geographies"] = json!([BANPO]);
    let city = city(vec![kickboard_free_streets(), newer]);
    assert_eq!(closed_at(&city, "2025-05-31T13:00:00").len(), 2);
    assert_eq!(closed_at(&city, "2025-06-01T13:00:00"), vec![Uuid::parse_str(BANPO).unwrap()]);

    let mut ending = kickboard_free_streets();
    ending["end_date"] = json!(JUNE_1);
    let city = self::city(vec![ending]);
    assert_eq!(closed_at(&city, "2025-05-31T22:59:59").len(), 2);
    assert!(closed_at(&city, "2025-06-01T13:00:00").is_empty());
}

#[test]
fn speeds_in_mph_become_kph_rounded_down() {
    let speed = |units: &str, maximum: i64| {
        let policy = Policy::parse(with_rule(|rule| {
            rule.insert("rule_type".into(), json!("speed"));
            rule.insert("rule_units".into(), json!(units));
            rule.insert("maximum".into(), json!(maximum));
            rule.insert("states".into(), json!({"on_trip": []}));
        }))
        .unwrap();
        compile(&policy, PROVIDER)[0].enforced
    };
    let limit = |kph| Some(Enforced::Zone(ZoneRules { maximum_speed_kph: Some(kph), ..ZoneRules::default() }));
    assert_eq!(speed("mph", 15), limit(24), "15 mph is 24.14 km/h");
    assert_eq!(speed("kph", 20), limit(20));
}

#[test]
fn what_cannot_be_compiled_is_listed_with_its_reason() {
    let compiled = |policy: Value| compile(&Policy::parse(policy).unwrap(), PROVIDER).remove(0);
    let user = compiled(with_rule(|rule| {
        rule.insert("rule_type".into(), json!("user"));
        rule.remove("rule_units");
    }));
    assert_eq!((user.enforced, user.not_enforced), (None, vec![NotEnforced::UserRule]));
    let time = compiled(with_rule(|rule| {
        rule.insert("rule_type".into(), json!("time"));
        rule.insert("rule_units".into(), json!("minutes"));
        rule.insert("maximum".into(), json!(120));
    }));
    assert_eq!(time.not_enforced, vec![NotEnforced::TimeRule]);
    let fee = compiled(with_rule(|rule| {
        rule.insert("rate_amount".into(), json!(5000));
        rule.insert("rate_recurrence".into(), json!("once_on_match"));
    }));
    assert_eq!((fee.enforced, fee.not_enforced), (None, vec![NotEnforced::Fee]));
    assert!(NotEnforced::Fee.to_string().contains("not charged"));
    let mut elsewhere = kickboard_free_streets();
    elsewhere["provider_ids"] = json!(["91b8d4c6-a5b6-4d34-a576-829304152637"]);
    assert_eq!(compiled(elsewhere).not_enforced, vec![NotEnforced::OtherProviders]);
    let crew_only =
        compiled(with_rule(|rule| drop(rule.insert("states".into(), json!({"available": ["provider_drop_off"]})))));
    assert_eq!(crew_only.not_enforced, vec![NotEnforced::NotAboutRides]);
}

#[test]
fn a_count_above_zero_over_available_boards_is_a_cap() {
    let city = city(vec![with_rule(|rule| {
        rule.insert("maximum".into(), json!(500));
        rule.insert("minimum".into(), json!(20));
        rule.insert("states".into(), json!({"available": []}));
    })]);
    assert!(city.zones_at(kst("2025-05-20T13:00:00"), board()).is_empty());
    let caps = city.caps_at(kst("2025-05-20T13:00:00"));
    assert_eq!(caps.iter().map(|cap| cap.limit).collect::<Vec<_>>(), vec![500, 500]);
    assert!(caps[0].boards.admits(board()));
    assert!(city.caps_at(kst("2025-05-20T23:30:00")).is_empty());
    let policy = Policy::parse(with_rule(|rule| drop(rule.insert("minimum".into(), json!(20))))).unwrap();
    assert_eq!(compile(&policy, PROVIDER)[0].not_enforced, vec![NotEnforced::CountMinimum], "the minimum is said");
}

#[test]
fn the_next_change_is_the_next_window_edge_that_changes_something() {
    let city = city(vec![kickboard_free_streets()]);
    assert_eq!(city.next_change_after(kst("2025-05-20T13:00:00")), Some(kst("2025-05-20T23:00:01")));
    assert_eq!(city.next_change_after(kst("2025-05-20T23:30:00")), Some(kst("2025-05-21T12:00:00")));
    assert_eq!(
        city.next_change_after(kst("2025-05-10T09:00:00")),
        Some(kst("2025-05-16T12:00:00")),
        "the policy's start at midnight changes nothing: the window opens at noon"
    );
    let mut ending = kickboard_free_streets();
    ending["end_date"] = json!(JUNE_1);
    assert_eq!(self::city(vec![ending]).next_change_after(kst("2025-06-01T00:00:00")), None);
    let all_day = self::city(vec![with_rule(|rule| {
        rule.remove("start_time");
        rule.remove("end_time");
    })]);
    assert_eq!(all_day.next_change_after(kst("2025-05-20T13:00:00")), None, "midnight joins one day to the next");
}
