//! What the event functions share: the event as EventBridge hands it, the span every line
//! about it is logged in, and how late it arrived. Delivery is at least once and unordered,
//! so every subscriber is idempotent: the notifier (`notifier.rs`) and the balance view
//! (`balance_view.rs`).

use crate::domain::events::EventEnvelope;
use crate::metrics::{self, Metric};
use aws_lambda_events::eventbridge::EventBridgeEvent;
use chrono::{DateTime, Utc};

/// What EventBridge hands the event functions.
pub type KickboardEvent = EventBridgeEvent<EventEnvelope>;

/// Every log line about an event names it, and the trace of the request that wrote it.
pub(super) fn event_span(envelope: &EventEnvelope) -> tracing::Span {
    tracing::info_span!(
        "event",
        event_id = %envelope.event_id,
        detail_type = envelope.detail_type(),
        trace = envelope.trace_header.as_deref().unwrap_or(""),
    )
}

/// How long the event took to get here, since it happened.
pub(super) fn record_lag(envelope: &EventEnvelope, now: DateTime<Utc>) {
    let lag = (now - envelope.occurred_at).num_milliseconds().max(0);
    metrics::record(Metric::EventLag, lag as f64);
}
