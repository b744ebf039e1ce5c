//! Bad input is answered with the right problem and writes nothing.

use chrono::Duration;
use hyper::{Method, StatusCode};
use kickboard_common::ports::Clock;
use kickboard_tests::{Backend, TestServer};
use serde_json::json;

/// One hostile request and the answer it must get.
struct Case<'a> {
    method: Method,
    path: String,
    token: Option<&'a str>,
    content_type: Option<&'a str>,
    body: Vec<u8>,
    status: StatusCode,
    problem: &'static str,
    field: Option<&'static str>,
}

fn case<'a>(method: Method, path: impl Into<String>, token: Option<&'a str>) -> Case<'a> {
    Case {
        method,
        path: path.into(),
        token,
        content_type: None,
        body: Vec::new(),
        status: StatusCode::BAD_REQUEST,
        problem: "invalid-request",
        field: None,
    }
}

impl<'a> Case<'a> {
    fn json(self, body: impl Into<Vec<u8>>) -> Self {
        Case { content_type: Some("application/json"), body: body.into(), ..self }
    }

    fn typed(self, content_type: &'a str) -> Self {
        Case { content_type: Some(content_type), ..self }
    }

    fn answers(self, status: StatusCode, problem: &'static str) -> Self {
        Case { status, problem, ..self }
    }

    fn names(self, field: &'static str) -> Self {
        Case { field: Some(field), ..self }
    }
}

pub async fn bad_requests_get_problems_and_write_nothing(backend: Backend) {
    let kb = TestServer::start_on(backend).await;
    let alice = kb.customer_token("alice");
    let admin = kb.admin_token();
    kb.register_board("kb-1").await;
    let pass = kb.paid_pass(&alice, "basic-60").await;
    let before = kb.row_counts().await;

    let vehicle = kb.vehicle_token("kb-1");
    let (customer, admin, vehicle) = (Some(alice.as_str()), Some(admin.as_str()), Some(vehicle.as_str()));
    let telemetry = "/kickboards/kb-1/telemetry";
    let in_ten_minutes = (kb.clock.now() + Duration::minutes(10)).to_rfc3339();
    let zone = "/geofencing/zones/zone-1";
    let ok_rules = json!({"rideStartAllowed": true, "rideEndAllowed": false, "rideThroughAllowed": true});
    let polygon = |ring: serde_json::Value| json!({"type": "Polygon", "coordinates": [ring]});
    let square = polygon(json!([[127.0, 37.5], [127.1, 37.5], [127.1, 37.6], [127.0, 37.6], [127.0, 37.5]]));
    let zone_body = |geometry: serde_json::Value, rules: serde_json::Value| {
        json!({"name": "Zone", "priority": 1, "geometry": geometry, "rules": rules}).to_string()
    };
    // 10,001 positions on a circle: an area, but too detailed.
    let huge_ring: Vec<[f64; 2]> = (0..10_001)
        .map(|i| {
            let angle = f64::from(i) / 10_000.0 * std::f64::consts::TAU;
            [127.0 + 0.01 * angle.cos(), 37.5 + 0.01 * angle.sin()]
        })
        .collect();
    let long_id = "p".repeat(65);
    let cases = [
        case(Method::POST, "/passes", customer).json("{not json"),
        case(Method::POST, "/passes", customer).json(r#"{"planId":"basic-60","extra":1}"#),
        case(Method::POST, "/passes", customer).json(r#"{"planId":60}"#).names("planId"),
        case(Method::POST, "/passes", customer).json(""),
        case(Method::POST, "/passes", customer)
            .json(format!(r#"{{"planId":"{}"}}"#, "x".repeat(17 * 1024)))
            .answers(StatusCode::PAYLOAD_TOO_LARGE, "payload-too-large"),
        case(Method::POST, "/passes", customer)
            .json(r#"{"planId":"basic-60"}"#)
            .typed("text/plain")
            .answers(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported-media-type"),
        case(Method::POST, "/passes", None)
            .json(r#"{"planId":"basic-60"}"#)
            .answers(StatusCode::UNAUTHORIZED, "unauthorized"),
        case(Method::POST, "/passes", Some("forged.token.here"))
            .json(r#"{"planId":"basic-60"}"#)
            .answers(StatusCode::UNAUTHORIZED, "unauthorized"),
        case(Method::POST, "/rentals", customer).json(r#"{"passId":"a/b","kickboardId":"kb-1"}"#).names("passId"),
        case(Method::POST, "/rentals", customer)
            .json(format!(r#"{{"passId":"{long_id}","kickboardId":"kb-1"}}"#))
            .names("passId"),
        case(Method::POST, format!("/rentals/{long_id}/return"), customer).names("rentalId"),
        case(Method::POST, "/kickboards", admin).json(r#"{"model":"X","lat":91,"lon":0}"#).names("lat"),
        case(Method::POST, "/kickboards", admin).json(r#"{"model":"","lat":1,"lon":0}"#).names("model"),
        case(Method::PUT, "/me/contact", customer).json(r#"{"phone":"010-1234-5678"}"#).names("phone"),
        case(Method::GET, "/kickboards?near=north", customer).names("near"),
        case(Method::GET, "/kickboards?near=37.5,127&radiusM=1501", customer).names("radiusM"),
        case(Method::GET, "/nowhere", customer).answers(StatusCode::NOT_FOUND, "not-found"),
        case(Method::PATCH, "/passes", customer).answers(StatusCode::METHOD_NOT_ALLOWED, "method-not-allowed"),
        case(Method::GET, "/me/contact", customer).answers(StatusCode::NOT_FOUND, "contact-not-found"),
        case(Method::POST, format!("/passes/{pass}/payment"), customer)
            .answers(StatusCode::CONFLICT, "pass-already-paid"),
        // Every other route, each with something wrong.
        case(Method::POST, format!("/passes/{long_id}/payment"), customer).names("passId"),
        case(Method::POST, "/passes/p%2Fx/payment", customer).names("passId"),
        case(Method::GET, format!("/passes/{long_id}"), customer).names("passId"),
        case(Method::GET, "/passes/no-such-pass", customer).answers(StatusCode::NOT_FOUND, "pass-not-found"),
        case(Method::GET, format!("/passes/{long_id}/balance"), customer).names("passId"),
        case(Method::GET, "/passes/no-such-pass/balance", customer).answers(StatusCode::NOT_FOUND, "balance-not-found"),
        case(Method::GET, "/me/passes", None).answers(StatusCode::UNAUTHORIZED, "unauthorized"),
        case(Method::GET, "/kickboards?near=91,0", customer).names("near"),
        case(Method::GET, "/kickboards?radiusM=100", customer).names("radiusM"),
        case(Method::POST, "/kickboards", admin).json(r#"{"model":"X","lat":1e400,"lon":0}"#).names("lat"),
        case(Method::POST, "/kickboards", admin).json(r#"{"model":"X","lat":"north","lon":0}"#).names("lat"),
        case(Method::POST, "/kickboards", admin).json(r#"{"model":"X","lat":1}"#),
        case(Method::POST, "/kickboards", admin)
            .json(format!(r#"{{"kickboardId":"{long_id}","model":"X","lat":1,"lon":1}}"#))
            .names("kickboardId"),
        case(Method::POST, "/kickboards", customer)
            .json(r#"{"model":"X","lat":1,"lon":1}"#)
            .answers(StatusCode::FORBIDDEN, "forbidden"),
        case(Method::DELETE, format!("/kickboards/{long_id}"), admin).names("kickboardId"),
        case(Method::DELETE, "/kickboards/kb-1", customer).answers(StatusCode::FORBIDDEN, "forbidden"),
        case(Method::DELETE, "/kickboards/no-such-board", admin).answers(StatusCode::NOT_FOUND, "kickboard-not-found"),
        case(Method::POST, "/rentals", customer).json(r#"{"passId":5,"kickboardId":"kb-1"}"#).names("passId"),
        case(Method::POST, "/rentals", customer).json(r#"{"kickboardId":"kb-1"}"#),
        case(Method::POST, "/rentals", customer).json(r#"["passId","kickboardId"]"#),
        case(Method::POST, "/rentals/p-1.0a1b2c3d/return", customer).json(r#"{"lat":37.5}"#).names("lon"),
        case(Method::POST, "/rentals/p-1.0a1b2c3d/return", customer).json(r#"{"lat":137.5,"lon":1}"#).names("lat"),
        case(Method::POST, "/rentals/p-1.0a1b2c3d/return", customer)
            .json(r#"{"lat":37.5,"lon":127}"#)
            .typed("application/xml")
            .answers(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported-media-type"),
        case(Method::POST, "/rentals/no-such-rental/return", customer)
            .answers(StatusCode::NOT_FOUND, "rental-not-found"),
        case(Method::GET, format!("/rentals/{long_id}"), customer).names("rentalId"),
        case(Method::GET, "/rentals/p-1.0a1b2c3d", customer).answers(StatusCode::NOT_FOUND, "rental-not-found"),
        case(Method::PUT, "/me/contact", customer).json(r#"{"phone":821012345678}"#).names("phone"),
        case(Method::PUT, "/me/contact", customer)
            .json(r#"{"phone":"+821012345678","pushEndpointArn":"https://push.example"}"#)
            .names("pushEndpointArn"),
        case(Method::PUT, "/me/contact", customer).json(r#"{"phone":"+821012345678","email":"a@b.c"}"#),
        case(Method::PUT, "/me/contact", customer).json(r#"{"phone":"+821012345678","locale":"ja"}"#).names("locale"),
        case(Method::PUT, "/me/contact", customer)
            .json(r#"{"phone":"+821012345678","channels":["sms","fax"]}"#)
            .names("channels[1]"),
        case(Method::PUT, "/me/contact", customer).json(r#"{"phone":"+821012345678","channels":[]}"#).names("channels"),
        case(Method::PUT, "/me/contact", customer)
            .json(r#"{"phone":"+821012345678","channels":["push"]}"#)
            .names("channels"),
        case(Method::GET, "/plans?x=1", None).answers(StatusCode::OK, ""),
        // Vehicles, their reports and their service status.
        case(Method::POST, "/kickboards", admin)
            .json(r#"{"model":"X","lat":1,"lon":1,"vehicleTypeId":"hoverboard"}"#)
            .names("vehicleTypeId"),
        case(Method::PUT, telemetry, vehicle).json(r#"{"lat":37.5,"lon":127,"batteryPct":101}"#).names("batteryPct"),
        case(Method::PUT, telemetry, vehicle).json(r#"{"lat":37.5,"lon":127,"batteryPct":-1}"#).names("batteryPct"),
        case(Method::PUT, telemetry, vehicle).json(r#"{"lat":37.5,"lon":127,"batteryPct":50.5}"#).names("batteryPct"),
        case(Method::PUT, telemetry, vehicle).json(r#"{"lat":37.5,"lon":127,"batteryPct":"50"}"#).names("batteryPct"),
        case(Method::PUT, telemetry, vehicle).json(r#"{"lat":91,"lon":127,"batteryPct":50}"#).names("lat"),
        case(Method::PUT, telemetry, vehicle).json(r#"{"lat":37.5,"lon":-181,"batteryPct":50}"#).names("lon"),
        case(Method::PUT, telemetry, vehicle).json(r#"{"lat":37.5,"batteryPct":50}"#),
        case(Method::PUT, telemetry, vehicle)
            .json(format!(r#"{{"lat":37.5,"lon":127,"batteryPct":50,"reportedAt":"{in_ten_minutes}"}}"#))
            .names("reportedAt"),
        case(Method::PUT, telemetry, vehicle)
            .json(r#"{"lat":37.5,"lon":127,"batteryPct":50,"reportedAt":"yesterday"}"#)
            .names("reportedAt"),
        case(Method::PUT, telemetry, vehicle).json(r#"{"lat":37.5,"lon":127,"batteryPct":50,"speed":12}"#),
        case(Method::PUT, telemetry, customer)
            .json(r#"{"lat":37.5,"lon":127,"batteryPct":50}"#)
            .answers(StatusCode::FORBIDDEN, "forbidden"),
        case(Method::PUT, telemetry, None)
            .json(r#"{"lat":37.5,"lon":127,"batteryPct":50}"#)
            .answers(StatusCode::UNAUTHORIZED, "unauthorized"),
        case(Method::PUT, "/kickboards/no-such-board/telemetry", admin)
            .json(r#"{"lat":37.5,"lon":127,"batteryPct":50}"#)
            .answers(StatusCode::NOT_FOUND, "kickboard-not-found"),
        case(Method::PUT, "/kickboards/kb-2/telemetry", vehicle)
            .json(r#"{"lat":37.5,"lon":127,"batteryPct":50}"#)
            .answers(StatusCode::FORBIDDEN, "forbidden"),
        case(Method::PUT, "/kickboards/kb-1/status", admin).json(r#"{"status":"BROKEN"}"#).names("status"),
        case(Method::PUT, "/kickboards/kb-1/status", admin).json(r#"{"status":"RETIRED"}"#).names("status"),
        case(Method::PUT, "/kickboards/kb-1/status", customer)
            .json(r#"{"status":"MAINTENANCE"}"#)
            .answers(StatusCode::FORBIDDEN, "forbidden"),
        case(Method::PUT, "/kickboards/no-such-board/status", admin)
            .json(r#"{"status":"MAINTENANCE"}"#)
            .answers(StatusCode::NOT_FOUND, "kickboard-not-found"),
        case(Method::POST, "/rentals/p-1.0a1b2c3d/return", customer).json(r#"{"batteryPct":120}"#).names("batteryPct"),
        case(Method::GET, "/gbfs/v3/free_bike_status.json", None).answers(StatusCode::NOT_FOUND, "not-found"),
        // Zones.
        case(Method::PUT, zone, admin).json(zone_body(json!("not geojson"), ok_rules.clone())).names("geometry"),
        case(Method::PUT, zone, admin)
            .json(zone_body(json!({"type": "Point", "coordinates": [127.0, 37.5]}), ok_rules.clone()))
            .names("geometry.type"),
        case(Method::PUT, zone, admin)
            .json(zone_body(polygon(json!([[127.0, 37.5], [127.1, 37.5], [127.0, 37.5]])), ok_rules.clone()))
            .names("geometry.coordinates[0]"),
        case(Method::PUT, zone, admin)
            .json(zone_body(polygon(json!([[127.0, 37.5], [127.1, 37.5], [127.1, 37.6], [127.0, 37.6]])), ok_rules.clone()))
            .names("geometry.coordinates[0]"),
        case(Method::PUT, zone, admin)
            .json(zone_body(polygon(json!([[187.0, 37.5], [127.1, 37.5], [127.1, 37.6], [187.0, 37.5]])), ok_rules.clone()))
            .names("geometry.coordinates[0][0]"),
        case(Method::PUT, zone, admin)
            .json(zone_body(polygon(json!([[127.0, 97.5], [127.1, 37.5], [127.1, 37.6], [127.0, 97.5]])), ok_rules.clone()))
            .names("geometry.coordinates[0][0]"),
        case(Method::PUT, zone, admin)
            .json(zone_body(
                polygon(json!([[127.0, 37.5], [127.1, 37.6], [127.1, 37.5], [127.0, 37.6], [127.0, 37.5]])),
                ok_rules.clone(),
            ))
            .names("geometry.coordinates"),
        case(Method::PUT, zone, admin).json(zone_body(polygon(json!(huge_ring)), ok_rules.clone())).names("geometry.coordinates"),
        case(Method::PUT, zone, admin)
            .json(zone_body(square.clone(), json!({"rideStartAllowed": true, "rideThroughAllowed": true})))
            .names("rules"),
        case(Method::PUT, zone, admin)
            .json(zone_body(
                square.clone(),
                json!({"rideStartAllowed": "yes", "rideEndAllowed": true, "rideThroughAllowed": true}),
            ))
            .names("rules.rideStartAllowed"),
        case(Method::PUT, zone, admin)
            .json(zone_body(
                square.clone(),
                json!({"rideStartAllowed": true, "rideEndAllowed": true, "rideThroughAllowed": true, "maximumSpeedKph": -5}),
            ))
            .names("rules.maximumSpeedKph"),
        case(Method::PUT, "/geofencing/zones/a%2Fb", admin).json(zone_body(square.clone(), ok_rules.clone())).names("zoneId"),
        case(Method::PUT, zone, admin)
            .json(format!(r#"{{"name":"{}"}}"#, "x".repeat(600 * 1024)))
            .answers(StatusCode::PAYLOAD_TOO_LARGE, "payload-too-large"),
        case(Method::PUT, zone, customer)
            .json(zone_body(square.clone(), ok_rules.clone()))
            .answers(StatusCode::FORBIDDEN, "forbidden"),
        case(Method::DELETE, zone, admin).answers(StatusCode::NOT_FOUND, "zone-not-found"),
        case(Method::PUT, "/geofencing/global-rules", admin).json(r#"{"rideStartAllowed":true}"#),
        case(Method::PUT, "/geofencing/global-rules", customer)
            .json(ok_rules.to_string())
            .answers(StatusCode::FORBIDDEN, "forbidden"),
    ];
    for case in cases {
        let name = format!("{} {}", case.method, case.path);
        let reply = kb.send_raw(case.method, &case.path, case.token, case.content_type, case.body).await;
        assert_eq!((reply.status, reply.problem()), (case.status, case.problem), "{name}: {reply:?}");
        if !case.status.is_success() {
            assert_eq!(reply.content_type.as_deref(), Some("application/problem+json"), "{name}");
            let detail = reply.body["detail"].as_str().unwrap_or("");
            for internal in ["SQL", "sqlite", "dynamodb", "panicked", "rusqlite", "service error"] {
                assert!(!detail.contains(internal), "{name} leaks {internal}: {detail}");
            }
        }
        if let Some(field) = case.field {
            assert_eq!(reply.body["field"], field, "{name}: {reply:?}");
        }
        assert_eq!(kb.row_counts().await, before, "{name} wrote something");
    }
    kb.stop().await;
}
