//! The MDS 2.0 Provider API as a city's agency pulls it: every document served is validated
//! against the Open Mobility Foundation's OpenAPI (`tests/standards/mds-2.0`, by
//! `tests/mds_check.py`), plus what the schemas cannot say: each ride is one trip in the hour it
//! ended, its `trip_start` before its `trip_end`, ids unique, each counted once in the report of
//! the month (the city's) it began in; and a redelivered event changes nothing.

use chrono::{Duration, Timelike};
use hyper::{Method, StatusCode};
use kickboard_common::domain::events::Subscriber;
use kickboard_common::ports::Clock;
use kickboard_local::relay::{deliver, to_eventbridge};
use kickboard_tests::{Backend, Reply, TestServer, assert_check_passes_on};
use serde_json::{Value, json};

const MDS_TYPE: &str = "application/vnd.mds+json;version=2.0";

fn agency_token(kb: &TestServer) -> String {
    kb.server.app.tokens.mint("agency-seoul", &["agency".to_owned()])
}

/// `GET path` as an agency asks, with the MDS `Accept`.
async fn pull(kb: &TestServer, path: &str) -> Reply {
    let token = agency_token(kb);
    kb.send_with_headers(Method::GET, path, Some(&token), None, Vec::new(), &[("accept", MDS_TYPE)]).await
}

const MDS_CSV_TYPE: &str = "text/vnd.mds+csv;version=2.0";

/// `GET path` of a report, as an agency asks for one.
async fn pull_report(kb: &TestServer, path: &str) -> Reply {
    let token = agency_token(kb);
    kb.send_with_headers(Method::GET, path, Some(&token), None, Vec::new(), &[("accept", MDS_CSV_TYPE)]).await
}

/// Runs `tests/mds_check.py` on the documents served, each with the operation it answers.
fn assert_valid_mds(documents: &[(&str, &Reply)]) {
    let batch: Vec<Value> = documents
        .iter()
        .map(|(operation, reply)| json!({"operation": operation, "status": reply.status.as_u16(), "body": reply.body}))
        .collect();
    assert_check_passes_on("mds_check.py", &["--batch"], &batch, "not valid MDS 2.0");
}

/// `YYYY-MM-DDTHH` of the hour `at` falls in.
fn hour_of(at: chrono::DateTime<chrono::Utc>) -> String {
    at.format("%Y-%m-%dT%H").to_string()
}

pub async fn rides_appear_once_as_trips_and_events_in_their_hours(backend: Backend) {
    let kb = TestServer::start_on(backend).await;
    let start = kb.clock.now();
    assert_eq!(start.minute(), 0, "the scenario's rides fit in the clock's first hour");
    for board in ["kb-1", "kb-2"] {
        kb.register_board(board).await;
    }
    let rider = kb.customer_token("rider-1");
    let pass = kb.paid_pass(&rider, "plus-120").await;
    for board in ["kb-1", "kb-2"] {
        // Apart from what came before, so the hour's events have one order.
        kb.clock.advance(Duration::seconds(30));
        let rented = kb.rent(&rider, &pass, board).await;
        assert_eq!(rented.status, StatusCode::CREATED, "{rented:?}");
        if board == "kb-2" {
            // kb-2 is ridden the long way round, as its reports say: a leg east, one north,
            // then back west to where it is returned.
            for (lat, lon) in [(37.5665, 126.9900), (37.5702, 126.9900)] {
                kb.clock.advance(Duration::minutes(2));
                let at = kb.clock.now().to_rfc3339();
                let sent = kb.report(board, json!({"lat": lat, "lon": lon, "batteryPct": 70, "reportedAt": at})).await;
                assert_eq!(sent.status, StatusCode::OK, "{sent:?}");
            }
            kb.clock.advance(Duration::minutes(3));
        } else {
            kb.clock.advance(Duration::minutes(7));
        }
        let body = json!({"lat": 37.5702, "lon": 126.9830});
        let path = format!("/rentals/{}/return", rented.text("rentalId"));
        let returned = kb.call(Method::POST, &path, Some(&rider), Some(body)).await;
        assert_eq!(returned.status, StatusCode::OK, "{returned:?}");
    }
    // The crew takes kb-1 in for maintenance.
    kb.clock.advance(Duration::minutes(1));
    let admin = kb.admin_token();
    let serviced =
        kb.call(Method::PUT, "/kickboards/kb-1/status", Some(&admin), Some(json!({"status": "MAINTENANCE"}))).await;
    assert_eq!(serviced.status, StatusCode::OK, "{serviced:?}");
    kb.settle().await;
    let hour = hour_of(start);

    // The hour is not over yet: nothing is served as if it were complete.
    let early = pull(&kb, &format!("/mds/trips?end_time={hour}")).await;
    assert_eq!((early.status, early.problem()), (StatusCode::NOT_FOUND, "hour-not-over"), "{early:?}");
    kb.clock.advance(start + Duration::hours(1) - kb.clock.now() + Duration::minutes(1));
    let arriving = pull(&kb, &format!("/mds/trips?end_time={hour}")).await;
    assert_eq!((arriving.status, arriving.problem()), (StatusCode::ACCEPTED, "hour-not-ready"), "{arriving:?}");
    assert!(arriving.retry_after.is_some(), "{arriving:?}");
    kb.clock.advance(Duration::minutes(10));

    let trips = pull(&kb, &format!("/mds/trips?end_time={hour}")).await;
    assert_eq!(trips.status, StatusCode::OK, "{trips:?}");
    assert_eq!(trips.content_type.as_deref(), Some(MDS_TYPE));
    let trips_list = trips.body["trips"].as_array().unwrap();
    assert_eq!(trips_list.len(), 2, "one trip per ride: {trips:?}");
    for trip in trips_list {
        assert_eq!(trip["duration"], 420, "{trip}");
        assert_eq!(trip["parking_verification_url"], Value::Null);
    }
    // kb-1 reported nothing on its ride: the straight line, about 600 m. kb-2 went east
    // 1,059 m, north 411 m and west 616 m by its reports: the sum of its legs.
    let distances: Vec<i64> = trips_list.iter().map(|trip| trip["distance"].as_i64().unwrap()).collect();
    assert!((550..650).contains(&distances[0]), "{distances:?}");
    assert!((2_050..2_120).contains(&distances[1]), "{distances:?}");
    let events = pull(&kb, &format!("/mds/events/historical?event_time={hour}")).await;
    assert_eq!(events.status, StatusCode::OK, "{events:?}");
    let kinds: Vec<(&str, &str)> = events.body["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|event| (event["vehicle_state"].as_str().unwrap(), event["event_types"][0].as_str().unwrap()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("available", "provider_drop_off"),
            ("available", "provider_drop_off"),
            ("on_trip", "trip_start"),
            ("available", "trip_end"),
            ("on_trip", "trip_start"),
            ("available", "trip_end"),
            ("non_operational", "maintenance"),
        ],
        "{events:?}"
    );
    // An agency that takes gzip gets it (the hour's events are over a kilobyte), the same
    // document once decoded; one that does not, the document as it is.
    let token = agency_token(&kb);
    let headers = [("accept", MDS_TYPE), ("accept-encoding", "gzip")];
    let path = format!("/mds/events/historical?event_time={hour}");
    let gzipped = kb.send_with_headers(Method::GET, &path, Some(&token), None, Vec::new(), &headers).await;
    assert_eq!((gzipped.content_encoding.as_deref(), &gzipped.body), (Some("gzip"), &events.body), "{gzipped:?}");
    assert_eq!((events.content_encoding.as_deref(), events.vary.as_deref()), (None, Some("Accept-Encoding")));
    let from = start.timestamp_millis();
    let recent =
        pull(&kb, &format!("/mds/events/recent?start_time={from}&end_time={}", kb.clock.now().timestamp_millis()))
            .await;
    assert_eq!(recent.status, StatusCode::OK, "{recent:?}");
    assert_eq!(recent.body["events"], events.body["events"], "the same events, over a range");
    assert_eq!(recent.body["links"]["next"], Value::Null, "one page");

    // A point of telemetry at each event, in the same order; those of a ride carry its trip.
    let telemetry = pull(&kb, &format!("/mds/telemetry?telemetry_time={hour}")).await;
    assert_eq!(telemetry.status, StatusCode::OK, "{telemetry:?}");
    // And the two points kb-2 reported on its ride, with its trip.
    let event_list = events.body["events"].as_array().unwrap();
    let (reported, points): (Vec<&Value>, Vec<&Value>) = telemetry.body["telemetry"]
        .as_array()
        .unwrap()
        .iter()
        .partition(|point| !event_list.iter().any(|event| event["timestamp"] == point["timestamp"]));
    assert_eq!(points.len(), event_list.len(), "{telemetry:?}");
    for (point, event) in points.iter().zip(event_list) {
        assert_eq!((&point["timestamp"], &point["location"]), (&event["timestamp"], &event["location"]));
        assert_eq!(point["trip_ids"], event.get("trip_ids").cloned().unwrap_or(Value::Null), "{point}");
        assert_eq!(point["journey_id"], point["trip_ids"].get(0).cloned().unwrap_or(Value::Null), "{point}");
    }
    let kb2_trip = &trips_list[1]["trip_id"];
    let reported_at: Vec<(f64, f64)> = reported
        .iter()
        .map(|point| (point["location"]["lat"].as_f64().unwrap(), point["location"]["lng"].as_f64().unwrap()))
        .collect();
    assert_eq!(reported_at, [(37.5665, 126.99), (37.5702, 126.99)], "{telemetry:?}");
    assert!(reported.iter().all(|point| point["trip_ids"] == json!([kb2_trip]) && &point["journey_id"] == kb2_trip));

    // The vehicles, and each one's latest state: both boards back after their ride.
    let vehicles = pull(&kb, "/mds/vehicles").await;
    assert_eq!(vehicles.status, StatusCode::OK, "{vehicles:?}");
    let listed: Vec<&str> =
        vehicles.body["vehicles"].as_array().unwrap().iter().map(|v| v["vehicle_id"].as_str().unwrap()).collect();
    assert_eq!(listed.len(), 2, "{vehicles:?}");
    assert!(listed.contains(&"kb-1") && listed.contains(&"kb-2"), "{vehicles:?}");
    assert_eq!(vehicles.body["links"]["next"], Value::Null, "one page");
    let statuses = pull(&kb, "/mds/vehicles/status").await;
    assert_eq!(statuses.status, StatusCode::OK, "{statuses:?}");
    let device_of = |board: &str| {
        let listed = vehicles.body["vehicles"].as_array().unwrap().iter().find(|v| v["vehicle_id"] == board);
        listed.unwrap()["device_id"].clone()
    };
    let last_events: Vec<(Value, Value)> = statuses.body["vehicles_status"]
        .as_array()
        .unwrap()
        .iter()
        .map(|status| {
            assert_eq!(status["last_telemetry"]["timestamp"], status["last_event"]["timestamp"], "{status}");
            (status["device_id"].clone(), status["last_event"]["event_types"][0].clone())
        })
        .collect();
    assert!(last_events.contains(&(device_of("kb-1"), json!("maintenance"))), "{last_events:?}");
    assert!(last_events.contains(&(device_of("kb-2"), json!("trip_end"))), "{last_events:?}");
    let device_id = vehicles.body["vehicles"][0]["device_id"].as_str().unwrap().to_owned();
    let vehicle = pull(&kb, &format!("/mds/vehicles/{device_id}")).await;
    assert_eq!((vehicle.status, &vehicle.body["vehicles"][0]), (StatusCode::OK, &vehicles.body["vehicles"][0]));
    let status = pull(&kb, &format!("/mds/vehicles/status/{device_id}")).await;
    assert_eq!(status.status, StatusCode::OK, "{status:?}");
    let unknown = pull(&kb, &format!("/mds/vehicles/{}", uuid::Uuid::new_v4())).await;
    assert_eq!((unknown.status, unknown.problem()), (StatusCode::NOT_FOUND, "vehicle-not-found"), "{unknown:?}");
    let not_a_device = pull(&kb, "/mds/vehicles/status/kb-1").await;
    assert_eq!(not_a_device.status, StatusCode::BAD_REQUEST, "{not_a_device:?}");

    // The next hour, once over, had no operations.
    kb.clock.advance(Duration::hours(2));
    let quiet = pull(&kb, &format!("/mds/trips?end_time={}", hour_of(start + Duration::hours(1)))).await;
    assert_eq!((quiet.status, quiet.problem()), (StatusCode::NOT_FOUND, "no-operations"), "{quiet:?}");

    // A ride on the road across the end of an hour: the hour's telemetry waits for its points,
    // which come with its end.
    let riding_hour = hour_of(kb.clock.now());
    let riding = kb.rent(&rider, &pass, "kb-2").await;
    assert_eq!(riding.status, StatusCode::CREATED, "{riding:?}");
    kb.clock.advance(Duration::minutes(1));
    let at = kb.clock.now().to_rfc3339();
    let sent = kb.report("kb-2", json!({"lat": 37.5710, "lon": 126.9800, "batteryPct": 69, "reportedAt": at})).await;
    assert_eq!(sent.status, StatusCode::OK, "{sent:?}");
    kb.settle().await;
    let next_hour =
        chrono::DateTime::parse_from_rfc3339(&format!("{riding_hour}:00:00Z")).unwrap().to_utc() + Duration::hours(1);
    kb.clock.advance(next_hour - kb.clock.now() + Duration::minutes(6));
    let waiting = pull(&kb, &format!("/mds/telemetry?telemetry_time={riding_hour}")).await;
    assert_eq!((waiting.status, waiting.problem()), (StatusCode::ACCEPTED, "hour-not-ready"), "{waiting:?}");
    assert!(waiting.retry_after.is_some(), "{waiting:?}");
    let path = format!("/rentals/{}/return", riding.text("rentalId"));
    assert_eq!(kb.call(Method::POST, &path, Some(&rider), None).await.status, StatusCode::OK);
    kb.settle().await;
    let ridden = pull(&kb, &format!("/mds/telemetry?telemetry_time={riding_hour}")).await;
    assert_eq!(ridden.status, StatusCode::OK, "{ridden:?}");
    let ridden_points = ridden.body["telemetry"].as_array().unwrap();
    assert_eq!(
        ridden_points.len(),
        2,
        "the rent's point and the reported one (the return is the next hour's): {ridden:?}"
    );
    assert!(ridden_points.iter().all(|point| point["trip_ids"].as_array().is_some_and(|trips| trips.len() == 1)));

    // Ten more rides in the same month (Seoul's November): the month's report counts thirteen
    // trips, by one rider (redacted: under ten).
    for _ in 0..10 {
        kb.clock.advance(Duration::minutes(1));
        let rented = kb.rent(&rider, &pass, "kb-2").await;
        assert_eq!(rented.status, StatusCode::CREATED, "{rented:?}");
        kb.clock.advance(Duration::minutes(2));
        let path = format!("/rentals/{}/return", rented.text("rentalId"));
        assert_eq!(kb.call(Method::POST, &path, Some(&rider), None).await.status, StatusCode::OK);
    }
    kb.settle().await;
    let november = format!("/mds/reports/{}.csv", start.format("%Y-%m"));
    let early = pull_report(&kb, &november).await;
    assert_eq!((early.status, early.problem()), (StatusCode::NOT_FOUND, "month-not-over"), "{early:?}");
    // November ends at midnight in Seoul (15:00 UTC); its report is made five minutes later.
    let seoul_midnight = chrono::DateTime::parse_from_rfc3339("2026-11-30T15:00:00Z").unwrap().to_utc();
    kb.clock.advance(seoul_midnight - kb.clock.now() + Duration::minutes(6));
    let report = pull_report(&kb, &november).await;
    assert_eq!(report.status, StatusCode::OK, "{report:?}");
    assert_eq!(report.content_type.as_deref(), Some(MDS_CSV_TYPE));
    let rows: Vec<Vec<String>> = report
        .body
        .as_str()
        .unwrap()
        .lines()
        .skip(1)
        .map(|line| line.split(',').map(str::to_owned).collect())
        .collect();
    let counts: Vec<(&str, &str, &str, &str)> =
        rows.iter().map(|row| (row[3].as_str(), row[4].as_str(), row[6].as_str(), row[7].as_str())).collect();
    assert_eq!(
        counts,
        [("all_riders", "", "13", "-1"), ("low_income", "", "-1", "-1"), ("adaptive_scooter", "", "-1", "-1")],
        "{report:?}"
    );
    assert!(rows.iter().all(|row| row[1] == "2026-11-01" && row[5] == "scooter_standing"), "{rows:?}");
    let bad_name = pull_report(&kb, "/mds/reports/2026-13.csv").await;
    assert_eq!(bad_name.status, StatusCode::BAD_REQUEST, "{bad_name:?}");
    let token = agency_token(&kb);
    let accept = [("accept", "text/vnd.mds+csv;version=1.2")];
    let old_version = kb.send_with_headers(Method::GET, &november, Some(&token), None, Vec::new(), &accept).await;
    assert_eq!(old_version.status, StatusCode::NOT_ACCEPTABLE, "{old_version:?}");

    // Every event delivered again (a redelivery, a replay) changes nothing.
    let latest = pull(&kb, "/mds/vehicles/status").await;
    // Newest first: the registrations arrive last, as a late redelivery would.
    for entry in kb.outbox_events().await.into_iter().rev() {
        if Subscriber::MdsView.wants(&entry) {
            deliver(&kb.server.app, Subscriber::MdsView, to_eventbridge(&entry).unwrap()).await.unwrap();
        }
    }
    let again = pull(&kb, &format!("/mds/trips?end_time={hour}")).await;
    assert_eq!(again.body, trips.body, "a redelivered return is the same trip, once");
    let points_again = pull(&kb, &format!("/mds/telemetry?telemetry_time={hour}")).await;
    assert_eq!(points_again.body, telemetry.body, "each point once");
    // The registrations and rents delivered after the returns: an earlier state never
    // replaces a later one.
    let statuses_again = pull(&kb, "/mds/vehicles/status").await;
    assert_eq!(statuses_again.body["vehicles_status"], latest.body["vehicles_status"]);
    assert_eq!(pull_report(&kb, &november).await.body, report.body, "each trip counted once");
    assert_valid_mds(&[
        ("/trips", &trips),
        ("/events/historical", &events),
        ("/events/recent", &recent),
        ("/telemetry", &telemetry),
        ("/telemetry", &ridden),
        ("/vehicles", &vehicles),
        ("/vehicles/status", &statuses),
        ("/vehicles/{device_id}", &vehicle),
        ("/vehicles/status/{device_id}", &status),
        ("/reports/{filename}", &report),
    ]);
    kb.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_agencies_and_admins_read_it_in_mds_2_0_and_bad_queries_are_named() {
    let kb = TestServer::start().await;
    kb.register_board("kb-1").await;
    // The registration reaches the view through the relay: the hour has an event once it has.
    kb.settle().await;
    kb.clock.advance(Duration::hours(3));
    let hour = hour_of(kb.clock.now() - Duration::hours(3));
    let path = format!("/mds/events/historical?event_time={hour}");

    for token in [kb.customer_token("rider-1"), kb.vehicle_token("kb-1")] {
        let refused = kb.get(&path, &token).await;
        assert_eq!((refused.status, refused.problem()), (StatusCode::FORBIDDEN, "forbidden"), "{refused:?}");
        assert!(!refused.body.to_string().contains("kb-1"), "nothing about the fleet: {refused:?}");
    }
    let anonymous = kb.call(Method::GET, &path, None, None).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    let admin = kb.get(&path, &kb.admin_token()).await;
    assert_eq!(admin.status, StatusCode::OK, "admins read it too: {admin:?}");
    assert_eq!(admin.content_type.as_deref(), Some(MDS_TYPE), "no Accept: MDS 2.0");

    let token = agency_token(&kb);
    for accept in ["application/vnd.mds+json;version=1.2", "application/vnd.mds+json;version=2.1", "text/html"] {
        let refused =
            kb.send_with_headers(Method::GET, &path, Some(&token), None, Vec::new(), &[("accept", accept)]).await;
        assert_eq!((refused.status, refused.problem()), (StatusCode::NOT_ACCEPTABLE, "mds-version-not-acceptable"));
    }
    for accept in ["application/vnd.mds+json", "application/json", "*/*"] {
        let served =
            kb.send_with_headers(Method::GET, &path, Some(&token), None, Vec::new(), &[("accept", accept)]).await;
        assert_eq!(served.status, StatusCode::OK, "{accept}: {served:?}");
    }

    let now = kb.clock.now().timestamp_millis();
    let bad = [
        ("/mds/trips", "end_time"),
        ("/mds/trips?end_time=2026-11-25T09:30", "end_time"),
        ("/mds/trips?end_time=2026-13-01T00", "end_time"),
        ("/mds/trips?end_time=2026-11-25T24", "end_time"),
        ("/mds/events/historical?event_time=yesterday", "event_time"),
        ("/mds/events/recent?end_time=1", "start_time"),
        (&format!("/mds/events/recent?start_time={now}&end_time={}", now - 1000), "end_time"),
        (&format!("/mds/events/recent?start_time={}&end_time={now}", now - 15 * 86_400_000), "end_time"),
        (
            &format!("/mds/events/recent?start_time={}&end_time={}", now - 15 * 86_400_000, now - 14 * 86_400_000),
            "start_time",
        ),
    ];
    for (path, field) in bad {
        let refused = pull(&kb, path).await;
        assert_eq!((refused.status, refused.problem()), (StatusCode::BAD_REQUEST, "invalid-request"), "{path}");
        assert!(refused.body["detail"].as_str().unwrap().starts_with(field), "{path}: {refused:?}");
    }
    kb.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_local_clock_moves_forward_on_request_and_never_back() {
    let kb = TestServer::start().await;
    let before = kb.clock.now();
    let moved = kb.call(Method::PUT, "/local/clock", None, Some(json!({"offsetSeconds": 7200}))).await;
    assert_eq!(moved.status, StatusCode::OK, "{moved:?}");
    assert_eq!(moved.body["offsetSeconds"], 7200);
    let now: chrono::DateTime<chrono::Utc> = moved.text("now").parse().unwrap();
    assert_eq!(now, before + Duration::hours(2));
    // What the server does runs on the moved clock.
    kb.register_board("kb-1").await;
    let registered = kb.outbox_events().await.pop().expect("the registration's event");
    assert_eq!(registered.occurred_at, before + Duration::hours(2));
    let back = kb.call(Method::PUT, "/local/clock", None, Some(json!({"offsetSeconds": 60}))).await;
    assert_eq!((back.status, back.problem()), (StatusCode::BAD_REQUEST, "invalid-request"), "{back:?}");
    let read = kb.call(Method::GET, "/local/clock", None, None).await;
    assert_eq!(read.body["offsetSeconds"], 7200, "unchanged by the refusal");
    kb.stop().await;
}
