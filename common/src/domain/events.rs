//! Domain events and their envelope: what the outbox stores and EventBridge carries as `detail`.

use super::geo::Coordinates;
use super::ids::{CustomerId, EventId, KickboardId, PassId, PaymentId, RentalId, ZoneId};
use super::kickboard::{Model, ServiceStatus};
use super::licence::LicenceClass;
use super::mds_policy::CityDocumentKind;
use super::pass::PassBalance;
use super::plan::Won;
use super::track::RideTrack;
use super::vehicle::BatteryPct;
use super::zones::ZoneRules;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use uuid::Uuid;

/// The EventBridge `source` of every Kickboard event.
pub const EVENT_SOURCE: &str = "kickboard";

/// One domain event with what consumers need to de-duplicate and order it.
/// No contact details travel here: consumers look them up by `customer_id`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventEnvelope {
    pub event_id: EventId,
    pub occurred_at: DateTime<Utc>,
    /// The pass, rental or kickboard whose state the event records.
    pub aggregate_id: String,
    /// Monotonic per aggregate.
    pub version: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<CustomerId>,
    /// The X-Ray trace of the request that wrote the event, set as it goes into the outbox,
    /// so its consumers join that trace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace_header: Option<String>,
    #[serde(flatten)]
    pub event: DomainEvent,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "payload", rename_all_fields = "camelCase")]
pub enum DomainEvent {
    PassPurchased {
        balance: PassBalance,
    },
    PassPaid {
        balance: PassBalance,
        payment_id: PaymentId,
        expires_at: DateTime<Utc>,
        /// What was charged; `None` in events written before they said.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        price_won: Option<Won>,
    },
    KickboardRented {
        rental_id: RentalId,
        pass_id: PassId,
        kickboard_id: KickboardId,
        started_at: DateTime<Utc>,
        /// Where the board was; `None` in events written before they said.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        location: Option<Coordinates>,
    },
    KickboardReturned {
        rental_id: RentalId,
        pass_id: PassId,
        kickboard_id: KickboardId,
        started_at: DateTime<Utc>,
        ended_at: DateTime<Utc>,
        minutes_billed: u32,
        overage_minutes: u32,
        balance: PassBalance,
        /// Where the ride began and ended; `None` in events written before they said.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        start_location: Option<Coordinates>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        end_location: Option<Coordinates>,
        /// Metres ridden: the board's reported legs, and the last one to where it was left;
        /// `None` in events written before they said.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ridden_m: Option<u32>,
        /// Where the board went by its reports during the ride (the trip's telemetry); absent
        /// in events written before it was kept.
        #[serde(default, skip_serializing_if = "RideTrack::is_empty")]
        track: RideTrack,
    },
    KickboardRegistered {
        kickboard_id: KickboardId,
        model: Model,
        #[serde(flatten)]
        location: Coordinates,
    },
    KickboardRetired {
        kickboard_id: KickboardId,
        /// Where the board was; `None` in events written before they said.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        location: Option<Coordinates>,
    },
    /// An admin defined or redefined a zone.
    ZoneChanged {
        zone_id: ZoneId,
    },
    ZoneDeleted {
        zone_id: ZoneId,
    },
    /// An admin imported a city's MDS Geography or Policy: the rules in force may change.
    CityDocumentImported {
        kind: CityDocumentKind,
        id: Uuid,
    },
    GlobalRulesChanged {
        rules: ZoneRules,
    },
    /// A rent undone because its board never acknowledged the unlock: nothing was ridden.
    RentalUndone {
        rental_id: RentalId,
        pass_id: PassId,
        kickboard_id: KickboardId,
        /// Where the board was; `None` in events written before they said.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        location: Option<Coordinates>,
    },
    /// The crew took a board into maintenance or put it back in service.
    KickboardServiceChanged {
        kickboard_id: KickboardId,
        status: ServiceStatus,
        #[serde(flatten)]
        location: Coordinates,
    },
    /// A board never acknowledged its lock at the end of a ride: it went out of service, and
    /// the crew should lock it where it stands.
    KickboardLockUnconfirmed {
        kickboard_id: KickboardId,
        rental_id: RentalId,
        #[serde(flatten)]
        location: Coordinates,
    },
    /// A parked board moved by its own reports, far from where it was left: it may be stolen.
    KickboardMovedWhileParked {
        kickboard_id: KickboardId,
        distance_m: u32,
        #[serde(flatten)]
        location: Coordinates,
    },
    /// A rented board said nothing for ten minutes: stolen, broken down or out of coverage.
    KickboardSilentWhileRented {
        kickboard_id: KickboardId,
        rental_id: RentalId,
        /// Its last report, or its rent if it has not reported since.
        last_heard_at: DateTime<Utc>,
        /// Where it was last heard of.
        #[serde(flatten)]
        location: Coordinates,
    },
    /// A board missed its unlock at several rents in a row: the crew should look at it.
    KickboardNotResponding {
        kickboard_id: KickboardId,
        missed_unlocks: u32,
    },
    /// A rider's driving licence was verified: which class, nothing personal.
    LicenceVerified {
        licence_class: LicenceClass,
    },
    /// A rented board's report took it into a zone where riding is not allowed (a city's rule,
    /// or an operator's): the rider and the crew are told, once each time it enters.
    KickboardRodeIntoNoRidingZone {
        kickboard_id: KickboardId,
        rental_id: RentalId,
        /// The zone or the city's policy and rule, as a refusal names them.
        place: String,
        /// The city's message to the rider, per language tag.
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        messages: BTreeMap<String, String>,
        #[serde(flatten)]
        location: Coordinates,
    },
    /// More available boards than a city's cap allows are parked in its geography: the crew
    /// should move some (once each time the count goes over).
    FleetCapExceeded {
        policy_id: Uuid,
        rule_id: Uuid,
        rule_name: String,
        geography_id: Uuid,
        limit: u64,
        count: u64,
        /// The board parked there last, where the crew may start.
        kickboard_id: KickboardId,
        #[serde(flatten)]
        location: Coordinates,
    },
    /// A vehicle's battery went below the low mark: the crew should charge it.
    KickboardBatteryLow {
        kickboard_id: KickboardId,
        battery_pct: BatteryPct,
        #[serde(flatten)]
        location: Coordinates,
    },
}

impl EventEnvelope {
    pub fn new(
        occurred_at: DateTime<Utc>,
        aggregate_id: String,
        version: u64,
        customer_id: Option<CustomerId>,
        event: DomainEvent,
    ) -> Self {
        Self { event_id: EventId::random(), occurred_at, aggregate_id, version, customer_id, trace_header: None, event }
    }

    /// The event of something with no counter of its own (a zone, the global rules, a city's
    /// document or cap, a licence's verification), versioned by its time in milliseconds: a
    /// later one replaces an earlier.
    pub fn versioned_by_time(
        occurred_at: DateTime<Utc>,
        aggregate_id: String,
        customer_id: Option<CustomerId>,
        event: DomainEvent,
    ) -> Self {
        let version = u64::try_from(occurred_at.timestamp_millis()).unwrap_or_default();
        Self::new(occurred_at, aggregate_id, version, customer_id, event)
    }

    /// The event as written within the trace `header`.
    pub fn in_trace(&self, header: Option<String>) -> Self {
        Self { trace_header: header, ..self.clone() }
    }

    /// The EventBridge `detail-type`: the event's name.
    pub fn detail_type(&self) -> &'static str {
        match self.event {
            DomainEvent::PassPurchased { .. } => "PassPurchased",
            DomainEvent::PassPaid { .. } => "PassPaid",
            DomainEvent::KickboardRented { .. } => "KickboardRented",
            DomainEvent::KickboardReturned { .. } => "KickboardReturned",
            DomainEvent::KickboardRegistered { .. } => "KickboardRegistered",
            DomainEvent::KickboardRetired { .. } => "KickboardRetired",
            DomainEvent::KickboardServiceChanged { .. } => "KickboardServiceChanged",
            DomainEvent::KickboardBatteryLow { .. } => "KickboardBatteryLow",
            DomainEvent::RentalUndone { .. } => "RentalUndone",
            DomainEvent::KickboardNotResponding { .. } => "KickboardNotResponding",
            DomainEvent::KickboardLockUnconfirmed { .. } => "KickboardLockUnconfirmed",
            DomainEvent::KickboardMovedWhileParked { .. } => "KickboardMovedWhileParked",
            DomainEvent::KickboardSilentWhileRented { .. } => "KickboardSilentWhileRented",
            DomainEvent::KickboardRodeIntoNoRidingZone { .. } => "KickboardRodeIntoNoRidingZone",
            DomainEvent::FleetCapExceeded { .. } => "FleetCapExceeded",
            DomainEvent::ZoneChanged { .. } => "ZoneChanged",
            DomainEvent::ZoneDeleted { .. } => "ZoneDeleted",
            DomainEvent::CityDocumentImported { .. } => "CityDocumentImported",
            DomainEvent::GlobalRulesChanged { .. } => "GlobalRulesChanged",
            DomainEvent::LicenceVerified { .. } => "LicenceVerified",
        }
    }

    /// The pass balance this event leaves behind, if it changes one.
    pub fn balance(&self) -> Option<&PassBalance> {
        match &self.event {
            DomainEvent::PassPurchased { balance }
            | DomainEvent::PassPaid { balance, .. }
            | DomainEvent::KickboardReturned { balance, .. } => Some(balance),
            _ => None,
        }
    }
}

/// The functions events are routed to, and which detail types each one's rule matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Subscriber {
    Notifier,
    BalanceView,
    /// The cities' view (MDS): the events that change a vehicle's state.
    MdsView,
}

impl Subscriber {
    pub const ALL: [Subscriber; 3] = [Subscriber::Notifier, Subscriber::BalanceView, Subscriber::MdsView];

    pub fn name(&self) -> &'static str {
        match self {
            Subscriber::Notifier => "notifier",
            Subscriber::BalanceView => "balance-view",
            Subscriber::MdsView => "mds-view",
        }
    }

    /// The detail types this subscriber's rule routes to it.
    pub fn detail_types(&self) -> &'static [&'static str] {
        match self {
            Subscriber::Notifier => &[
                "PassPaid",
                "KickboardRented",
                "KickboardReturned",
                "KickboardBatteryLow",
                "KickboardNotResponding",
                "KickboardLockUnconfirmed",
                "KickboardMovedWhileParked",
                "KickboardSilentWhileRented",
                "KickboardRodeIntoNoRidingZone",
                "FleetCapExceeded",
                "LicenceVerified",
            ],
            Subscriber::BalanceView => &["PassPurchased", "PassPaid", "KickboardReturned"],
            Subscriber::MdsView => &[
                "KickboardRegistered",
                "KickboardRented",
                "KickboardReturned",
                "RentalUndone",
                "KickboardBatteryLow",
                "KickboardLockUnconfirmed",
                "KickboardSilentWhileRented",
                "KickboardServiceChanged",
                "KickboardRetired",
            ],
        }
    }

    pub fn wants(&self, event: &EventEnvelope) -> bool {
        self.detail_types().contains(&event.detail_type())
    }
}
