//! The event wiring AWS does between the state table and the subscribers, played in process
//! for an emulator such as moto, which runs no Lambdas: the table stream is read with the
//! Streams API and handed to `event-relay`'s handler, which puts the events on the bus; the
//! bus rules deliver to SQS queues standing in for the notifier and balance-view Lambdas,
//! whose handlers are called with what the queues hold.

use crate::App;
use crate::relay::deliver;
use aws_config::SdkConfig;
use aws_lambda_events::event::dynamodb::{Event as StreamBatch, EventRecord};
use aws_sdk_dynamodbstreams::types::ShardIteratorType;
use kickboard_common::adapters::aws::{EventBridgePublisher, sdk_error};
use kickboard_common::domain::events::Subscriber;
use kickboard_common::handlers::events::KickboardEvent;
use kickboard_common::handlers::relay::relay_stream;
use kickboard_common::ports::{PortError, PortResult};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Mutex, watch};

/// How often an idle pump looks again.
const IDLE_POLL: Duration = Duration::from_millis(100);
/// The pause after a pass that failed (the emulator may be down).
const RETRY_AFTER: Duration = Duration::from_millis(500);

/// The SQS queues the bus rules deliver to, one per subscriber.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventQueues {
    pub notifier: String,
    pub balance_view: String,
}

impl EventQueues {
    pub fn url(&self, subscriber: Subscriber) -> &str {
        match subscriber {
            Subscriber::Notifier => &self.notifier,
            Subscriber::BalanceView => &self.balance_view,
        }
    }
}

fn unavailable(error: impl std::fmt::Display) -> PortError {
    PortError::Unavailable(error.to_string())
}

/// A stream batch as Lambda would receive it, and the shard it came from.
pub struct ShardBatch {
    pub shard_id: String,
    pub batch: StreamBatch,
}

pub struct AwsEventPump {
    dynamo: aws_sdk_dynamodb::Client,
    state_table: String,
    streams: aws_sdk_dynamodbstreams::Client,
    sqs: aws_sdk_sqs::Client,
    stream_arn: String,
    queues: EventQueues,
    pub publisher: EventBridgePublisher,
    /// Where reading continues in each shard.
    iterators: Mutex<HashMap<String, String>>,
}

impl AwsEventPump {
    /// Finds the state table's stream; reading starts at its oldest record.
    pub async fn connect(config: &SdkConfig, state_table: &str, bus: &str, queues: EventQueues) -> PortResult<Self> {
        let dynamo = aws_sdk_dynamodb::Client::new(config);
        let table = dynamo.describe_table().table_name(state_table).send().await.map_err(sdk_error)?;
        let stream_arn = table
            .table
            .and_then(|table| table.latest_stream_arn)
            .ok_or_else(|| unavailable(format!("{state_table} has no stream")))?;
        Ok(Self {
            dynamo,
            state_table: state_table.to_owned(),
            streams: aws_sdk_dynamodbstreams::Client::new(config),
            sqs: aws_sdk_sqs::Client::new(config),
            stream_arn,
            queues,
            publisher: EventBridgePublisher::new(aws_sdk_eventbridge::Client::new(config), bus.to_owned()),
            iterators: Mutex::new(HashMap::new()),
        })
    }

    /// The records written since the last read, one Lambda-shaped batch per shard that has any.
    pub async fn read_stream(&self) -> PortResult<Vec<ShardBatch>> {
        let stream = self.streams.describe_stream().stream_arn(&self.stream_arn).send().await.map_err(sdk_error)?;
        let shards = stream.stream_description.and_then(|description| description.shards).unwrap_or_default();
        let mut iterators = self.iterators.lock().await;
        let mut batches = Vec::new();
        for shard_id in shards.into_iter().filter_map(|shard| shard.shard_id) {
            let iterator = match iterators.get(&shard_id) {
                Some(iterator) => iterator.clone(),
                None => self.shard_iterator(&shard_id, ShardIteratorType::TrimHorizon, None).await?,
            };
            let output = self.streams.get_records().shard_iterator(iterator).send().await.map_err(sdk_error)?;
            if let Some(next) = output.next_shard_iterator {
                iterators.insert(shard_id.clone(), next);
            }
            let mut records = Vec::new();
            for record in output.records.unwrap_or_default() {
                if self.still_stored(&record).await? {
                    records.push(lambda_record(record));
                }
            }
            if !records.is_empty() {
                let mut batch = StreamBatch::default();
                batch.records = records;
                batches.push(ShardBatch { shard_id, batch });
            }
        }
        Ok(batches)
    }

    /// moto differs from AWS here: a cancelled transaction still streams the inserts of its
    /// other items, then rolls the table back. AWS streams nothing for it, so an insert whose
    /// item is not in the table is dropped. (moto answers one request at a time in the tests,
    /// so the rollback is complete before this read.)
    async fn still_stored(&self, record: &aws_sdk_dynamodbstreams::types::Record) -> PortResult<bool> {
        let is_insert = record.event_name.as_ref().is_some_and(|name| name.as_str() == "INSERT");
        let Some(keys) = record.dynamodb.as_ref().and_then(|change| change.keys.clone()).filter(|_| is_insert) else {
            return Ok(true);
        };
        let key: serde_dynamo::Item = keys.into();
        let output = self
            .dynamo
            .get_item()
            .table_name(&self.state_table)
            .set_key(Some(key.into()))
            .consistent_read(true)
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(output.item.is_some())
    }

    async fn shard_iterator(
        &self,
        shard_id: &str,
        kind: ShardIteratorType,
        sequence_number: Option<String>,
    ) -> PortResult<String> {
        let output = self
            .streams
            .get_shard_iterator()
            .stream_arn(&self.stream_arn)
            .shard_id(shard_id)
            .shard_iterator_type(kind)
            .set_sequence_number(sequence_number)
            .send()
            .await
            .map_err(sdk_error)?;
        output.shard_iterator.ok_or_else(|| unavailable("no shard iterator"))
    }

    /// Runs `event-relay` on a batch. As Lambda does with reported failures, the shard is read
    /// again from the first record that failed.
    pub async fn relay(&self, shard: ShardBatch) -> PortResult<usize> {
        let response = relay_stream(&self.publisher, shard.batch).await;
        let first_failed =
            response.batch_item_failures.iter().filter_map(|failure| failure.item_identifier.clone()).min();
        if let Some(sequence_number) = &first_failed {
            let iterator = self.shard_iterator(
                &shard.shard_id,
                ShardIteratorType::AtSequenceNumber,
                Some(sequence_number.clone()),
            );
            let iterator = iterator.await?;
            self.iterators.lock().await.insert(shard.shard_id, iterator);
        }
        Ok(response.batch_item_failures.len())
    }

    /// Up to ten events from a subscriber's queue, each with the handle that acknowledges it.
    pub async fn receive(&self, subscriber: Subscriber) -> PortResult<Vec<(String, KickboardEvent)>> {
        let output = self
            .sqs
            .receive_message()
            .queue_url(self.queues.url(subscriber))
            .max_number_of_messages(10)
            .wait_time_seconds(0)
            .send()
            .await
            .map_err(sdk_error)?;
        output
            .messages
            .unwrap_or_default()
            .into_iter()
            .map(|message| {
                let body = message.body.unwrap_or_default();
                let event = serde_json::from_str(&body).map_err(unavailable)?;
                Ok((message.receipt_handle.unwrap_or_default(), event))
            })
            .collect()
    }

    /// Removes a delivered message from its queue.
    pub async fn acknowledge(&self, subscriber: Subscriber, receipt: String) -> PortResult<()> {
        self.sqs
            .delete_message()
            .queue_url(self.queues.url(subscriber))
            .receipt_handle(receipt)
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(())
    }

    /// One pass: the stream through the relay, then each queue to its subscriber. Returns
    /// whether there was anything to do.
    async fn pass(&self, app: &App) -> PortResult<bool> {
        let mut busy = false;
        for shard in self.read_stream().await? {
            busy = true;
            self.relay(shard).await?;
        }
        for subscriber in Subscriber::ALL {
            for (receipt, event) in self.receive(subscriber).await? {
                busy = true;
                // A failed delivery stays in the queue and comes back, as with a Lambda target.
                match deliver(app, subscriber, event).await {
                    Ok(()) => self.acknowledge(subscriber, receipt).await?,
                    Err(error) => tracing::warn!(subscriber = subscriber.name(), %error, "delivery failed"),
                }
            }
        }
        Ok(busy)
    }
}

/// A Streams API record in the shape Lambda hands to a stream-triggered function.
fn lambda_record(record: aws_sdk_dynamodbstreams::types::Record) -> EventRecord {
    let mut event = EventRecord::default();
    event.event_id = record.event_id.unwrap_or_default();
    event.event_name = record.event_name.map(|name| name.as_str().to_owned()).unwrap_or_default();
    event.event_source = record.event_source;
    event.aws_region = record.aws_region.unwrap_or_default();
    if let Some(change) = record.dynamodb {
        event.change.keys = serde_dynamo::Item::from(change.keys.unwrap_or_default());
        event.change.new_image = serde_dynamo::Item::from(change.new_image.unwrap_or_default());
        event.change.old_image = serde_dynamo::Item::from(change.old_image.unwrap_or_default());
        event.change.sequence_number = change.sequence_number;
        event.change.size_bytes = change.size_bytes.unwrap_or_default();
    }
    event
}

/// Pumps events until `shutdown` turns true, counting the passes that found nothing to do.
pub async fn run(
    pump: Arc<AwsEventPump>,
    app: Arc<App>,
    mut wake: watch::Receiver<u64>,
    mut shutdown: watch::Receiver<bool>,
) {
    while !*shutdown.borrow() {
        let pause = match pump.pass(&app).await {
            Ok(true) => continue,
            Ok(false) => {
                app.idle_passes.send_modify(|passes| *passes += 1);
                IDLE_POLL
            }
            Err(error) => {
                tracing::warn!(%error, "event pump pass failed; will retry");
                RETRY_AFTER
            }
        };
        tokio::select! {
            _ = wake.changed() => {}
            _ = shutdown.changed() => {}
            () = tokio::time::sleep(pause) => {}
        }
    }
}
