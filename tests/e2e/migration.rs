//! The `available` index keyed by area cell, starting from boards stored in the old shape
//! (every available board under one `AVAILABLE` partition): `kickboard-ops migrate` moves
//! them, boards returned before it ran are moved by a second run, rentals from before the ride
//! history join it, and a run changes nothing once done.

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{TimeZone, Utc};
use hyper::StatusCode;
use kickboard_common::adapters::aws::items::{AVAILABLE_INDEX, BoardItem, LEGACY_AVAILABLE_PK, RentalItem, attr};
use kickboard_common::domain::geo::Coordinates;
use kickboard_common::domain::ids::{CustomerId, KickboardId, PassId, RentalId};
use kickboard_common::domain::kickboard::{Kickboard, Model};
use kickboard_common::domain::rental::Rental;
use kickboard_common::domain::vehicle::default_vehicle_type_id;
use kickboard_local::migrate::{Migrated, migrate};
use kickboard_tests::TestServer;

/// A board item as the previous version wrote it.
fn legacy_board(id: &str, lat: f64, lon: f64) -> std::collections::HashMap<String, AttributeValue> {
    let at = Utc.with_ymd_and_hms(2026, 11, 1, 9, 0, 0).unwrap();
    let (board, _) = Kickboard::register(
        KickboardId::try_from(id.to_owned()).unwrap(),
        Model::try_from("Ninebot Max".to_owned()).unwrap(),
        default_vehicle_type_id(),
        Coordinates::new(lat, lon).unwrap(),
        at,
    );
    let mut item = BoardItem::from(&board);
    item.available_pk = Some(LEGACY_AVAILABLE_PK.to_owned());
    let mut item: std::collections::HashMap<String, AttributeValue> = serde_dynamo::to_item(item).unwrap();
    // Nor did it know vehicle types, batteries, reports, public ids or revisions.
    for newer in ["parkedCell", "vehicleTypeId", "batteryPct", "lastReportedAt", "publicId", "revision"] {
        item.remove(newer);
    }
    item
}

/// A rental item as the version before the ride history wrote it.
fn legacy_rental(customer: &str) -> std::collections::HashMap<String, AttributeValue> {
    let pass_id = PassId::try_from("p-old").unwrap();
    let (rental, _) = Rental::open(
        RentalId::for_pass(&pass_id),
        pass_id,
        KickboardId::try_from("kb-old-2").unwrap(),
        CustomerId::try_from(customer).unwrap(),
        None,
        Utc.with_ymd_and_hms(2026, 11, 1, 9, 0, 0).unwrap(),
    );
    let mut item: std::collections::HashMap<String, AttributeValue> =
        serde_dynamo::to_item(RentalItem::from(&rental)).unwrap();
    item.remove(attr::RIDER_PK);
    item.remove(attr::RIDER_SK);
    item
}

async fn index_partitions(kb: &TestServer) -> Vec<String> {
    let aws = kb.aws.as_ref().unwrap();
    let client = aws_sdk_dynamodb::Client::new(&aws.config);
    let scan = client.scan().table_name(&aws.deployment.tables.state).index_name(AVAILABLE_INDEX).send().await;
    let mut keys: Vec<String> = scan
        .unwrap()
        .items
        .unwrap_or_default()
        .iter()
        .map(|item| item["availablePk"].as_s().unwrap().clone())
        .collect();
    keys.sort();
    keys
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn boards_in_the_old_shape_move_to_their_cells_and_stay_findable() {
    let kb = TestServer::start_on_moto(true).await;
    let aws = kb.aws.as_ref().unwrap();
    let client = aws_sdk_dynamodb::Client::new(&aws.config);
    for (id, lat, lon) in
        [("kb-old-1", 37.5665, 126.978), ("kb-old-2", 37.5670, 126.979), ("kb-old-3", 37.5668, 126.9785)]
    {
        let put = client.put_item().table_name(&aws.deployment.tables.state).set_item(Some(legacy_board(id, lat, lon)));
        put.send().await.unwrap();
    }
    // This version starts on the old version's data; the old boards' vehicles connect to it.
    let kb = kb.restart().await;
    let (aws, client) = (kb.aws.as_ref().unwrap(), client);
    kb.register_board("kb-new").await;
    let alice = kb.customer_token("alice");
    let near = "/kickboards?near=37.5666,126.9781&radiusM=500";
    let found = |reply: &kickboard_tests::Reply| -> Vec<String> {
        let mut ids: Vec<String> =
            reply.body.as_array().unwrap().iter().map(|b| b["kickboardId"].as_str().unwrap().to_owned()).collect();
        ids.sort();
        ids
    };
    assert_eq!(found(&kb.get(near, &alice).await), ["kb-new"], "old-shape boards are under the old key");

    // A ride on an old board before the migration: the return writes the board in the new
    // shape, under its cell.
    let pass = kb.paid_pass(&alice, "basic-60").await;
    let ride = kb.rent(&alice, &pass, "kb-old-3").await;
    assert_eq!(ride.status, StatusCode::CREATED, "{ride:?}");
    assert_eq!(kb.give_back(&alice, &ride.text("rentalId")).await.status, StatusCode::OK);
    assert_eq!(found(&kb.get(near, &alice).await), ["kb-new", "kb-old-3"], "a ride moves an old board");

    // A ride from before the ride history is not in it until the migration.
    let put = client.put_item().table_name(&aws.deployment.tables.state).set_item(Some(legacy_rental("alice")));
    put.send().await.unwrap();
    let history = |reply: &kickboard_tests::Reply| reply.body["rentals"].as_array().unwrap().len();
    assert_eq!(history(&kb.get("/me/rentals", &alice).await), 1);

    let tables = &aws.deployment.tables;
    let first = migrate(&aws.config, tables).await.unwrap();
    assert_eq!(first, Migrated { boards: 4, cells_added: 2, moved: 2, rentals_indexed: 1 });
    let rides = kb.get("/me/rentals", &alice).await;
    assert_eq!(history(&rides), 2, "{rides:?}");
    assert!(rides.body["rentals"][1]["rentalId"].as_str().unwrap().starts_with("p-old."), "the oldest last: {rides:?}");
    assert!(!index_partitions(&kb).await.contains(&LEGACY_AVAILABLE_PK.to_owned()), "nothing left under the old key");
    assert_eq!(found(&kb.get(near, &alice).await), ["kb-new", "kb-old-1", "kb-old-2", "kb-old-3"]);

    // Migrated boards ride and come back under their cell.
    let ride = kb.rent(&alice, &pass, "kb-old-1").await;
    assert_eq!(ride.status, StatusCode::CREATED, "{ride:?}");
    assert_eq!(kb.give_back(&alice, &ride.text("rentalId")).await.status, StatusCode::OK);
    assert_eq!(found(&kb.get(near, &alice).await).len(), 4);
    let cells = index_partitions(&kb).await;
    assert!(cells.iter().all(|cell| cell.len() == 6), "every board under its 6-character cell: {cells:?}");

    let again = migrate(&aws.config, tables).await.unwrap();
    assert_eq!(
        again,
        Migrated { boards: 4, cells_added: 0, moved: 0, rentals_indexed: 0 },
        "a second run changes nothing"
    );
    kb.stop().await;
}
