//! The balance view: the balance each event carries, projected into the read model unless
//! the view already has that version or newer; and the operators' day figures the event adds
//! to, each event counted once.

use super::events::{KickboardEvent, event_span, record_lag};
use crate::domain::events::EventEnvelope;
use crate::domain::operations::day_figures_of;
use crate::ports::{BalanceRecord, BalanceView, Clock, DayLedger, PortResult};
use crate::settings::Settings;
use tracing::Instrument;

/// The balance view's dependencies.
pub struct BalanceDeps<'a> {
    pub view: &'a dyn BalanceView,
    pub days: &'a dyn DayLedger,
    /// Whose calendar days the figures are counted by (`city_time_zone`).
    pub settings: &'a Settings,
    pub clock: &'a dyn Clock,
}

/// Projects the balance an event carries, unless the view already has that version or newer,
/// and counts the event in its day's figures unless it was counted.
pub async fn project_balance(deps: &BalanceDeps<'_>, event: KickboardEvent) -> PortResult<()> {
    let span = event_span(&event.detail);
    project_event(deps, event.detail).instrument(span).await
}

async fn project_event(deps: &BalanceDeps<'_>, envelope: EventEnvelope) -> PortResult<()> {
    record_lag(&envelope, deps.clock.now());
    // Counted first and on its own: an older event the balance skips still counts in its day.
    if let Some((day, figures)) = day_figures_of(&envelope, deps.settings.city_time_zone) {
        let counted = deps.days.count_day(&envelope.event_id, day, &figures).await?;
        tracing::debug!(event_id = %envelope.event_id, %day, counted, "day figures");
    }
    let (Some(balance), Some(customer_id)) = (envelope.balance(), envelope.customer_id.clone()) else {
        return Ok(());
    };
    let record = BalanceRecord { customer_id, balance: balance.clone(), updated_at: envelope.occurred_at };
    let applied = deps.view.apply_balance(&record).await?;
    tracing::debug!(event_id = %envelope.event_id, version = balance.version, applied, "balance projected");
    Ok(())
}
