//! `event-relay`: publishes the outbox inserts of a DynamoDB stream batch on the event bus.
//! Entries that fail are reported back as batch item failures, so only they (and what follows
//! them in their shard) are delivered again.

use crate::adapters::aws::items::outbox_event;
use crate::domain::events::EventEnvelope;
use crate::metrics::{self, Metric};
use crate::ports::EventPublisher;
use aws_lambda_events::event::dynamodb::{Event as StreamBatch, EventRecord};
use aws_lambda_events::event::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};

fn failure(record: &EventRecord) -> DynamoDbBatchItemFailure {
    let mut failure = DynamoDbBatchItemFailure::default();
    failure.item_identifier = record.change.sequence_number.clone();
    failure
}

/// Publishes the batch's outbox events in stream order, in chunks the bus accepts.
pub async fn relay_stream(publisher: &dyn EventPublisher, batch: &StreamBatch) -> DynamoDbEventResponse {
    let pending: Vec<(&EventRecord, EventEnvelope)> =
        batch.records.iter().filter_map(|record| outbox_event(record).map(|event| (record, event))).collect();
    let mut response = DynamoDbEventResponse::default();
    for chunk in pending.chunks(publisher.batch_limit().max(1)) {
        let events: Vec<EventEnvelope> = chunk.iter().map(|(_, event)| event.clone()).collect();
        match publisher.publish(&events).await {
            Ok(results) => {
                for ((record, event), result) in chunk.iter().zip(results) {
                    match result {
                        Ok(()) => metrics::record(Metric::EventsRelayed, 1.0),
                        Err(error) => {
                            tracing::warn!(event_id = %event.event_id, %error, "event not published; will retry");
                            response.batch_item_failures.push(failure(record));
                        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::{PortError, PortResult};
    use async_trait::async_trait;
    use std::sync::Mutex;

    /// A bus that takes `limit` entries a call and refuses the listed event ids.
    struct FlakyBus {
        limit: usize,
        refuse: Vec<&'static str>,
        down: bool,
        calls: Mutex<Vec<Vec<String>>>,
    }

    impl FlakyBus {
        fn new(limit: usize, refuse: Vec<&'static str>) -> Self {
            Self { limit, refuse, down: false, calls: Mutex::new(Vec::new()) }
        }
    }

    #[async_trait]
    impl EventPublisher for FlakyBus {
        fn batch_limit(&self) -> usize {
            self.limit
        }

        async fn publish(&self, events: &[EventEnvelope]) -> PortResult<Vec<Result<(), String>>> {
            assert!(events.len() <= self.limit, "more entries than the bus takes");
            self.calls.lock().unwrap().push(events.iter().map(|event| event.event_id.to_string()).collect());
            if self.down {
                return Err(PortError::Unavailable("bus down".into()));
            }
            Ok(events
                .iter()
                .map(|event| match self.refuse.contains(&event.event_id.as_str()) {
                    true => Err("InternalFailure".to_owned()),
                    false => Ok(()),
                })
                .collect())
        }
    }

    fn sample_batch() -> StreamBatch {
        serde_json::from_str(include_str!("../../../events/event-relay.json")).expect("the sample is a stream batch")
    }

    fn failed(response: &DynamoDbEventResponse) -> Vec<String> {
        response.batch_item_failures.iter().map(|failure| failure.item_identifier.clone().unwrap()).collect()
    }

    #[tokio::test]
    async fn publishes_outbox_inserts_in_order_and_skips_other_records() {
        let bus = FlakyBus::new(10, vec![]);
        let response = relay_stream(&bus, &sample_batch()).await;
        assert!(response.batch_item_failures.is_empty());
        assert_eq!(*bus.calls.lock().unwrap(), [["e-0001", "e-0002", "e-0003"]]);
    }

    #[tokio::test]
    async fn reports_only_the_entries_the_bus_refused() {
        let bus = FlakyBus::new(2, vec!["e-0002"]);
        let response = relay_stream(&bus, &sample_batch()).await;
        assert_eq!(bus.calls.lock().unwrap().len(), 2, "three events in chunks of two");
        assert_eq!(failed(&response), ["000000000000000000300"], "the record of e-0002 only");
    }

    #[tokio::test]
    async fn reports_every_entry_of_a_call_that_failed() {
        let bus = FlakyBus { down: true, ..FlakyBus::new(10, vec![]) };
        let response = relay_stream(&bus, &sample_batch()).await;
        assert_eq!(failed(&response), ["000000000000000000200", "000000000000000000300", "000000000000000000500"]);
    }
}
