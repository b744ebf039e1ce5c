//! What the operators' console reads: the crew's log and the marks of counted events.

use super::{CAP_SK, COUNTED_SK, cap_mark_pk, counted_pk, crew_pk};
use crate::domain::alerts::CrewAlert;
use crate::domain::ids::EventId;
use crate::ports::{PortError, PortResult};
use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use serde::{Deserialize, Serialize};

/// How long the crew's log keeps an alert.
const CREW_ALERT_TTL: Duration = Duration::days(7);
/// How long past its day an event's mark that it was counted is kept: longer than any
/// redelivery.
const COUNTED_MARK_TTL: Duration = Duration::days(3);

/// A crew alert in the log: under its UTC day, sorted by when it occurred.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CrewAlertItem {
    pub pk: String,
    pub sk: String,
    pub item: String,
    pub ttl: i64,
}

impl CrewAlertItem {
    pub fn new(alert: &CrewAlert) -> PortResult<Self> {
        Ok(Self {
            pk: crew_pk(alert.occurred_at.date_naive()),
            sk: crew_sk(alert.occurred_at, &alert.alert_id),
            item: serde_json::to_string(alert).map_err(|error| PortError::Unavailable(error.to_string()))?,
            ttl: (alert.occurred_at + CREW_ALERT_TTL).timestamp(),
        })
    }
}

/// An alert's sort key: its time (fixed width, so text order is time order), then its id.
pub fn crew_sk(occurred_at: DateTime<Utc>, alert_id: &EventId) -> String {
    format!("{}#{alert_id}", crew_sk_bound(occurred_at))
}

/// The sort key below every alert at or after `at` and above every alert before it.
pub fn crew_sk_bound(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// The mark that an event was counted in its day: the transaction that adds its figures puts
/// it only where none is.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CountedItem {
    pub pk: String,
    pub sk: String,
    pub ttl: i64,
}

impl CountedItem {
    /// The mark of `event_id`, counted in `day`: kept a few days past it.
    pub fn new(event_id: &EventId, day: NaiveDate) -> Self {
        let expires = day.and_time(NaiveTime::MIN).and_utc() + COUNTED_MARK_TTL;
        Self { pk: counted_pk(event_id), sk: COUNTED_SK.to_owned(), ttl: expires.timestamp() }
    }
}

/// Whether the crew was told a city cap is over.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CapMarkItem {
    pub pk: String,
    pub sk: String,
    pub over: bool,
}

impl CapMarkItem {
    pub fn new(key: &str, over: bool) -> Self {
        Self { pk: cap_mark_pk(key), sk: CAP_SK.to_owned(), over }
    }
}
