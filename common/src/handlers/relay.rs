//! `event-relay`: publishes the outbox inserts of a DynamoDB stream batch on the event bus.
//! Entries that fail are reported back as batch item failures, so only they (and what follows
//! them in their shard) are delivered again.

use crate::domain::events::EventEnvelope;
use crate::ports::EventPublisher;
use aws_lambda_events::event::dynamodb::{Event as StreamBatch, EventRecord};
use aws_lambda_events::event::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use serde::Deserialize;

/// The part of an outbox item the relay needs.
#[derive(Deserialize)]
struct OutboxImage {
    kind: String,
    event: EventEnvelope,
}

const OUTBOX_KIND: &str = "outbox";

/// The outbox event a stream record inserted, if it is one.
fn outbox_event(record: &EventRecord) -> Option<EventEnvelope> {
    if record.event_name != "INSERT" {
        return None;
    }
    match serde_dynamo::from_item::<_, OutboxImage>(record.change.new_image.clone()) {
        Ok(image) if image.kind == OUTBOX_KIND => Some(image.event),
        Ok(_) => None,
        Err(error) => {
            tracing::warn!(%error, event_id = %record.event_id, "stream insert is not an outbox event; skipped");
            None
        }
    }
}

fn failure(record: &EventRecord) -> DynamoDbBatchItemFailure {
    let mut failure = DynamoDbBatchItemFailure::default();
    failure.item_identifier = record.change.sequence_number.clone();
    failure
}

/// Publishes the batch's outbox events in stream order, in chunks the bus accepts.
pub async fn relay_stream(publisher: &dyn EventPublisher, batch: StreamBatch) -> DynamoDbEventResponse {
    let pending: Vec<(&EventRecord, EventEnvelope)> =
        batch.records.iter().filter_map(|record| outbox_event(record).map(|event| (record, event))).collect();
    let mut response = DynamoDbEventResponse::default();
    for chunk in pending.chunks(publisher.batch_limit().max(1)) {
        let events: Vec<EventEnvelope> = chunk.iter().map(|(_, event)| event.clone()).collect();
        match publisher.publish(&events).await {
            Ok(results) => {
                for ((record, event), result) in chunk.iter().zip(results) {
                    if let Err(error) = result {
                        tracing::warn!(event_id = %event.event_id, %error, "event not published; will retry");
                        response.batch_item_failures.push(failure(record));
                    }
                }
            }
            Err(error) => {
                tracing::warn!(%error, entries = chunk.len(), "publishing failed; will retry");
                response.batch_item_failures.extend(chunk.iter().map(|(record, _)| failure(record)));
            }
        }
    }
    response
}
