//! The balance view: the balance each event carries, projected into the read model unless
//! the view already has that version or newer.

use super::events::{KickboardEvent, event_span, record_lag};
use crate::domain::events::EventEnvelope;
use crate::ports::{BalanceRecord, BalanceView, Clock, PortResult};
use tracing::Instrument;

/// Projects the balance an event carries, unless the view already has that version or newer.
pub async fn project_balance(view: &dyn BalanceView, clock: &dyn Clock, event: KickboardEvent) -> PortResult<()> {
    let span = event_span(&event.detail);
    project_event(view, clock, event.detail).instrument(span).await
}

async fn project_event(view: &dyn BalanceView, clock: &dyn Clock, envelope: EventEnvelope) -> PortResult<()> {
    record_lag(&envelope, clock.now());
    let (Some(balance), Some(customer_id)) = (envelope.balance(), envelope.customer_id.clone()) else {
        return Ok(());
    };
    let record = BalanceRecord { customer_id, balance: balance.clone(), updated_at: envelope.occurred_at };
    let applied = view.apply_balance(&record).await?;
    tracing::debug!(event_id = %envelope.event_id, version = balance.version, applied, "balance projected");
    Ok(())
}
