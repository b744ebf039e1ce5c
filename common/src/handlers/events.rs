//! The event functions: the notifier (alerts) and the balance view projector. Delivery is
//! at least once and unordered, so both are idempotent.

use crate::domain::alerts::{alert_text, alerts_for};
use crate::domain::events::EventEnvelope;
use crate::ports::{
    AlertSender, BalanceRecord, BalanceView, Clock, ContactStore, NotificationLedger, NotificationOutcome, PortResult,
};
use aws_lambda_events::eventbridge::EventBridgeEvent;

/// What EventBridge hands the event functions.
pub type KickboardEvent = EventBridgeEvent<EventEnvelope>;

/// The notifier's dependencies.
pub struct NotifierDeps<'a> {
    pub ledger: &'a dyn NotificationLedger,
    pub contacts: &'a dyn ContactStore,
    pub sender: &'a dyn AlertSender,
    pub clock: &'a dyn Clock,
}

/// Alerts the customer about an event at most once per `event_id`. With no contact on file
/// the event is recorded as not sent, with the reason. A failed send gives the claim back
/// and fails, so the delivery is retried.
pub async fn notify(deps: &NotifierDeps<'_>, event: KickboardEvent) -> PortResult<()> {
    let envelope = event.detail;
    let (Some(text), Some(customer)) = (alert_text(&envelope), envelope.customer_id.as_ref()) else {
        tracing::debug!(event_id = %envelope.event_id, detail_type = envelope.detail_type(), "nothing to alert");
        return Ok(());
    };
    if !deps.ledger.claim(&envelope.event_id, customer, deps.clock.now()).await? {
        tracing::info!(event_id = %envelope.event_id, "duplicate delivery; alert already handled");
        return Ok(());
    }
    let outcome = match deps.contacts.find_contact(customer).await {
        Ok(Some(contact)) => {
            for alert in alerts_for(&envelope, customer, &contact, &text) {
                if let Err(error) = deps.sender.send(&alert).await {
                    deps.ledger.release(&envelope.event_id).await?;
                    return Err(error);
                }
            }
            NotificationOutcome::Sent
        }
        Ok(None) => {
            tracing::warn!(event_id = %envelope.event_id, %customer, "alert not sent: no contact on file");
            NotificationOutcome::NotSent { reason: "no contact on file".into() }
        }
        Err(error) => {
            deps.ledger.release(&envelope.event_id).await?;
            return Err(error);
        }
    };
    deps.ledger.record_outcome(&envelope.event_id, &outcome).await
}

/// Projects the balance an event carries, unless the view already has that version or newer.
pub async fn project_balance(view: &dyn BalanceView, event: KickboardEvent) -> PortResult<()> {
    let envelope = event.detail;
    let (Some(balance), Some(customer_id)) = (envelope.balance(), envelope.customer_id.clone()) else {
        return Ok(());
    };
    let record = BalanceRecord { customer_id, balance: balance.clone(), updated_at: envelope.occurred_at };
    let applied = view.apply_balance(&record).await?;
    tracing::debug!(event_id = %envelope.event_id, version = balance.version, applied, "balance projected");
    Ok(())
}
