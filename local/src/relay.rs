//! The local outbox relay: plays DynamoDB Streams + EventBridge for the embedded store.
//! One task per subscriber reads the outbox in order from its own durable cursor and hands
//! each event its rule matches, as an EventBridge event, to the subscriber's handler.

use crate::{App, Backend};
use kickboard_common::domain::events::{EVENT_SOURCE, EventEnvelope, Subscriber};
use kickboard_common::handlers::balance_view::{BalanceDeps, project_balance};
use kickboard_common::handlers::events::KickboardEvent;
use kickboard_common::handlers::mds::project_mds;
use kickboard_common::handlers::notifier::{NotifierDeps, notify};
use kickboard_common::ports::{Outbox, PortError, PortResult};
use kickboard_common::{invocation, trace};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

const BATCH: usize = 100;
/// How often an idle relay looks at the outbox even without a wake-up.
const IDLE_POLL: Duration = Duration::from_secs(1);
/// The pause before a failed delivery is tried again.
const RETRY_AFTER: Duration = Duration::from_millis(500);

/// Wraps an outbox event the way an EventBridge rule delivers it to a Lambda target.
pub fn to_eventbridge(envelope: &EventEnvelope) -> PortResult<KickboardEvent> {
    let event = serde_json::json!({
        "version": "0",
        "id": uuid::Uuid::new_v4().to_string(),
        "detail-type": envelope.detail_type(),
        "source": EVENT_SOURCE,
        "account": "000000000000",
        "time": envelope.occurred_at,
        "region": "local",
        "resources": [],
        "detail": envelope,
    });
    serde_json::from_value(event).map_err(|error| PortError::Unavailable(error.to_string()))
}

/// Hands one event to a subscriber's handler.
pub async fn deliver(app: &App, subscriber: Subscriber, event: KickboardEvent) -> PortResult<()> {
    // The consumer joins the trace of the request that wrote the event, as through EventBridge.
    let trace = event.detail.trace_header.clone();
    let work = invocation::running_as(subscriber.name(), deliver_in_trace(app, subscriber, event));
    trace::within(trace, work).await
}

async fn deliver_in_trace(app: &App, subscriber: Subscriber, event: KickboardEvent) -> PortResult<()> {
    match subscriber {
        Subscriber::Notifier => {
            let deps = NotifierDeps {
                ledger: app.ports.ledger.as_ref(),
                contacts: app.ports.contacts.as_ref(),
                rentals: app.ports.rentals.as_ref(),
                sender: app.ports.sender.as_ref(),
                clock: app.clock.as_ref(),
                crew_log: app.ports.crew_log.as_ref(),
                crew_topic: app.crew_topic.as_deref(),
            };
            notify(&deps, event).await
        }
        Subscriber::BalanceView => {
            let deps = BalanceDeps {
                view: app.ports.balances.as_ref(),
                days: app.ports.days.as_ref(),
                settings: &app.settings,
                clock: app.clock.as_ref(),
            };
            project_balance(&deps, event).await
        }
        Subscriber::MdsView => project_mds(app.ports.mds.as_ref(), &app.settings, app.clock.as_ref(), event).await,
    }
}

/// Delivers everything after the subscriber's cursor; returns how many entries it passed.
async fn relay_once(app: &App, subscriber: Subscriber) -> PortResult<usize> {
    let Backend::Sqlite { store, .. } = &app.backend else {
        return Err(PortError::Unavailable("the outbox relay runs on the SQLite store only".into()));
    };
    let cursor = store.cursor(subscriber.name()).await?;
    let entries = store.events_after(cursor, BATCH).await?;
    // The cursor moves once per batch, past what was delivered: a crash in between means a
    // redelivery, which the subscribers are built to absorb.
    let mut delivered = cursor;
    let mut outcome = Ok(entries.len());
    for entry in &entries {
        if subscriber.wants(&entry.event) {
            let delivery = async { deliver(app, subscriber, to_eventbridge(&entry.event)?).await };
            if let Err(error) = delivery.await {
                outcome = Err(error);
                break;
            }
        }
        delivered = entry.position;
    }
    if delivered > cursor {
        store.advance_cursor(subscriber.name(), delivered).await?;
    }
    if let Some(published) = app.relayed.get(&subscriber) {
        published.send_replace(delivered);
    }
    outcome
}

/// Runs one subscriber's relay until `shutdown` turns true.
pub async fn run(
    app: Arc<App>,
    subscriber: Subscriber,
    mut wake: watch::Receiver<u64>,
    mut shutdown: watch::Receiver<bool>,
) {
    while !*shutdown.borrow() {
        let pause = match relay_once(&app, subscriber).await {
            Ok(0) => IDLE_POLL,
            Ok(_) => continue,
            Err(error) => {
                tracing::warn!(subscriber = subscriber.name(), %error, "relay delivery failed; will retry");
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
