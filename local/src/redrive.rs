//! Redrive: sends what a dead-letter or failure queue holds back onto the event bus, where
//! the rules deliver it to the same functions again. Every subscriber is idempotent (the
//! balance view keeps the newest version, the notifier's ledger sends each (event, channel)
//! once), so redriving twice, or redriving an event that also arrived another way, changes
//! nothing. A message is deleted only once its events are on the bus.
//!
//! The queues hold three shapes, all recognised from the message itself:
//! - a rule's dead-letter queue: the EventBridge event the rule could not deliver;
//! - a function's on-failure destination: Lambda's invocation record, the event under
//!   `requestPayload`;
//! - the stream's on-failure destination: only the batch's place in the stream
//!   (`DDBStreamBatchInfo`); the outbox items of that range are read again from the table.

use aws_config::SdkConfig;
use aws_sdk_dynamodbstreams::types::ShardIteratorType;
use kickboard_common::adapters::aws::items::OutboxItem;
use kickboard_common::adapters::aws::{EventBridgePublisher, Tables, sdk_error};
use kickboard_common::domain::events::EventEnvelope;
use kickboard_common::handlers::events::KickboardEvent;
use kickboard_common::ports::{EventPublisher, PortError};
use serde::Deserialize;

#[derive(Debug, thiserror::Error)]
pub enum RedriveError {
    #[error("there is no queue {0}")]
    NoSuchQueue(String),
    #[error("message {message_id} is not an event, an invocation record or a stream batch: {reason}")]
    Unreadable { message_id: String, reason: String },
    #[error("the stream no longer holds {shard_id} {start}..{end} (it keeps 24 hours)")]
    StreamRangeGone { shard_id: String, start: String, end: String },
    #[error("{moved} message(s) moved, then: {error}")]
    Stopped { moved: usize, error: PortError },
}

impl From<PortError> for RedriveError {
    fn from(error: PortError) -> Self {
        RedriveError::Stopped { moved: 0, error }
    }
}

impl RedriveError {
    /// The same failure, once `moved` messages had been moved.
    fn after(self, moved: usize) -> Self {
        match self {
            RedriveError::Stopped { error, .. } => RedriveError::Stopped { moved, error },
            other => other,
        }
    }
}

/// What one redrive did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Redriven {
    /// Messages taken off the queue (their events are on the bus).
    pub messages: usize,
    /// Events put on the bus.
    pub events: usize,
}

/// The part of a stream on-failure record that says which records failed.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct StreamBatchInfo {
    shard_id: String,
    start_sequence_number: String,
    end_sequence_number: String,
    stream_arn: String,
}

/// What a failure queue's message holds.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Parked {
    StreamBatch {
        #[serde(rename = "DDBStreamBatchInfo")]
        batch: StreamBatchInfo,
    },
    Invocation {
        #[serde(rename = "requestPayload")]
        event: Box<KickboardEvent>,
    },
    Event(Box<KickboardEvent>),
}

pub struct Redrive {
    sqs: aws_sdk_sqs::Client,
    streams: aws_sdk_dynamodbstreams::Client,
    dynamo: aws_sdk_dynamodb::Client,
    state_table: String,
    publisher: EventBridgePublisher,
}

impl Redrive {
    pub fn new(config: &SdkConfig, tables: &Tables, bus: &str) -> Self {
        Self {
            sqs: aws_sdk_sqs::Client::new(config),
            streams: aws_sdk_dynamodbstreams::Client::new(config),
            dynamo: aws_sdk_dynamodb::Client::new(config),
            state_table: tables.state.clone(),
            publisher: EventBridgePublisher::new(aws_sdk_eventbridge::Client::new(config), bus.to_owned()),
        }
    }

    /// A queue's URL from its URL or name.
    async fn queue_url(&self, queue: &str) -> Result<String, RedriveError> {
        if queue.starts_with("https://") || queue.starts_with("http://") {
            let exists = self.sqs.get_queue_attributes().queue_url(queue).send().await;
            return exists.map(|_| queue.to_owned()).map_err(|_| RedriveError::NoSuchQueue(queue.to_owned()));
        }
        let found = self.sqs.get_queue_url().queue_name(queue).send().await;
        found.ok().and_then(|output| output.queue_url).ok_or_else(|| RedriveError::NoSuchQueue(queue.to_owned()))
    }

    /// Moves everything `queue` (a URL or a name) holds back onto the bus.
    pub async fn queue(&self, queue: &str) -> Result<Redriven, RedriveError> {
        let url = self.queue_url(queue).await?;
        let mut done = Redriven { messages: 0, events: 0 };
        while self.move_some(&url, &mut done).await.map_err(|error| error.after(done.messages))? {}
        Ok(done)
    }

    /// Moves up to ten messages, counting them in `done`; `false` once the queue is empty.
    async fn move_some(&self, url: &str, done: &mut Redriven) -> Result<bool, RedriveError> {
        let received = self
            .sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .wait_time_seconds(0)
            .send()
            .await
            .map_err(sdk_error)?;
        let messages = received.messages.unwrap_or_default();
        for message in &messages {
            let message_id = message.message_id.clone().unwrap_or_default();
            let parked: Parked = serde_json::from_str(message.body.as_deref().unwrap_or_default())
                .map_err(|error| RedriveError::Unreadable { message_id, reason: error.to_string() })?;
            let events = self.events_of(parked).await?;
            self.publish(&events).await?;
            let receipt = message.receipt_handle.clone().unwrap_or_default();
            self.sqs.delete_message().queue_url(url).receipt_handle(receipt).send().await.map_err(sdk_error)?;
            done.messages += 1;
            done.events += events.len();
        }
        Ok(!messages.is_empty())
    }

    async fn events_of(&self, parked: Parked) -> Result<Vec<EventEnvelope>, RedriveError> {
        match parked {
            Parked::Event(event) | Parked::Invocation { event } => Ok(vec![event.detail]),
            Parked::StreamBatch { batch } => self.outbox_events_in(&batch).await,
        }
    }

    /// The outbox events a stream range inserted, read again from the table (an event whose
    /// item has expired is gone: the outbox keeps 7 days).
    async fn outbox_events_in(&self, batch: &StreamBatchInfo) -> Result<Vec<EventEnvelope>, RedriveError> {
        let gone = || RedriveError::StreamRangeGone {
            shard_id: batch.shard_id.clone(),
            start: batch.start_sequence_number.clone(),
            end: batch.end_sequence_number.clone(),
        };
        let iterator = self
            .streams
            .get_shard_iterator()
            .stream_arn(&batch.stream_arn)
            .shard_id(&batch.shard_id)
            .shard_iterator_type(ShardIteratorType::AtSequenceNumber)
            .sequence_number(&batch.start_sequence_number)
            .send()
            .await;
        let mut iterator = match iterator {
            Ok(output) => output.shard_iterator,
            Err(error) if error.as_service_error().is_some_and(|e| e.is_trimmed_data_access_exception()) => {
                return Err(gone());
            }
            Err(error) => return Err(sdk_error(error).into()),
        };
        let end = sequence_order(&batch.end_sequence_number);
        let mut keys = Vec::new();
        while let Some(current) = iterator {
            let output = self.streams.get_records().shard_iterator(current).send().await.map_err(sdk_error)?;
            let records = output.records.unwrap_or_default();
            if records.is_empty() {
                break;
            }
            let mut past_end = false;
            for record in records {
                let Some(change) = record.dynamodb else { continue };
                if change.sequence_number.as_deref().is_some_and(|sequence| sequence_order(sequence) > end) {
                    past_end = true;
                    break;
                }
                let inserted = record.event_name.is_some_and(|name| name.as_str() == "INSERT");
                let key: Option<serde_dynamo::Item> = change.keys.map(Into::into);
                if let (true, Some(key)) = (inserted, key) {
                    keys.push(key);
                }
            }
            if past_end {
                break;
            }
            iterator = output.next_shard_iterator;
        }
        let mut events = Vec::new();
        for key in keys {
            let output = self
                .dynamo
                .get_item()
                .table_name(&self.state_table)
                .set_key(Some(key.into()))
                .consistent_read(true)
                .send()
                .await
                .map_err(sdk_error)?;
            // Only outbox items are events; the range holds the state items written with them.
            if let Some(Ok(outbox)) = output.item.map(serde_dynamo::from_item::<_, OutboxItem>) {
                events.push(outbox.event);
            }
        }
        Ok(events)
    }

    /// Puts events on the bus, in chunks it takes; any entry refused fails the whole call, so
    /// the message stays in its queue for the next redrive.
    async fn publish(&self, events: &[EventEnvelope]) -> Result<(), PortError> {
        for chunk in events.chunks(self.publisher.batch_limit()) {
            let results = self.publisher.publish(chunk).await?;
            if let Some(Err(error)) = results.into_iter().find(Result::is_err) {
                return Err(PortError::Transient(format!("the bus refused an event: {error}")));
            }
        }
        Ok(())
    }
}

/// Stream sequence numbers are decimal strings of varying length: compared as numbers.
fn sequence_order(sequence: &str) -> (usize, &str) {
    (sequence.len(), sequence)
}
