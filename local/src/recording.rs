//! Lists what the server sent through SNS, so `GET /local/alerts` works with `--store aws`
//! too. Only what this process sent, kept in memory.

use crate::local_alerts::LocalAlert;
use kickboard_common::domain::alerts::Alert;
use kickboard_common::domain::ids::CustomerId;
use kickboard_common::ports::{AlertSender, Clock, Delivery, PortResult};
use std::sync::{Arc, Mutex};

pub struct RecordingSender {
    inner: Arc<dyn AlertSender>,
    clock: Arc<dyn Clock>,
    sent: Mutex<Vec<LocalAlert>>,
}

impl RecordingSender {
    pub fn new(inner: Arc<dyn AlertSender>, clock: Arc<dyn Clock>) -> Self {
        Self { inner, clock, sent: Mutex::new(Vec::new()) }
    }

    pub fn list(&self, customer: Option<&CustomerId>) -> Vec<LocalAlert> {
        let sent = self.sent.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        sent.iter()
            .filter(|alert| customer.is_none_or(|customer| alert.customer_id == customer.as_str()))
            .cloned()
            .collect()
    }
}

#[async_trait::async_trait]
impl AlertSender for RecordingSender {
    async fn send(&self, alert: &Alert) -> PortResult<Delivery> {
        let delivery = self.inner.send(alert).await?;
        if delivery != Delivery::Sent {
            return Ok(delivery);
        }
        let record = LocalAlert {
            event_id: alert.event_id.to_string(),
            customer_id: alert.customer_id.to_string(),
            channel: alert.channel,
            message: alert.message.clone(),
            sent_at: self.clock.now(),
        };
        self.sent.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).push(record);
        Ok(Delivery::Sent)
    }
}
