//! Redrive on moto: events parked in each kind of failure queue (a rule's dead-letter queue,
//! a function's on-failure destination, the stream's on-failure destination) go back through
//! the bus, reach the balance view and the notifier, and alert once each, however often the
//! operator redrives.

use aws_sdk_sqs::types::QueueAttributeName;
use hyper::StatusCode;
use kickboard_common::domain::events::{EventEnvelope, Subscriber};
use kickboard_local::aws_flow::AwsEventPump;
use kickboard_local::redrive::{Redrive, RedriveError};
use kickboard_local::relay::{deliver, to_eventbridge};
use kickboard_tests::TestServer;
use serde_json::json;

/// A queue as the template makes it; returns its URL.
async fn queue(sqs: &aws_sdk_sqs::Client, name: &str) -> String {
    sqs.create_queue().queue_name(name).send().await.unwrap().queue_url.unwrap()
}

async fn park(sqs: &aws_sdk_sqs::Client, url: &str, body: serde_json::Value) {
    sqs.send_message().queue_url(url).message_body(body.to_string()).send().await.unwrap();
}

/// Lambda's record of an asynchronous invocation that failed every retry.
fn invocation_record(event: &EventEnvelope) -> serde_json::Value {
    json!({
        "version": "1.0",
        "timestamp": "2026-11-25T09:00:00.000Z",
        "requestContext": {
            "requestId": "c9b2b2a8-0000-4000-8000-000000000000",
            "functionArn": "arn:aws:lambda:us-east-1:123456789012:function:kickboard-NotifierFunction:$LATEST",
            "condition": "RetriesExhausted",
            "approximateInvokeCount": 3
        },
        "requestPayload": to_eventbridge(event).unwrap(),
        "responseContext": { "statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled" },
        "responsePayload": { "errorMessage": "backend busy: SNS throttled" }
    })
}

/// Delivers what the rules queued, as the notifier and balance-view Lambdas would get it.
async fn drain(kb: &TestServer, pump: &AwsEventPump) {
    for subscriber in Subscriber::ALL {
        loop {
            let received = pump.receive(subscriber).await.unwrap();
            if received.is_empty() {
                break;
            }
            for (receipt, event) in received {
                deliver(&kb.server.app, subscriber, event).await.unwrap();
                pump.acknowledge(subscriber, receipt).await.unwrap();
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parked_events_are_redriven_once_each_from_every_kind_of_queue() {
    // Events are written but never relayed: they reach the subscribers only by redrive.
    let kb = TestServer::start_on_moto(false).await;
    let aws = kb.aws.as_ref().unwrap();
    let alice = kb.customer_token("alice");
    kb.set_phone(&alice, "+821011112222").await;
    kb.register_board("kb-1").await;
    let pass = kb.paid_pass(&alice, "basic-60").await;
    let stream =
        AwsEventPump::connect(&aws.config, &aws.deployment.tables, &aws.deployment.bus, aws.deployment.queues.clone())
            .await
            .unwrap();
    let before_ride = stream.read_stream().await.unwrap().remove(0).batch.records.len();
    let rental = kb.rent(&alice, &pass, "kb-1").await.text("rentalId");
    assert_eq!(kb.give_back(&alice, &rental).await.status, StatusCode::OK);

    let events = kb.outbox_events().await;
    let of = |kind: &str| events.iter().find(|event| event.detail_type() == kind).unwrap();
    let sqs = aws_sdk_sqs::Client::new(&aws.config);
    let rule_dlq = queue(&sqs, "kickboard-balance-view-dlq").await;
    let function_failures = queue(&sqs, "kickboard-notifier-failures").await;
    let stream_failures = queue(&sqs, "kickboard-relay-failures").await;
    // The balance view's rule could not deliver the purchase; the notifier failed on the
    // payment, twice over (the same record parked twice); the relay failed on the ride.
    park(&sqs, &rule_dlq, serde_json::to_value(to_eventbridge(of("PassPurchased")).unwrap()).unwrap()).await;
    park(&sqs, &function_failures, invocation_record(of("PassPaid"))).await;
    park(&sqs, &function_failures, invocation_record(of("PassPaid"))).await;
    let shard = stream.read_stream().await.unwrap().remove(0);
    let ride = shard.batch.records;
    let sequence = |index: usize| ride[index].change.sequence_number.clone().unwrap();
    let stream_arn = aws_sdk_dynamodb::Client::new(&aws.config)
        .describe_table()
        .table_name(&aws.deployment.tables.state)
        .send()
        .await
        .unwrap()
        .table
        .and_then(|table| table.latest_stream_arn)
        .unwrap();
    park(
        &sqs,
        &stream_failures,
        json!({
            "requestContext": { "requestId": "r-1", "functionArn": "arn:aws:lambda:us-east-1:123456789012:function:relay",
                                "condition": "RetryAttemptsExhausted", "approximateInvokeCount": 3 },
            "responseContext": { "statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled" },
            "version": "1.0",
            "timestamp": "2026-11-25T09:00:00.000Z",
            "DDBStreamBatchInfo": {
                "shardId": shard.shard_id,
                "startSequenceNumber": sequence(before_ride),
                "endSequenceNumber": sequence(ride.len() - 1),
                "approximateArrivalOfFirstRecord": "2026-11-25T09:00:00Z",
                "approximateArrivalOfLastRecord": "2026-11-25T09:00:01Z",
                "batchSize": ride.len() - before_ride,
                "streamArn": stream_arn
            }
        }),
    )
    .await;

    let redrive = Redrive::new(&aws.config, &aws.deployment.tables, &aws.deployment.bus);
    let moved = redrive.queue(&rule_dlq).await.unwrap();
    assert_eq!((moved.messages, moved.events), (1, 1));
    let moved = redrive.queue("kickboard-notifier-failures").await.unwrap();
    assert_eq!((moved.messages, moved.events), (2, 2), "by name as well as by URL");
    let moved = redrive.queue(&stream_failures).await.unwrap();
    assert_eq!((moved.messages, moved.events), (1, 2), "the rent and the return, read again from the table");
    drain(&kb, &stream).await;

    let alerts = kb.alerts("alice").await;
    let texts: Vec<&str> = alerts.iter().map(|alert| alert["message"].as_str().unwrap()).collect();
    assert_eq!(texts.len(), 3, "paid, rented, returned, once each: {texts:?}");
    let balance = kb.get(&format!("/passes/{pass}/balance"), &alice).await;
    assert_eq!((balance.body["status"].as_str(), balance.body["minutesUsed"].as_u64()), (Some("ACTIVE"), Some(1)));

    // Empty queues: nothing moved; a queue that does not exist: a clear error.
    for url in [&rule_dlq, &function_failures, &stream_failures] {
        assert_eq!(redrive.queue(url).await.unwrap().messages, 0);
        let left = sqs
            .get_queue_attributes()
            .queue_url(url)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .send()
            .await
            .unwrap();
        assert_eq!(left.attributes.unwrap()[&QueueAttributeName::ApproximateNumberOfMessages], "0");
    }
    let missing = redrive.queue("no-such-queue").await.unwrap_err();
    assert!(matches!(missing, RedriveError::NoSuchQueue(_)), "{missing}");
    kb.stop().await;
}

/// `kickboard-ops redrive` as an operator runs it: an empty queue moves nothing and exits 0;
/// a queue that does not exist is an error and a failed exit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_redrive_command_says_what_it_moved_and_fails_on_a_missing_queue() {
    let kb = TestServer::start_on_moto(false).await;
    let aws = kb.aws.as_ref().unwrap();
    let sqs = aws_sdk_sqs::Client::new(&aws.config);
    let empty = queue(&sqs, "kickboard-notifier-failures").await;
    let binary = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/debug/kickboard-ops");
    assert!(binary.exists(), "{} is built with the workspace", binary.display());
    let redrive = |queue: &str| {
        std::process::Command::new(&binary)
            .args(["redrive", queue])
            .env("AWS_ENDPOINT_URL", &aws.moto.endpoint)
            .env("KICKBOARD_STATE_TABLE", &aws.deployment.tables.state)
            .env("KICKBOARD_VIEW_TABLE", &aws.deployment.tables.views)
            .env("KICKBOARD_EVENT_BUS", &aws.deployment.bus)
            .output()
            .expect("kickboard-ops runs")
    };
    let moved = redrive(&empty);
    assert!(moved.status.success(), "{moved:?}");
    assert!(String::from_utf8_lossy(&moved.stdout).starts_with("moved 0 message(s)"), "{moved:?}");
    let missing = redrive("no-such-queue");
    assert_eq!(missing.status.code(), Some(1), "{missing:?}");
    assert!(String::from_utf8_lossy(&missing.stderr).contains("there is no queue no-such-queue"), "{missing:?}");
    kb.stop().await;
}
