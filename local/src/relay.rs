//! The local outbox relay: plays DynamoDB Streams + EventBridge for the embedded store.
//! One task per subscriber reads the outbox in order from its own durable cursor and hands
//! the events its rule matches, as EventBridge events, to the subscriber's handler. A batch's
//! customers are served side by side, each customer's events in commit order: every
//! subscriber takes events in any order (as EventBridge gives them; the redelivery tests
//! hand them newest first), but a rider reads alerts best in the order things happened.
//! Delivered one after another, each waiting for its own commit, events fell behind the
//! rides (BENCHMARKS.md, "relays behind").

use crate::{App, Backend};
use kickboard_common::domain::events::{EVENT_SOURCE, EventEnvelope, Subscriber};
use kickboard_common::handlers::balance_view::{BalanceDeps, project_balance};
use kickboard_common::handlers::events::KickboardEvent;
use kickboard_common::handlers::mds::project_mds;
use kickboard_common::handlers::notifier::{NotifierDeps, notify};
use kickboard_common::ports::{Outbox, PortError, PortResult};
use kickboard_common::{invocation, trace};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinSet;

/// Outbox entries one pass reads. Its customers' lanes run side by side, so the more a pass
/// holds, the more deliveries share a commit (BENCHMARKS.md, "Sustained").
const BATCH: usize = 500;
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

/// Which events are delivered one after another, in commit order: a customer's (so their
/// alerts arrive in the order things happened), else an aggregate's.
fn lane(event: &EventEnvelope) -> &str {
    event.customer_id.as_ref().map_or(event.aggregate_id.as_str(), |customer| customer.as_str())
}

/// Delivers everything after the subscriber's cursor; returns how many entries it passed.
async fn relay_once(app: &Arc<App>, subscriber: Subscriber) -> PortResult<usize> {
    let Backend::Sqlite { store, .. } = &app.backend else {
        return Err(PortError::Unavailable("the outbox relay runs on the SQLite store only".into()));
    };
    let cursor = store.cursor(subscriber.name()).await?;
    let entries = store.events_after(cursor, BATCH).await?;
    let mut lanes: HashMap<&str, Vec<(usize, &EventEnvelope)>> = HashMap::new();
    for (index, entry) in entries.iter().enumerate().filter(|(_, entry)| subscriber.wants(&entry.event)) {
        lanes.entry(lane(&entry.event)).or_default().push((index, &entry.event));
    }
    let mut deliveries = JoinSet::new();
    for events in lanes.into_values() {
        let events: Vec<(usize, KickboardEvent)> =
            events.into_iter().map(|(index, event)| Ok((index, to_eventbridge(event)?))).collect::<PortResult<_>>()?;
        let app = Arc::clone(app);
        deliveries.spawn(async move {
            for (index, event) in events {
                deliver(&app, subscriber, event).await.map_err(|error| (index, error))?;
            }
            Ok(())
        });
    }
    // The first entry not delivered: a lane stops at its first failure, so every entry before
    // the earliest one has been delivered.
    let mut undelivered: Option<(usize, PortError)> = None;
    while let Some(lane) = deliveries.join_next().await {
        let lane = lane.unwrap_or_else(|panicked| Err((0, PortError::Unavailable(panicked.to_string()))));
        if let Err((index, error)) = lane
            && undelivered.as_ref().is_none_or(|(earliest, _)| index < *earliest)
        {
            undelivered = Some((index, error));
        }
    }
    let passed = undelivered.as_ref().map_or(entries.len(), |(index, _)| *index);
    // The cursor moves once per batch, past what was delivered: what came after a failure,
    // and everything after a crash in between, is delivered again, which the subscribers are
    // built to absorb.
    let delivered = passed.checked_sub(1).map_or(cursor, |last| entries[last].position);
    if delivered > cursor {
        store.advance_cursor(subscriber.name(), delivered).await?;
    }
    if let Some(published) = app.relayed.get(&subscriber) {
        published.send_replace(delivered);
    }
    undelivered.map_or(Ok(entries.len()), |(_, error)| Err(error))
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
