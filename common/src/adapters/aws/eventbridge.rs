//! Publishing events on the custom EventBridge bus.

use crate::domain::events::{EVENT_SOURCE, EventEnvelope};
use crate::ports::{EventPublisher, PortError, PortResult};
use async_trait::async_trait;
use aws_sdk_eventbridge::Client;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;

/// `PutEvents` takes at most 10 entries a call.
const PUT_EVENTS_LIMIT: usize = 10;

pub struct EventBridgePublisher {
    client: Client,
    bus_name: String,
}

impl EventBridgePublisher {
    pub fn new(client: Client, bus_name: String) -> Self {
        Self { client, bus_name }
    }
}

#[async_trait]
impl EventPublisher for EventBridgePublisher {
    fn batch_limit(&self) -> usize {
        PUT_EVENTS_LIMIT
    }

    async fn publish(&self, events: &[EventEnvelope]) -> PortResult<Vec<Result<(), String>>> {
        let entries = events
            .iter()
            .map(|event| {
                let detail = serde_json::to_string(event).map_err(|error| PortError::Unavailable(error.to_string()))?;
                Ok(PutEventsRequestEntry::builder()
                    .event_bus_name(&self.bus_name)
                    .source(EVENT_SOURCE)
                    .detail_type(event.detail_type())
                    .detail(detail)
                    // EventBridge passes the trace on to the rules' targets.
                    .set_trace_header(event.trace_header.clone())
                    .time(aws_sdk_eventbridge::primitives::DateTime::from_millis(event.occurred_at.timestamp_millis()))
                    .build())
            })
            .collect::<PortResult<Vec<_>>>()?;
        let output = self.client.put_events().set_entries(Some(entries)).send().await.map_err(super::sdk_error)?;
        let results = output.entries.unwrap_or_default();
        if results.len() != events.len() {
            return Err(PortError::Unavailable(format!(
                "PutEvents answered {} of {} entries",
                results.len(),
                events.len()
            )));
        }
        Ok(results
            .into_iter()
            .map(|entry| match entry.error_code {
                None => Ok(()),
                Some(code) => Err(format!("{code}: {}", entry.error_message.unwrap_or_default())),
            })
            .collect())
    }
}
