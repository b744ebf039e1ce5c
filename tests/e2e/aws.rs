//! The AWS adapters on moto beyond the contract: the whole event path with duplicated,
//! shuffled deliveries, relay failures, and the DynamoDB round trips each command takes.

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use chrono::{Duration, TimeZone, Utc};
use hyper::StatusCode;
use kickboard_common::adapters::aws::{DynamoStore, EventBridgePublisher};
use kickboard_common::domain::events::Subscriber;
use kickboard_common::domain::geo::Coordinates;
use kickboard_common::domain::ids::{CustomerId, KickboardId, PassId, PaymentId, RentalId};
use kickboard_common::domain::kickboard::{Kickboard, Model};
use kickboard_common::domain::pass::Pass;
use kickboard_common::domain::plan::catalogue;
use kickboard_common::domain::rental::ReturnReport;
use kickboard_common::domain::vehicle::{BatteryRules, default_vehicle_type_id};
use kickboard_common::handlers::relay::relay_stream;
use kickboard_common::ports::{FleetStore, PassStore, RentRequest, RentalStore, ReturnRequest};
use kickboard_local::aws_flow::AwsEventPump;
use kickboard_local::relay::deliver;
use kickboard_tests::moto::Moto;
use kickboard_tests::{TestServer, shuffle};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The event wiring of the server's deployment, for the test to drive by hand.
async fn pump_for(kb: &TestServer) -> AwsEventPump {
    let aws = kb.aws.as_ref().expect("a moto server");
    let deployment = &aws.deployment;
    AwsEventPump::connect(&aws.config, &deployment.tables, &deployment.bus, deployment.queues.clone())
        .await
        .expect("the state table has a stream")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_batch_twice_and_shuffled_still_sends_one_sms_per_event_and_right_balances() {
    let kb = TestServer::start_on_moto(false).await;
    let pump = pump_for(&kb).await;
    let (alice, bob) = (kb.customer_token("alice"), kb.customer_token("bob"));
    kb.set_phone(&alice, "+821011112222").await;
    kb.set_phone(&bob, "+821033334444").await;
    kb.register_board("kb-1").await;
    let mut passes = Vec::new();
    for (token, seconds) in [(&alice, 450), (&bob, 61)] {
        let pass = kb.paid_pass(token, "basic-60").await;
        let rental = kb.rent(token, &pass, "kb-1").await.text("rentalId");
        kb.clock.advance(Duration::seconds(seconds));
        assert_eq!(kb.give_back(token, &rental).await.status, StatusCode::OK);
        passes.push((token.clone(), pass));
    }

    // The stream, every batch twice, shuffled, through event-relay onto the bus.
    let mut batches: Vec<_> = pump.read_stream().await.unwrap().into_iter().map(|shard| shard.batch).collect();
    assert!(!batches.is_empty());
    batches.extend(batches.clone());
    shuffle(&mut batches, 0xbadc0ffee);
    for batch in batches {
        let response = relay_stream(&pump.publisher, &batch).await;
        assert!(response.batch_item_failures.is_empty(), "{response:?}");
    }

    // The rules' queues, every message twice, shuffled, to the notifier and balance view.
    let mut deliveries = Vec::new();
    for subscriber in Subscriber::ALL {
        loop {
            let received = pump.receive(subscriber).await.unwrap();
            if received.is_empty() {
                break;
            }
            for (receipt, event) in received {
                deliveries.push((subscriber, event.clone()));
                deliveries.push((subscriber, event));
                pump.acknowledge(subscriber, receipt).await.unwrap();
            }
        }
    }
    shuffle(&mut deliveries, 0x5eed);
    for (subscriber, event) in deliveries {
        deliver(&kb.server.app, subscriber, event).await.unwrap();
    }

    for customer in ["alice", "bob"] {
        let alerts = kb.alerts(customer).await;
        let texts: Vec<&str> = alerts.iter().map(|alert| alert["message"].as_str().unwrap()).collect();
        assert_eq!(texts.len(), 4, "licence, paid, rented, returned; once each: {texts:?}");
        assert!(
            texts.iter().any(|text| text.contains("대여 시작")) && texts.iter().any(|text| text.contains("반납 완료"))
        );
    }
    for (token, pass) in &passes {
        let written = kb.get(&format!("/passes/{pass}"), token).await.body;
        let viewed = kb.get(&format!("/passes/{pass}/balance"), token).await.body;
        for field in ["status", "minutesLeft", "minutesUsed", "overageMinutes"] {
            assert_eq!(viewed[field], written[field], "{field}: view {viewed} vs pass {written}");
        }
    }
    kb.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bus_that_refuses_entries_gets_them_again_and_nothing_is_lost() {
    let kb = TestServer::start_on_moto(false).await;
    let pump = pump_for(&kb).await;
    let alice = kb.customer_token("alice");
    kb.set_phone(&alice, "+821011112222").await;
    kb.paid_pass(&alice, "basic-60").await;
    let batch = pump.read_stream().await.unwrap().remove(0).batch;
    let outbox_records = batch.records.iter().filter(|record| record.event_name == "INSERT").count();

    let aws = kb.aws.as_ref().unwrap();
    let missing_bus = EventBridgePublisher::new(aws_sdk_eventbridge::Client::new(&aws.config), "no-such-bus".into());
    let refused = relay_stream(&missing_bus, &batch).await;
    assert!(!refused.batch_item_failures.is_empty(), "an unavailable bus fails the entries");
    assert!(refused.batch_item_failures.len() <= outbox_records);
    let retried: Vec<_> = refused.batch_item_failures.iter().filter_map(|f| f.item_identifier.clone()).collect();
    let mut retry = batch.clone();
    retry.records.retain(|record| record.change.sequence_number.as_ref().is_some_and(|seq| retried.contains(seq)));

    let delivered = relay_stream(&pump.publisher, &retry).await;
    assert!(delivered.batch_item_failures.is_empty());
    let (_, paid) = pump.receive(Subscriber::Notifier).await.unwrap().pop().expect("PassPaid reached the notifier");
    assert_eq!(paid.detail_type, "PassPaid");
    kb.stop().await;
}

/// Counts the HTTP requests a DynamoDB client sends.
#[derive(Debug, Default)]
struct RoundTrips(Arc<AtomicUsize>);

impl Intercept for RoundTrips {
    fn name(&self) -> &'static str {
        "RoundTrips"
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _config: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_take_the_promised_dynamodb_round_trips() {
    let moto = Moto::start();
    let config = moto.sdk_config().await;
    let deployment = kickboard_tests::moto::deploy(&config).await;
    let count = Arc::new(AtomicUsize::new(0));
    let client_config =
        aws_sdk_dynamodb::config::Builder::from(&config).interceptor(RoundTrips(Arc::clone(&count))).build();
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::from_conf(client_config), deployment.tables.clone());
    let trips = |before: usize| count.load(Ordering::SeqCst) - before;
    let now = Utc.with_ymd_and_hms(2026, 11, 25, 9, 0, 0).unwrap();
    let alice = CustomerId::try_from("alice").unwrap();

    let start = count.load(Ordering::SeqCst);
    let location = Coordinates::new(37.5665, 126.978).unwrap();
    let board_id = KickboardId::try_from("kb-1").unwrap();
    let (board, event) = Kickboard::register(
        board_id.clone(),
        Model::try_from("X".to_owned()).unwrap(),
        default_vehicle_type_id(),
        location,
        now,
    );
    store.register_kickboard(&board, &event).await.unwrap();
    let register = trips(start);

    let start = count.load(Ordering::SeqCst);
    let (pass, event) = Pass::purchase(PassId::random(), alice.clone(), &catalogue()[0], now);
    store.record_purchase(&pass, &event, None).await.unwrap();
    let purchase = trips(start);

    let start = count.load(Ordering::SeqCst);
    let read = store.find_pass(&pass.pass_id).await.unwrap().unwrap();
    store.activate_pass(&read, PaymentId::random(), now, None).await.unwrap();
    let pay = trips(start);

    let start = count.load(Ordering::SeqCst);
    let rental_id = RentalId::for_pass(&pass.pass_id);
    let rent = RentRequest {
        customer: alice.clone(),
        pass_id: pass.pass_id.clone(),
        kickboard_id: board_id,
        rental_id,
        now,
        answer: None,
        rules: BatteryRules::default(),
        zones: Default::default(),
        licence_since: None,
    };
    let rental = store.start_rental(rent).await.unwrap();
    let rent = trips(start);

    let start = count.load(Ordering::SeqCst);
    let later = now + Duration::minutes(8);
    let back = ReturnRequest {
        customer: alice,
        rental_id: rental.rental_id,
        report: ReturnReport::default(),
        rules: BatteryRules::default(),
        zones: Default::default(),
        now: later,
    };
    store.finish_rental(back).await.unwrap();
    let give_back = trips(start);

    println!(
        "DynamoDB round trips: register {register}, purchase {purchase}, pay {pay}, rent {rent}, return {give_back}"
    );
    assert_eq!(rent, 2, "rent reads the board (where the ride begins), then one transaction");
    assert!(
        give_back <= 3,
        "return reads rental and pass together, then the board it frees, then one transaction: {give_back}"
    );
    assert!(pay <= 2, "pay reads the pass, then one transaction: {pay}");
    assert_eq!((register, purchase), (1, 1));
}
