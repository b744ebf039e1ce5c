//! The local alert sender: records each SMS/push in the embedded database and logs one line,
//! where SNS would deliver it on AWS. A push goes only to an enabled endpoint of the local push
//! platform, as SNS's would. Its table belongs to the local server, not to the store.

use crate::local_push::{EndpointState, LocalPushPlatform};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use kickboard_common::adapters::sqlite::{SqliteStore, exec};
use kickboard_common::domain::alerts::Alert;
use kickboard_common::domain::contact::Channel;
use kickboard_common::domain::ids::CustomerId;
use kickboard_common::ports::{AlertSender, Clock, Delivery, PortError, PortResult};
use rusqlite::params;
use serde::Serialize;
use std::sync::Arc;

/// An alert as `GET /local/alerts` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LocalAlert {
    pub event_id: String,
    pub customer_id: String,
    pub channel: Channel,
    pub message: String,
    pub sent_at: DateTime<Utc>,
}

#[derive(Clone)]
pub struct LocalAlertSender {
    store: SqliteStore,
    push: LocalPushPlatform,
    clock: Arc<dyn Clock>,
}

/// What the local alert sender "sent" (SNS stands here on AWS).
const TABLE: &str = "CREATE TABLE IF NOT EXISTS local_alerts (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id    TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    channel     TEXT NOT NULL,
    destination TEXT NOT NULL,
    message     TEXT NOT NULL,
    sent_at     TEXT NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS local_alerts_by_customer ON local_alerts (customer_id);";

impl LocalAlertSender {
    /// The sender on `store`'s database, its table created if new.
    pub async fn open(store: SqliteStore, push: LocalPushPlatform, clock: Arc<dyn Clock>) -> PortResult<Self> {
        store
            .write(|conn| conn.execute_batch(TABLE).map_err(|error| PortError::Unavailable(error.to_string())))
            .await?;
        Ok(Self { store, push, clock })
    }

    /// Alerts sent, oldest first; only `customer`'s when given.
    pub async fn list(&self, customer: Option<&CustomerId>) -> PortResult<Vec<LocalAlert>> {
        let customer = customer.map(CustomerId::to_string);
        self.store
            .run(move |conn| {
                let rows: Vec<(String, String, String, String, String)> = conn
                    .prepare_cached(
                        "SELECT event_id, customer_id, channel, message, sent_at FROM local_alerts
                         WHERE ?1 IS NULL OR customer_id = ?1 ORDER BY id",
                    )?
                    .query_map([customer], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?)))?
                    .collect::<Result<_, _>>()?;
                rows.into_iter()
                    .map(|(event_id, customer_id, channel, message, sent_at)| {
                        let unreadable = |error: serde_json::Error| PortError::Unavailable(error.to_string());
                        Ok(LocalAlert {
                            event_id,
                            customer_id,
                            channel: serde_json::from_value(serde_json::Value::String(channel)).map_err(unreadable)?,
                            message,
                            sent_at: DateTime::parse_from_rfc3339(&sent_at)
                                .map_err(|error| PortError::Unavailable(error.to_string()))?
                                .with_timezone(&Utc),
                        })
                    })
                    .collect()
            })
            .await
    }
}

#[async_trait]
impl AlertSender for LocalAlertSender {
    async fn send(&self, alert: &Alert) -> PortResult<Delivery> {
        if alert.channel == Channel::Push {
            match self.push.state(&alert.destination).await? {
                EndpointState::Enabled => {}
                EndpointState::Disabled => return Ok(Delivery::EndpointDead("Endpoint is disabled".into())),
                EndpointState::Gone => return Ok(Delivery::EndpointDead("Endpoint does not exist".into())),
            }
        }
        let channel = alert.channel.name();
        let sent_at = self.clock.now();
        tracing::info!(event_id = %alert.event_id, customer_id = %alert.customer_id, channel, message = %alert.message, "alert sent");
        let alert = alert.clone();
        self.store
            .write(move |conn| {
                exec(
                    conn,
                    "INSERT INTO local_alerts (event_id, customer_id, channel, destination, message, sent_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![
                        alert.event_id.as_str(),
                        alert.customer_id.as_str(),
                        channel,
                        alert.destination,
                        alert.message,
                        sent_at.to_rfc3339()
                    ],
                )?;
                Ok(Delivery::Sent)
            })
            .await
    }
}
