//! The notifier: alerts for each event to the crew and on the rider's channels, at most once
//! per (event, channel).

use super::events::{KickboardEvent, event_span, record_lag};
use crate::domain::alerts::{Alert, CrewAlert, OPERATORS, alert_text, alerts_for, crew_alert, sms_fallback};
use crate::domain::contact::{Channel, Locale, PushEndpoint};
use crate::domain::events::{DomainEvent, EventEnvelope};
use crate::domain::ids::CustomerId;
use crate::metrics::{self, Metric};
use crate::ports::{
    AlertClaim, AlertSender, ClaimOutcome, Clock, ContactStore, CrewLog, Delivery, NotificationLedger, PortError,
    PortResult, RentalStore,
};
use chrono::{DateTime, Utc};
use tracing::Instrument;

/// The notifier's dependencies.
pub struct NotifierDeps<'a> {
    pub ledger: &'a dyn NotificationLedger,
    pub contacts: &'a dyn ContactStore,
    /// Finds the rider of a board's event by its rental.
    pub rentals: &'a dyn RentalStore,
    pub sender: &'a dyn AlertSender,
    pub clock: &'a dyn Clock,
    /// Where crew alerts are kept for the operators' console, sent or not.
    pub crew_log: &'a dyn CrewLog,
    /// Where crew alerts go (the crew's SNS topic on AWS); `None`: not set up.
    pub crew_topic: Option<&'a str>,
}

/// How long a delivery holds its claim on an alert: longer than the notifier can run
/// (its timeout is 10 s), shorter than Lambda waits before retrying an event (a minute).
pub const ALERT_CLAIM_LEASE: chrono::Duration = chrono::Duration::seconds(30);

/// Tries this often to record an alert as sent: the alert is out, and a record lost here
/// is a duplicate SMS after the claim's lease.
const MARK_SENT_ATTEMPTS: u32 = 3;

/// Alerts the crew about a board that needs them, and the rider about their pass or ride on
/// each of their channels (an event may call for both), at most once per (event, channel): a
/// redelivery sends only what did not go out. With no contact on file the event is recorded as
/// not sent, with the reason.
pub async fn notify(deps: &NotifierDeps<'_>, event: KickboardEvent) -> PortResult<()> {
    let span = event_span(&event.detail);
    notify_event(deps, event.detail).instrument(span).await
}

async fn notify_event(deps: &NotifierDeps<'_>, envelope: EventEnvelope) -> PortResult<()> {
    let now = deps.clock.now();
    record_lag(&envelope, now);
    // The crew's alert, then the rider's: an event may call for both, each claimed on its own.
    let crew = match crew_alert(&envelope) {
        Some(crew_alert) => Some(alert_crew(deps, &envelope, crew_alert, now).await),
        None => None,
    };
    let rider = match alert_text(&envelope, Locale::default()) {
        Some(_) => alert_rider(deps, &envelope, now).await,
        None if crew.is_none() => {
            tracing::debug!(event_id = %envelope.event_id, detail_type = envelope.detail_type(), "nothing to alert");
            Ok(())
        }
        None => Ok(()),
    };
    crew.unwrap_or(Ok(())).and(rider)
}

/// Logs the crew's alert (first, so the console shows it even when no topic is set up or
/// sending fails), then sends it to the crew's topic.
async fn alert_crew(
    deps: &NotifierDeps<'_>,
    envelope: &EventEnvelope,
    crew_alert: CrewAlert,
    now: DateTime<Utc>,
) -> PortResult<()> {
    deps.crew_log.log_crew_alert(&crew_alert).await?;
    let crew = CustomerId::try_from(OPERATORS).map_err(|error| PortError::Unavailable(error.to_string()))?;
    let Some(topic) = deps.crew_topic else {
        tracing::warn!(event_id = %envelope.event_id, "crew alert not sent: no crew topic configured");
        metrics::record_by(Metric::AlertsNotSent, "no-crew-topic", 1.0);
        return deps.ledger.record_not_sent(&envelope.event_id, &crew, NO_CREW_TOPIC, now).await;
    };
    let alert = Alert {
        event_id: envelope.event_id.clone(),
        customer_id: crew.clone(),
        channel: Channel::Crew,
        destination: topic.to_owned(),
        message: crew_alert.text,
    };
    deliver(deps, envelope, &crew, vec![alert], None, now).await
}

/// The rider an event is about: its customer, or for a board's event the renter of the ride
/// it names.
async fn rider_of(deps: &NotifierDeps<'_>, envelope: &EventEnvelope) -> PortResult<Option<CustomerId>> {
    if let Some(customer) = &envelope.customer_id {
        return Ok(Some(customer.clone()));
    }
    match &envelope.event {
        DomainEvent::KickboardRodeIntoNoRidingZone { rental_id, .. } => {
            Ok(deps.rentals.find_rental(rental_id).await?.map(|rental| rental.customer_id))
        }
        _ => Ok(None),
    }
}

/// Alerts the rider on each of their channels; with no contact on file, records why not.
async fn alert_rider(deps: &NotifierDeps<'_>, envelope: &EventEnvelope, now: DateTime<Utc>) -> PortResult<()> {
    let Some(customer) = rider_of(deps, envelope).await? else {
        tracing::warn!(event_id = %envelope.event_id, "alert not sent: no rider to tell");
        return Ok(());
    };
    let Some(contact) = deps.contacts.find_contact(&customer).await? else {
        tracing::warn!(event_id = %envelope.event_id, %customer, "alert not sent: no contact on file");
        metrics::record_by(Metric::AlertsNotSent, "no-contact", 1.0);
        return deps.ledger.record_not_sent(&envelope.event_id, &customer, NO_CONTACT, now).await;
    };
    let text = alert_text(envelope, contact.locale).unwrap_or_default();
    let alerts = alerts_for(envelope, &customer, &contact, &text);
    let fallback =
        Fallback { sms: sms_fallback(envelope, &customer, &contact, &text), push_dead: contact.push_is_dead() };
    deliver(deps, envelope, &customer, alerts, Some(fallback), now).await
}

/// What a customer's push alert becomes when the endpoint is dead.
struct Fallback {
    sms: Alert,
    /// Already marked dead: not tried again until the app registers.
    push_dead: bool,
}

/// Sends each alert whose (event, channel) this delivery can claim. A failed send gives its
/// claim back and fails the delivery (after trying the other channels), so only that
/// channel is retried. A push to a dead endpoint is not retried: the contact's push is
/// marked dead and the alert goes as the fallback SMS, claimed like any SMS, so once.
async fn deliver(
    deps: &NotifierDeps<'_>,
    envelope: &EventEnvelope,
    customer: &CustomerId,
    mut alerts: Vec<Alert>,
    mut fallback: Option<Fallback>,
    now: DateTime<Utc>,
) -> PortResult<()> {
    let token = uuid::Uuid::new_v4().to_string();
    let mut failure = None;
    let mut next = 0;
    while let Some(alert) = alerts.get(next).cloned() {
        next += 1;
        let claim = AlertClaim {
            event_id: envelope.event_id.clone(),
            channel: alert.channel,
            customer: customer.clone(),
            token: token.clone(),
            now,
            lease_until: now + ALERT_CLAIM_LEASE,
        };
        let channel = alert.channel.name();
        match deps.ledger.claim(&claim).await? {
            ClaimOutcome::AlreadySent => {
                tracing::info!(event_id = %envelope.event_id, channel, "already sent; not sent again");
            }
            ClaimOutcome::InProgress => {
                tracing::info!(event_id = %envelope.event_id, channel, "another delivery is sending it");
                failure = Some(PortError::Transient(format!("{channel} alert of {} in progress", envelope.event_id)));
            }
            ClaimOutcome::Claimed => match send(deps, &alert, fallback.as_ref()).await {
                Ok(Delivery::Sent) => {
                    metrics::record_by(Metric::AlertsSent, channel, 1.0);
                    mark_sent(deps.ledger, &claim).await?
                }
                Ok(Delivery::EndpointDead(why)) => {
                    tracing::warn!(event_id = %envelope.event_id, %why, "push endpoint dead; alerting by SMS until the app registers again");
                    metrics::record_by(Metric::AlertsNotSent, PUSH_ENDPOINT_DEAD, 1.0);
                    let marked = match fallback.as_ref().is_some_and(|fallback| fallback.push_dead) {
                        true => Ok(true),
                        false => mark_push_dead(deps, customer, &alert, now).await,
                    };
                    deps.ledger.release(&claim).await?;
                    marked?;
                    let sms_already_listed = alerts.iter().any(|listed| listed.channel == Channel::Sms);
                    if let Some(fallback) = fallback.take().filter(|_| !sms_already_listed) {
                        alerts.push(fallback.sms);
                    }
                }
                Err(error) => {
                    tracing::warn!(event_id = %envelope.event_id, channel, %error, "alert not sent; will retry");
                    metrics::record_by(Metric::AlertsNotSent, "send-failed", 1.0);
                    deps.ledger.release(&claim).await?;
                    failure = Some(error);
                }
            },
        }
    }
    failure.map_or(Ok(()), Err)
}

/// Sends an alert, except a push to an endpoint already marked dead.
async fn send(deps: &NotifierDeps<'_>, alert: &Alert, fallback: Option<&Fallback>) -> PortResult<Delivery> {
    if alert.channel == Channel::Push && fallback.is_some_and(|fallback| fallback.push_dead) {
        return Ok(Delivery::EndpointDead("marked dead by an earlier alert".into()));
    }
    deps.sender.send(alert).await
}

async fn mark_push_dead(
    deps: &NotifierDeps<'_>,
    customer: &CustomerId,
    alert: &Alert,
    now: DateTime<Utc>,
) -> PortResult<bool> {
    let endpoint = PushEndpoint::try_from(alert.destination.clone())
        .map_err(|error| PortError::Unavailable(format!("push destination: {error}")))?;
    deps.contacts.mark_push_dead(customer, &endpoint, now).await
}

/// Why a push was not sent when its endpoint is disabled or gone (a metric's reason).
pub const PUSH_ENDPOINT_DEAD: &str = "push-endpoint-dead";

/// The reason recorded for a crew alert when no crew topic is configured.
pub const NO_CREW_TOPIC: &str = "no crew topic configured";

/// The reason recorded for an event whose customer gave no contact.
pub const NO_CONTACT: &str = "no contact on file";

async fn mark_sent(ledger: &dyn NotificationLedger, claim: &AlertClaim) -> PortResult<()> {
    let mut attempt = 1;
    loop {
        match ledger.mark_sent(claim).await {
            Err(PortError::Transient(detail)) if attempt < MARK_SENT_ATTEMPTS => {
                tracing::warn!(event_id = %claim.event_id, %detail, "recording a sent alert failed; trying again");
                attempt += 1;
            }
            other => return other,
        }
    }
}

#[cfg(all(test, feature = "sqlite"))]
mod tests {
    use super::*;
    use crate::adapters::sqlite::SqliteStore;
    use crate::domain::alerts::Alert;
    use crate::domain::contact::{CheckedContact, ContactForm};
    use crate::domain::events::DomainEvent;
    use crate::domain::ids::{CustomerId, KickboardId, PassId, RentalId};
    use crate::ports::SystemClock;
    use async_trait::async_trait;
    use std::sync::Mutex;

    /// Sends everything, except that the listed channels fail their next send.
    #[derive(Default)]
    struct FlakySender {
        failing: Mutex<Vec<Channel>>,
        sent: Mutex<Vec<Channel>>,
    }

    #[async_trait]
    impl AlertSender for FlakySender {
        async fn send(&self, alert: &Alert) -> PortResult<Delivery> {
            let mut failing = self.failing.lock().unwrap();
            if let Some(index) = failing.iter().position(|channel| *channel == alert.channel) {
                failing.remove(index);
                return Err(PortError::Transient("SNS throttled".into()));
            }
            self.sent.lock().unwrap().push(alert.channel);
            Ok(Delivery::Sent)
        }
    }

    fn rented(customer: &CustomerId) -> KickboardEvent {
        let pass_id = PassId::random();
        let event = DomainEvent::KickboardRented {
            rental_id: RentalId::for_pass(&pass_id),
            pass_id,
            kickboard_id: KickboardId::try_from("kb-1".to_owned()).unwrap(),
            started_at: chrono::Utc::now(),
            location: None,
        };
        let envelope = crate::domain::events::EventEnvelope::new(
            chrono::Utc::now(),
            "rental".into(),
            1,
            Some(customer.clone()),
            event,
        );
        let wrapped = serde_json::json!({
            "version": "0", "id": "1", "detail-type": envelope.detail_type(), "source": "kickboard",
            "account": "000000000000", "time": envelope.occurred_at, "region": "local", "resources": [],
            "detail": envelope,
        });
        serde_json::from_value(wrapped).unwrap()
    }

    #[tokio::test]
    async fn a_retry_after_a_failed_push_sends_only_the_push() {
        let store = SqliteStore::open_in_memory().unwrap();
        let customer = CustomerId::try_from("alice".to_owned()).unwrap();
        let form: ContactForm = serde_json::from_value(serde_json::json!({
            "phone": "+821012345678",
            "pushPlatform": "FCM",
            "pushToken": "device-1",
            "channels": ["sms", "push"],
        }))
        .unwrap();
        let endpoint = "arn:aws:sns:ap-northeast-2:123456789012:endpoint/GCM/kickboard/1".to_owned();
        let contact = CheckedContact::try_from(form).unwrap().with_endpoint(Some(endpoint.try_into().unwrap()));
        store.save_contact(&customer, &contact).await.unwrap();
        let sender = FlakySender { failing: Mutex::new(vec![Channel::Push]), ..FlakySender::default() };
        let deps = NotifierDeps {
            ledger: &store,
            contacts: &store,
            rentals: &store,
            sender: &sender,
            clock: &SystemClock,
            crew_log: &store,
            crew_topic: None,
        };
        let event = rented(&customer);

        assert!(notify(&deps, event.clone()).await.is_err(), "the failed push fails the delivery");
        assert_eq!(*sender.sent.lock().unwrap(), [Channel::Sms]);
        notify(&deps, event.clone()).await.unwrap();
        notify(&deps, event).await.unwrap();
        assert_eq!(*sender.sent.lock().unwrap(), [Channel::Sms, Channel::Push], "the SMS went out once");
    }
}
