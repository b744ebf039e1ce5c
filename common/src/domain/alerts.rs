//! What a customer is told about an event, and on which channels.

use super::contact::Contact;
use super::events::{DomainEvent, EventEnvelope};
use super::ids::{CustomerId, EventId};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    Sms,
    Push,
}

/// One message to one destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    pub event_id: EventId,
    pub customer_id: CustomerId,
    pub channel: Channel,
    /// The phone number or push endpoint ARN.
    pub destination: String,
    pub message: String,
}

fn minutes(count: u32) -> String {
    if count == 1 { "1 minute".to_owned() } else { format!("{count} minutes") }
}

/// The text for an event a customer is alerted about; `None` for events that alert no one.
pub fn alert_text(envelope: &EventEnvelope) -> Option<String> {
    let text = match &envelope.event {
        DomainEvent::PassPaid { balance, expires_at, .. } => format!(
            "[Kickboard] Your pass is active: {} minutes, valid until {}.",
            balance.minutes_left,
            expires_at.format("%Y-%m-%d %H:%M UTC")
        ),
        DomainEvent::KickboardRented { kickboard_id, started_at, .. } => {
            format!("[Kickboard] Kickboard {kickboard_id} rented at {}. Ride safe!", started_at.format("%H:%M UTC"))
        }
        DomainEvent::KickboardReturned { kickboard_id, minutes_billed, overage_minutes, balance, .. } => {
            let overage =
                if *overage_minutes > 0 { format!(" ({overage_minutes} over your pass)") } else { String::new() };
            format!(
                "[Kickboard] Kickboard {kickboard_id} returned: {} billed{overage}, {} left.",
                minutes(*minutes_billed),
                minutes(balance.minutes_left)
            )
        }
        _ => return None,
    };
    Some(text)
}

/// The alerts to send for an event to a customer's contact: SMS always, push when registered.
pub fn alerts_for(envelope: &EventEnvelope, customer_id: &CustomerId, contact: &Contact, text: &str) -> Vec<Alert> {
    let alert = |channel, destination: &str| Alert {
        event_id: envelope.event_id.clone(),
        customer_id: customer_id.clone(),
        channel,
        destination: destination.to_owned(),
        message: text.to_owned(),
    };
    let mut alerts = vec![alert(Channel::Sms, contact.phone.as_str())];
    if let Some(endpoint) = &contact.push_endpoint_arn {
        alerts.push(alert(Channel::Push, endpoint.as_str()));
    }
    alerts
}
