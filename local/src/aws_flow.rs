//! The event wiring AWS does between the state table and the subscribers, played in process
//! for an emulator such as moto, which runs no Lambdas: the table stream is read with the
//! Streams API and handed to `event-relay`'s handler, which puts the events on the bus; the
//! bus rules deliver to SQS queues standing in for the subscribers' Lambdas,
//! whose handlers are called with what the queues hold.

use crate::App;
use crate::relay::deliver;
use aws_config::SdkConfig;
use aws_lambda_events::event::dynamodb::{Event as StreamBatch, EventRecord};
use aws_sdk_dynamodbstreams::error::SdkError;
use aws_sdk_dynamodbstreams::operation::get_shard_iterator::{GetShardIteratorError, GetShardIteratorOutput};
use aws_sdk_dynamodbstreams::types::ShardIteratorType;
use aws_sdk_sqs::types::QueueAttributeName;
use kickboard_common::adapters::aws::items::{StreamCheckpointItem, checkpoint_key};
use kickboard_common::adapters::aws::{EventBridgePublisher, Tables, sdk_error};
use kickboard_common::domain::events::Subscriber;
use kickboard_common::handlers::events::KickboardEvent;
use kickboard_common::handlers::relay::relay_stream;
use kickboard_common::invocation;
use kickboard_common::ports::{PortError, PortResult};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// How often an idle pump looks again.
const IDLE_POLL: Duration = Duration::from_millis(100);
/// The pause after a pass that failed (the emulator may be down).
const RETRY_AFTER: Duration = Duration::from_millis(500);
/// When a message whose delivery failed is handed out again.
const REDELIVERY_DELAY: Duration = Duration::from_secs(1);

/// The SQS queues the bus rules deliver to, one per subscriber.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventQueues {
    pub notifier: String,
    pub balance_view: String,
    pub mds_view: String,
}

impl EventQueues {
    pub fn url(&self, subscriber: Subscriber) -> &str {
        match subscriber {
            Subscriber::Notifier => &self.notifier,
            Subscriber::BalanceView => &self.balance_view,
            Subscriber::MdsView => &self.mds_view,
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

/// The name the pump's checkpoints are kept under: the function it feeds.
const CONSUMER: &str = "event-relay";

pub struct AwsEventPump {
    dynamo: aws_sdk_dynamodb::Client,
    /// Where the checkpoints are kept.
    view_table: String,
    streams: aws_sdk_dynamodbstreams::Client,
    sqs: aws_sdk_sqs::Client,
    stream_arn: String,
    queues: EventQueues,
    pub publisher: EventBridgePublisher,
}

impl AwsEventPump {
    /// Finds the state table's stream. Reading continues after each shard's checkpoint, or
    /// from the shard's oldest record when it has none.
    pub async fn connect(config: &SdkConfig, tables: &Tables, bus: &str, queues: EventQueues) -> PortResult<Self> {
        let dynamo = aws_sdk_dynamodb::Client::new(config);
        let table = dynamo.describe_table().table_name(&tables.state).send().await.map_err(sdk_error)?;
        let stream_arn = table
            .table
            .and_then(|table| table.latest_stream_arn)
            .ok_or_else(|| unavailable(format!("{} has no stream", tables.state)))?;
        Ok(Self {
            dynamo,
            view_table: tables.views.clone(),
            streams: aws_sdk_dynamodbstreams::Client::new(config),
            sqs: aws_sdk_sqs::Client::new(config),
            stream_arn,
            queues,
            publisher: EventBridgePublisher::new(aws_sdk_eventbridge::Client::new(config), bus.to_owned()),
        })
    }

    /// The records after each shard's checkpoint, one Lambda-shaped batch per shard that has
    /// any. As an event source mapping does, every read starts from the checkpoint with a
    /// fresh shard iterator: an iterator held across reads can be stranded (it expires after
    /// 15 minutes on AWS; moto orphans it when it rolls back a cancelled transaction).
    pub async fn read_stream(&self) -> PortResult<Vec<ShardBatch>> {
        let stream = self.streams.describe_stream().stream_arn(&self.stream_arn).send().await.map_err(sdk_error)?;
        let shards = stream.stream_description.and_then(|description| description.shards).unwrap_or_default();
        let mut batches = Vec::new();
        for shard_id in shards.into_iter().filter_map(|shard| shard.shard_id) {
            let iterator = self.iterator_after_checkpoint(&shard_id).await?;
            let output = self.streams.get_records().shard_iterator(iterator).send().await.map_err(sdk_error)?;
            let records: Vec<EventRecord> = output.records.unwrap_or_default().into_iter().map(lambda_record).collect();
            if !records.is_empty() {
                let mut batch = StreamBatch::default();
                batch.records = records;
                batches.push(ShardBatch { shard_id, batch });
            }
        }
        Ok(batches)
    }

    async fn iterator_after_checkpoint(&self, shard_id: &str) -> PortResult<String> {
        let iterator = match self.checkpoint(shard_id).await? {
            None => self.shard_iterator(shard_id, ShardIteratorType::TrimHorizon, None).await,
            Some(sequence_number) => {
                let after =
                    self.shard_iterator(shard_id, ShardIteratorType::AfterSequenceNumber, Some(sequence_number));
                match after.await {
                    Err(error) if error.as_service_error().is_some_and(|e| e.is_trimmed_data_access_exception()) => {
                        // The stream keeps 24 hours: what the checkpoint pointed past is gone.
                        tracing::error!(shard_id, "checkpoint older than the stream; reading from its oldest record");
                        self.shard_iterator(shard_id, ShardIteratorType::TrimHorizon, None).await
                    }
                    other => other,
                }
            }
        };
        iterator.map_err(sdk_error)?.shard_iterator.ok_or_else(|| unavailable("no shard iterator"))
    }

    async fn checkpoint(&self, shard_id: &str) -> PortResult<Option<String>> {
        let output = self
            .dynamo
            .get_item()
            .table_name(&self.view_table)
            .set_key(Some(checkpoint_key(CONSUMER, shard_id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(sdk_error)?;
        let item =
            output.item.map(serde_dynamo::from_item::<_, StreamCheckpointItem>).transpose().map_err(unavailable)?;
        Ok(item.map(|item| item.sequence_number))
    }

    async fn save_checkpoint(&self, shard_id: &str, sequence_number: &str) -> PortResult<()> {
        let item = serde_dynamo::to_item(StreamCheckpointItem::new(CONSUMER, shard_id, sequence_number))
            .map_err(unavailable)?;
        self.dynamo.put_item().table_name(&self.view_table).set_item(Some(item)).send().await.map_err(sdk_error)?;
        Ok(())
    }

    async fn shard_iterator(
        &self,
        shard_id: &str,
        kind: ShardIteratorType,
        sequence_number: Option<String>,
    ) -> Result<GetShardIteratorOutput, SdkError<GetShardIteratorError>> {
        self.streams
            .get_shard_iterator()
            .stream_arn(&self.stream_arn)
            .shard_id(shard_id)
            .shard_iterator_type(kind)
            .set_sequence_number(sequence_number)
            .send()
            .await
    }

    /// Runs `event-relay` on a batch and moves the shard's checkpoint past what was handed
    /// on: up to the record before the first reported failure, as Lambda does, so the next
    /// read starts there. Returns how many records failed.
    pub async fn relay(&self, shard: ShardBatch) -> PortResult<usize> {
        let response = invocation::running_as(CONSUMER, relay_stream(&self.publisher, &shard.batch)).await;
        let failed: Vec<&str> =
            response.batch_item_failures.iter().filter_map(|failure| failure.item_identifier.as_deref()).collect();
        let records = &shard.batch.records;
        let handed_on = records
            .iter()
            .position(|record| {
                record.change.sequence_number.as_deref().is_some_and(|sequence| failed.contains(&sequence))
            })
            .unwrap_or(records.len());
        let checkpoint = handed_on.checked_sub(1).and_then(|last| records[last].change.sequence_number.as_deref());
        if let Some(sequence_number) = checkpoint {
            self.save_checkpoint(&shard.shard_id, sequence_number).await?;
        }
        Ok(failed.len())
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

    /// Makes a message whose delivery failed visible again after [`REDELIVERY_DELAY`], as a
    /// Lambda target's retry would come back (after a minute there; sooner here).
    async fn redeliver_later(&self, subscriber: Subscriber, receipt: String) -> PortResult<()> {
        self.sqs
            .change_message_visibility()
            .queue_url(self.queues.url(subscriber))
            .receipt_handle(receipt)
            .visibility_timeout(REDELIVERY_DELAY.as_secs() as i32)
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(())
    }

    /// Messages in a subscriber's queue, waiting or in flight.
    async fn queued(&self, subscriber: Subscriber) -> PortResult<u64> {
        let output = self
            .sqs
            .get_queue_attributes()
            .queue_url(self.queues.url(subscriber))
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
            .send()
            .await
            .map_err(sdk_error)?;
        let attributes = output.attributes.unwrap_or_default();
        Ok(attributes.values().filter_map(|count| count.parse::<u64>().ok()).sum())
    }

    /// One pass: the stream through the relay, then each queue to its subscriber.
    async fn pass(&self, app: &App) -> PortResult<Activity> {
        let mut activity = Activity::Idle;
        for shard in self.read_stream().await? {
            activity = Activity::Worked;
            self.relay(shard).await?;
        }
        for subscriber in Subscriber::ALL {
            for (receipt, event) in self.receive(subscriber).await? {
                activity = Activity::Worked;
                // A failed delivery stays in the queue and comes back, as with a Lambda target.
                match deliver(app, subscriber, event).await {
                    Ok(()) => self.acknowledge(subscriber, receipt).await?,
                    Err(error) => {
                        tracing::warn!(subscriber = subscriber.name(), %error, "delivery failed; will retry");
                        self.redeliver_later(subscriber, receipt).await?;
                    }
                }
            }
            if activity == Activity::Idle && self.queued(subscriber).await? > 0 {
                activity = Activity::Waiting;
            }
        }
        Ok(activity)
    }
}

/// What a pass of the pump found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Activity {
    /// It relayed or delivered something.
    Worked,
    /// Nothing to do now, but messages wait for a retry.
    Waiting,
    Idle,
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
            Ok(Activity::Worked) => continue,
            Ok(Activity::Waiting) => IDLE_POLL,
            Ok(Activity::Idle) => {
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
