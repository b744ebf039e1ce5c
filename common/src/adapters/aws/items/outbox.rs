//! The outbox: an event written in the transaction of the change it tells of, published
//! from the state table's stream; and where the local event pump stands in that stream.

use super::{EVENT_SK, OUTBOX_KIND, attr, checkpoint_pk, event_pk};
use crate::domain::events::EventEnvelope;
use aws_lambda_events::event::dynamodb::EventRecord;
use chrono::Duration;
use serde::{Deserialize, Serialize};

/// How long relayed outbox items are kept.
const OUTBOX_TTL: Duration = Duration::days(7);

/// Where a stream consumer stands in one shard: the last sequence number it handed on.
/// Only the local event pump keeps one (on AWS the event source mapping does).
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StreamCheckpointItem {
    pub pk: String,
    pub sk: String,
    pub sequence_number: String,
}

impl StreamCheckpointItem {
    pub fn new(consumer: &str, shard_id: &str, sequence_number: &str) -> Self {
        Self { pk: checkpoint_pk(consumer), sk: shard_id.to_owned(), sequence_number: sequence_number.to_owned() }
    }
}

/// An outbox event. Its insert on the table stream is what `event-relay` publishes.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OutboxItem {
    pub pk: String,
    pub sk: String,
    pub kind: String,
    pub ttl: i64,
    pub event: EventEnvelope,
}

/// The outbox event a stream record inserted, if it inserted one.
pub fn outbox_event(record: &EventRecord) -> Option<EventEnvelope> {
    if record.event_name != "INSERT" {
        return None;
    }
    let image = record.change.new_image.clone();
    let is_outbox = matches!(image.get(attr::KIND), Some(serde_dynamo::AttributeValue::S(kind)) if kind == OUTBOX_KIND);
    if !is_outbox {
        return None;
    }
    match serde_dynamo::from_item::<_, OutboxItem>(image) {
        Ok(item) => Some(item.event),
        Err(error) => {
            // Not retried: the same bytes would fail again. The record stays in the stream's log.
            tracing::error!(%error, event_id = %record.event_id, "outbox insert with an unreadable event; skipped");
            None
        }
    }
}

impl From<&EventEnvelope> for OutboxItem {
    fn from(event: &EventEnvelope) -> Self {
        Self {
            pk: event_pk(&event.event_id),
            sk: EVENT_SK.to_owned(),
            kind: OUTBOX_KIND.to_owned(),
            ttl: (event.occurred_at + OUTBOX_TTL).timestamp(),
            event: event.clone(),
        }
    }
}
