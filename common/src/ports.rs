//! The ports: what the handlers need from the outside world, one trait per concern,
//! each write a single atomic use case (never row CRUD).

use crate::domain::alerts::{Alert, CrewAlert};
use crate::domain::breaker::{BreakerState, WindowCounts};
use crate::domain::commands::{AckIgnored, AckMessage, SentCommand};
use crate::domain::contact::{Channel, Contact, PushEndpoint, PushPlatform, PushToken};
use crate::domain::error::RuleViolation;
use crate::domain::events::EventEnvelope;
use crate::domain::geo::{Area, Coordinates};
use crate::domain::ids::{CommandId, CustomerId, EventId, KickboardId, PassId, PaymentId, RentalId, ZoneId};
use crate::domain::kickboard::{Kickboard, ServiceStatus};
use crate::domain::licence::{CheckRefused, Licence, LicenceApplication, LicenceClass};
use crate::domain::mds::{MdsDevice, MdsEvent, MdsHour, MdsTelemetry, MdsTrip, MdsUpdate};
use crate::domain::mds_policy::CityDocument;
use crate::domain::mds_reports::{CityMonth, ReportedTrip};
use crate::domain::operations::DayFigures;
use crate::domain::pass::{Pass, PassBalance};
use crate::domain::plan::Won;
use crate::domain::rental::{Rental, ReturnReport};
use crate::domain::vehicle::{BatteryRules, Telemetry};
use crate::domain::zones::{Zone, ZoneMap, ZoneRules, ZoneSet};
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use std::sync::Arc;
use uuid::Uuid;

/// Why a port call failed.
#[derive(Debug, thiserror::Error)]
pub enum PortError {
    #[error(transparent)]
    Rule(#[from] RuleViolation),
    /// The backing service could not answer now (throttled, timed out, a 5xx, a transaction
    /// in conflict) and nothing was written: trying again later can succeed. The detail is
    /// for logs only.
    #[error("backend busy: {0}")]
    Transient(String),
    /// The backing service failed in a way a retry will not mend; the detail is for logs
    /// only, never for a response.
    #[error("backend unavailable: {0}")]
    Unavailable(String),
}

pub type PortResult<T> = Result<T, PortError>;

/// Time, injected so tests decide what "now" is.
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

/// The wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// How long an answer is given again to retries of its request; after that the key is
/// free, and the expiry is checked on every read (stores delete expired answers lazily).
pub const ANSWER_KEPT: chrono::Duration = chrono::Duration::hours(24);

/// The answer to a request that carried an `Idempotency-Key`, stored in the same
/// transaction as the write it guards, to be given again to a retry.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IdempotentAnswer {
    /// `<customer>/<function>/<key>`: a key means something for one caller and route only.
    pub scope: String,
    /// The request body in canonical JSON, to tell a retry from a reused key.
    pub request: String,
    pub status: u16,
    pub body: String,
    pub created_at: DateTime<Utc>,
    /// The claim this answer completes: the write stores it only over that claim.
    #[serde(default, skip_serializing)]
    pub token: String,
}

impl IdempotentAnswer {
    /// Whether the answer is still given again at `now`.
    pub fn is_kept_at(&self, now: DateTime<Utc>) -> bool {
        now < self.created_at + ANSWER_KEPT
    }
}

/// A request taking its key before doing any work: it holds the key, as in progress, until
/// `until` (the longest the function can run), so a concurrent retry is told to wait instead
/// of doing the work twice, and a function that died does not block the key for longer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyClaim {
    pub scope: String,
    pub request: String,
    /// Unique per request; the guarded write stores its answer only over this claim.
    pub token: String,
    pub now: DateTime<Utc>,
    pub until: DateTime<Utc>,
}

/// What claiming a key found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyClaimed {
    /// The key is this request's: do the work.
    Claimed,
    /// Answered before, and the answer is still kept.
    Answered(IdempotentAnswer),
    /// Another request holds it until then.
    InProgress { until: DateTime<Utc> },
}

/// Renders the answer a guarded write stores from the record the write decided on: the
/// domain decides once, in the adapter's transaction, and the answer is made from that.
pub struct Answering<T>(Arc<dyn Fn(&T) -> IdempotentAnswer + Send + Sync>);

impl<T> Answering<T> {
    pub fn new(render: impl Fn(&T) -> IdempotentAnswer + Send + Sync + 'static) -> Self {
        Self(Arc::new(render))
    }

    pub fn answer_for(&self, decided: &T) -> IdempotentAnswer {
        (self.0)(decided)
    }
}

impl<T> Clone for Answering<T> {
    fn clone(&self) -> Self {
        Self(Arc::clone(&self.0))
    }
}

impl<T> std::fmt::Debug for Answering<T> {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("Answering(…)")
    }
}

/// Where `Idempotency-Key`s are claimed and their answers looked up (the answers are written
/// by the guarded writes themselves, over the claim).
#[async_trait]
pub trait IdempotencyStore: Send + Sync {
    /// Claims the key: free, expired (an old answer, or a claim past its `until`), or already
    /// this request's.
    async fn claim_key(&self, claim: &KeyClaim) -> PortResult<KeyClaimed>;
    /// Gives the key back after the work failed without writing, so a retry can do it.
    async fn release_key(&self, claim: &KeyClaim) -> PortResult<()>;
    /// The answer stored under `scope`, if any and still kept at `now`.
    async fn find_answer(&self, scope: &str, now: DateTime<Utc>) -> PortResult<Option<IdempotentAnswer>>;
}

/// Passes: buying and paying.
#[async_trait]
pub trait PassStore: Send + Sync {
    /// Stores a new pass and its `PassPurchased` event atomically, with the answer to
    /// replay when the request carried an idempotency key.
    async fn record_purchase(
        &self,
        pass: &Pass,
        event: &EventEnvelope,
        answer: Option<&IdempotentAnswer>,
    ) -> PortResult<()>;
    async fn find_pass(&self, pass_id: &PassId) -> PortResult<Option<Pass>>;
    /// Marks a pending pass paid and writes `PassPaid`, atomically, with the answer `answer`
    /// renders from the paid pass. `pass` is the record the caller read; if it changed since,
    /// the rules are applied to the stored one (so a pass paid meanwhile is refused as already
    /// paid).
    async fn activate_pass(
        &self,
        pass: &Pass,
        payment_id: PaymentId,
        now: DateTime<Utc>,
        answer: Option<&Answering<Pass>>,
    ) -> PortResult<Pass>;
}

/// What a rent asks for.
#[derive(Debug, Clone)]
pub struct RentRequest {
    pub customer: CustomerId,
    pub pass_id: PassId,
    pub kickboard_id: KickboardId,
    pub rental_id: RentalId,
    pub now: DateTime<Utc>,
    /// Renders the answer stored with the rental when the request carried an idempotency key.
    pub answer: Option<Answering<Rental>>,
    pub rules: BatteryRules,
    /// Where rides may start.
    pub zones: Arc<ZoneMap>,
    /// The oldest licence verification the rent accepts (`LicencePolicy::fresh_since`); `None`
    /// where no licence is required. Checked in the rent's own write.
    pub licence_since: Option<DateTime<Utc>>,
}

/// What a return asks for.
#[derive(Debug, Clone)]
pub struct ReturnRequest {
    pub customer: CustomerId,
    pub rental_id: RentalId,
    pub report: ReturnReport,
    pub rules: BatteryRules,
    /// Where rides may end.
    pub zones: Arc<ZoneMap>,
    pub now: DateTime<Utc>,
}

/// Where a rental stands in its customer's history: its start (at a fixed width, so the
/// text sorts as the time does) and its id. Both stores key the history by it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct RentalPosition(String);

/// The start's format in a position: always nine decimals, so positions sort as times do.
const POSITION_TIME: &str = "%Y-%m-%dT%H:%M:%S%.9fZ";

impl RentalPosition {
    pub fn of(rental: &Rental) -> Self {
        Self(format!("{}#{}", rental.started_at.format(POSITION_TIME), rental.rental_id))
    }

    /// A position as [`Self::as_str`] wrote it; `None` for any other text.
    pub fn parse(text: &str) -> Option<Self> {
        let (started_at, rental_id) = text.split_once('#')?;
        let parsed = DateTime::parse_from_rfc3339(started_at).ok()?.with_timezone(&Utc);
        let rental_id = RentalId::try_from(rental_id.to_owned()).ok()?;
        let position = Self(format!("{}#{rental_id}", parsed.format(POSITION_TIME)));
        (position.0 == text).then_some(position)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A page of a customer's rentals, newest first, and where the next page starts.
#[derive(Debug, Clone, PartialEq)]
pub struct RentalPage {
    pub rentals: Vec<Rental>,
    /// The last rental's position when more may follow.
    pub next: Option<RentalPosition>,
}

impl RentalPage {
    /// The page of at most `limit` from a read that asked for one more: whether it found the
    /// extra one, or stopped short of the end (`cut_short`), says whether another page follows.
    pub fn of_read(mut rentals: Vec<Rental>, limit: usize, cut_short: bool) -> Self {
        let more = rentals.len() > limit || cut_short;
        rentals.truncate(limit);
        let next = more.then(|| rentals.last().map(RentalPosition::of)).flatten();
        Self { rentals, next }
    }
}

/// Rentals: each call is one transaction over pass, board, rental and outbox.
#[async_trait]
pub trait RentalStore: Send + Sync {
    async fn start_rental(&self, request: RentRequest) -> PortResult<Rental>;
    async fn finish_rental(&self, request: ReturnRequest) -> PortResult<Rental>;
    async fn find_rental(&self, rental_id: &RentalId) -> PortResult<Option<Rental>>;
    /// `customer`'s rentals newest first, at most `limit`, those older than `after` when given.
    async fn rentals_of(
        &self,
        customer: &CustomerId,
        after: Option<&RentalPosition>,
        limit: usize,
    ) -> PortResult<RentalPage>;
}

/// The fleet: admins register and retire boards; customers look for available ones.
#[async_trait]
pub trait FleetStore: Send + Sync {
    /// Stores a new board and its event atomically; refuses a taken id.
    async fn register_kickboard(&self, board: &Kickboard, event: &EventEnvelope) -> PortResult<()>;
    /// Retires an available board or one in maintenance and writes its event atomically.
    async fn retire_kickboard(&self, kickboard_id: &KickboardId, now: DateTime<Utc>) -> PortResult<Kickboard>;
    /// Boards customers can rent (available and charged as `rules` ask), in `area` when
    /// given (nearest first), at most `limit`.
    async fn available_kickboards(
        &self,
        area: Option<Area>,
        rules: &BatteryRules,
        limit: usize,
    ) -> PortResult<Vec<Kickboard>>;
    /// Takes a vehicle's report, with the low-battery event when it crossed the mark, in one
    /// atomic write; a stale report changes nothing.
    async fn report_telemetry(
        &self,
        kickboard_id: &KickboardId,
        telemetry: &Telemetry,
        rules: &BatteryRules,
        zones: &Arc<ZoneMap>,
    ) -> PortResult<ReportOutcome>;
    /// Puts a board in or out of service.
    async fn set_service(
        &self,
        kickboard_id: &KickboardId,
        target: ServiceStatus,
        now: DateTime<Utc>,
    ) -> PortResult<Kickboard>;
    /// Every board parked where the public can see it: available or in maintenance, never
    /// rented or retired (the public feed's fleet).
    async fn parked_kickboards(&self) -> PortResult<Vec<Kickboard>>;
    /// One board, retired ones included.
    async fn find_kickboard(&self, kickboard_id: &KickboardId) -> PortResult<Option<Kickboard>>;
}

/// What a vehicle's report left stored.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportOutcome {
    pub board: Kickboard,
    /// `false` when the report was older than the stored one and changed nothing.
    pub applied: bool,
    /// Where the board stood before this report.
    pub previous_location: Coordinates,
}

/// The writes of rides on boards that must acknowledge their commands (unlock at the start,
/// lock at the end): a deployment that sends commands to its vehicles provides them.
#[async_trait]
pub trait CommandedRides: Send + Sync {
    /// Takes the pass and the board as `start_rental` does, in one atomic write, but the ride
    /// has not begun: no event and no stored answer yet (`request.answer` is not used). The
    /// rental is held until `held_until` at most (`Rental::held_until`).
    async fn hold_rental(&self, request: RentRequest, held_until: DateTime<Utc>) -> PortResult<Rental>;
    /// The board acknowledged its unlock `at`: the ride begins, with its `KickboardRented`
    /// event and the request's answer written in the same write, and the board's missed
    /// unlocks are forgotten.
    async fn confirm_unlock(
        &self,
        rental_id: &RentalId,
        at: DateTime<Utc>,
        answer: Option<Answering<Rental>>,
    ) -> PortResult<Rental>;
    /// The board never acknowledged: the rental is gone, the board available again, the pass
    /// free with its minutes untouched, and `RentalUndone` (and `KickboardNotResponding` when
    /// this miss tells the crew) written, all in one atomic write.
    ///
    /// Both this and `confirm_unlock` answer `RuleViolation::HoldReleased`, writing nothing,
    /// when the rental no longer waits for its unlock: a rent that outlived its hold found it
    /// undone by another request (`undo_dead_hold`).
    async fn undo_rental(&self, rental_id: &RentalId, now: DateTime<Utc>) -> PortResult<()>;
    /// The board never acknowledged its lock after `rental_id`: out of service with the
    /// reason, and `KickboardLockUnconfirmed` written with it, unless it is no longer parked
    /// where the ride left it.
    async fn lock_unconfirmed(
        &self,
        kickboard_id: &KickboardId,
        rental_id: &RentalId,
        now: DateTime<Utc>,
    ) -> PortResult<()>;
}

/// The watch over rides: which boards are ridden, and the crew's alert for one gone silent.
#[async_trait]
pub trait RideWatch: Send + Sync {
    /// Every board being ridden.
    async fn rented_kickboards(&self) -> PortResult<Vec<Kickboard>>;
    /// Tells the crew, once per silence, that a rented board said nothing for too long
    /// (`Kickboard::silent_while_rented`): the board marked and its event, in one write.
    /// `false` when the board is not silent (any more), or the crew was told already.
    async fn alert_silent_ride(&self, kickboard_id: &KickboardId, now: DateTime<Utc>) -> PortResult<bool>;
}

/// Commands sent to vehicles and what became of them: written when sent, settled by the
/// vehicle's acknowledgement, read by whoever waits for it and by admins.
#[async_trait]
pub trait CommandStore: Send + Sync {
    /// Records a command about to be sent.
    async fn record_command(&self, command: &SentCommand) -> PortResult<()>;
    /// Settles the command `ack` names with it, as one conditional write: an acknowledgement
    /// that is late, foreign, for a settled or an unknown command changes nothing and says
    /// why (`Ok(Err(_))`).
    async fn acknowledge(
        &self,
        from: &KickboardId,
        ack: &AckMessage,
        now: DateTime<Utc>,
    ) -> PortResult<Result<SentCommand, AckIgnored>>;
    async fn find_command(&self, kickboard_id: &KickboardId, command_id: &CommandId)
    -> PortResult<Option<SentCommand>>;
}

/// The way to the vehicles: MQTT, through AWS IoT Core or the local broker.
#[async_trait]
pub trait VehicleLink: Send + Sync {
    /// Publishes `command` to its board.
    async fn publish(&self, command: &SentCommand) -> PortResult<()>;
    /// Waits until `command` is settled or its deadline passes, and reads it then.
    async fn settled(&self, command: &SentCommand) -> PortResult<SentCommand>;
}

/// The zones and the global rules: written by admins, read (through a cache) by every rent
/// and return.
#[async_trait]
pub trait ZoneStore: Send + Sync {
    /// Creates or replaces a zone, with its event, atomically.
    async fn save_zone(&self, zone: &Zone, event: &EventEnvelope) -> PortResult<()>;
    /// Removes a zone, with its event, atomically; refuses an unknown one.
    async fn delete_zone(&self, zone_id: &ZoneId, event: &EventEnvelope) -> PortResult<()>;
    async fn save_global_rules(&self, rules: &ZoneRules, event: &EventEnvelope) -> PortResult<()>;
    /// Added to by every write above, so a cache can tell it is stale by reading one number.
    /// Keeps a city's MDS document and its event, adding to the zones' version, unless the same
    /// document is kept already (`false`: nothing written). Another document under its id is
    /// refused (`CityDocumentPublished`): a city publishes a new one naming the old instead.
    async fn import_city_document(&self, document: &CityDocument, event: &EventEnvelope) -> PortResult<bool>;
    async fn zones_version(&self) -> PortResult<u64>;
    /// Every zone and the global rules, read together at one version.
    async fn zone_set(&self) -> PortResult<ZoneSet>;
}

/// Customers' contact details, where alerts go.
#[async_trait]
pub trait ContactStore: Send + Sync {
    async fn save_contact(&self, customer: &CustomerId, contact: &Contact) -> PortResult<()>;
    async fn find_contact(&self, customer: &CustomerId) -> PortResult<Option<Contact>>;
    /// Records, in one conditional write, that `endpoint` takes no more pushes, if it is
    /// still the customer's endpoint; `false` when the app registered another meanwhile.
    async fn mark_push_dead(
        &self,
        customer: &CustomerId,
        endpoint: &PushEndpoint,
        at: DateTime<Utc>,
    ) -> PortResult<bool>;
}

/// Where push endpoints are made: in the service's own platform applications (SNS on AWS),
/// so alerts can only ever reach devices that registered with the app.
#[async_trait]
pub trait PushRegistry: Send + Sync {
    /// Whether the service has a platform application for `platform`.
    fn offers(&self, platform: PushPlatform) -> bool;
    /// The enabled endpoint for this device token, naming `customer`, made if need be. A
    /// token's endpoint held by another customer is replaced, so that customer's alerts stop
    /// reaching this device.
    async fn register(
        &self,
        customer: &CustomerId,
        platform: PushPlatform,
        token: &PushToken,
    ) -> PortResult<PushEndpoint>;
    /// Deletes an endpoint the customer replaced; endpoints not the service's are left alone.
    async fn remove(&self, endpoint: &PushEndpoint) -> PortResult<()>;
}

/// A balance as the read model keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BalanceRecord {
    pub customer_id: CustomerId,
    pub balance: PassBalance,
    pub updated_at: DateTime<Utc>,
}

/// The balance read model (CQRS): written only from events, read by the balance routes.
#[async_trait]
pub trait BalanceView: Send + Sync {
    /// Stores the record unless the stored one has the same or a newer version.
    /// Returns whether it was applied.
    async fn apply_balance(&self, record: &BalanceRecord) -> PortResult<bool>;
    async fn find_balance(&self, pass_id: &PassId) -> PortResult<Option<BalanceRecord>>;
    async fn balances_of(&self, customer: &CustomerId) -> PortResult<Vec<BalanceRecord>>;
}

/// Which of the city's fleet caps the crew was told are over, so it is told once per crossing.
#[async_trait]
pub trait CapMarks: Send + Sync {
    /// Marks the cap `key` over or within, with `event` (the crew's alert) when given, in one
    /// write, unless it is marked so already. Returns whether the mark changed.
    async fn mark_cap(&self, key: &str, over: bool, event: Option<&EventEnvelope>) -> PortResult<bool>;
}

/// The crew's log of alerts (the operators' console reads it), written by the notifier.
#[async_trait]
pub trait CrewLog: Send + Sync {
    /// Keeps a crew alert; the same alert kept again (a redelivery) changes nothing.
    async fn log_crew_alert(&self, alert: &CrewAlert) -> PortResult<()>;
    /// The alerts that occurred from `since` to `until`, newest first, at most `limit`.
    async fn crew_alerts(&self, since: DateTime<Utc>, until: DateTime<Utc>, limit: usize)
    -> PortResult<Vec<CrewAlert>>;
}

/// The operators' figures of each city day (CQRS), counted from events, each event once.
#[async_trait]
pub trait DayLedger: Send + Sync {
    /// Adds what an event counts to its day, unless that event was counted already (a
    /// redelivery): in one write with the mark that it was. Returns whether it counted now.
    async fn count_day(&self, event_id: &EventId, day: NaiveDate, figures: &DayFigures) -> PortResult<bool>;
    /// What `day` has counted so far.
    async fn day_figures(&self, day: NaiveDate) -> PortResult<DayFigures>;
}

/// The cities' view (MDS Provider API, CQRS): vehicle events and trips kept under the UTC
/// hour an agency asks for them by, written only from events.
#[async_trait]
pub trait MdsView: Send + Sync {
    /// Keeps what one domain event made: each record under its hour, and the vehicle's state
    /// unless a later one is kept. A record kept already (a redelivery, a replay) is kept
    /// once: it is the same record.
    async fn keep_mds(&self, update: &MdsUpdate) -> PortResult<()>;
    /// The trips that ended in `hour`, by end time.
    async fn trips_ended(&self, hour: MdsHour) -> PortResult<Vec<MdsTrip>>;
    /// The vehicle events of `hour`, by time.
    async fn events_of(&self, hour: MdsHour) -> PortResult<Vec<MdsEvent>>;
    /// The telemetry points of `hour`, by time.
    async fn telemetry_of(&self, hour: MdsHour) -> PortResult<Vec<MdsTelemetry>>;
    /// Up to `limit` vehicles in the order of their device ids, those after `after`.
    async fn devices(&self, after: Option<Uuid>, limit: usize) -> PortResult<Vec<MdsDevice>>;
    /// One vehicle, by its device id.
    async fn device(&self, device_id: Uuid) -> PortResult<Option<MdsDevice>>;
    /// The trips that began in `month` (the city's), each once.
    async fn trips_started(&self, month: CityMonth) -> PortResult<Vec<ReportedTrip>>;
}

/// One alert's claim in the notifier's ledger: an event on one channel, held by one
/// delivery (its `token`) until `lease_until`, the longest a delivery can take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertClaim {
    pub event_id: EventId,
    pub channel: Channel,
    pub customer: CustomerId,
    /// Unique per delivery: the same delivery claiming again (a retried request whose
    /// answer was lost) gets its own claim back.
    pub token: String,
    pub now: DateTime<Utc>,
    pub lease_until: DateTime<Utc>,
}

/// What the ledger says about a claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimOutcome {
    /// This delivery holds the claim: send, then mark it sent (or release it on failure).
    Claimed,
    /// Sent by an earlier delivery: nothing to do.
    AlreadySent,
    /// Another delivery holds an unexpired claim; this one should fail and come back later.
    InProgress,
}

/// Where an alert stands in the ledger, as both stores spell it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertState {
    Claimed,
    Sent,
    /// The event alerted no one; kept under [`AlertState::NO_CHANNEL`] with the reason.
    NotSent,
}

impl AlertState {
    /// The channel slot of an event that alerted no one.
    pub const NO_CHANNEL: &'static str = "none";

    pub fn as_str(self) -> &'static str {
        match self {
            AlertState::Claimed => "claimed",
            AlertState::Sent => "sent",
            AlertState::NotSent => "not_sent",
        }
    }
}

/// The notifier's memory, per (event, channel), so a redelivery sends only what did not go
/// out: SMS costs money per message and a customer notices every duplicate.
#[async_trait]
pub trait NotificationLedger: Send + Sync {
    /// Claims one alert for sending: free, expired, or already this delivery's.
    async fn claim(&self, claim: &AlertClaim) -> PortResult<ClaimOutcome>;
    /// Records the claimed alert as sent.
    async fn mark_sent(&self, claim: &AlertClaim) -> PortResult<()>;
    /// Gives a claim back after a failed send, so a redelivery can try again at once.
    async fn release(&self, claim: &AlertClaim) -> PortResult<()>;
    /// Records that an event alerted no one, and why (e.g. no contact on file).
    async fn record_not_sent(
        &self,
        event_id: &EventId,
        customer: &CustomerId,
        reason: &str,
        now: DateTime<Utc>,
    ) -> PortResult<()>;
}

/// What became of an alert handed to the sender.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    Sent,
    /// The push endpoint is disabled, gone, or not one of the service's: it will take no
    /// message until the app registers again. Retrying would never end.
    EndpointDead(String),
}

/// Sends SMS and push messages (SNS on AWS). A failure that may pass (throttling, a 5xx) is
/// an error, to be retried.
#[async_trait]
pub trait AlertSender: Send + Sync {
    async fn send(&self, alert: &Alert) -> PortResult<Delivery>;
}

/// A charge to ask the payment provider for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChargeRequest {
    pub pass_id: PassId,
    pub customer: CustomerId,
    pub amount: Won,
    /// The provider charges a key at most once, so a retry can never charge twice.
    pub idempotency_key: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChargeOutcome {
    Approved { payment_id: PaymentId },
    Declined { reason: String },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PaymentError {
    /// Timeout, 5xx or a reset: the provider could not answer now.
    #[error("payment provider unavailable: {0}")]
    Unavailable(String),
}

/// What a licence provider said of a licence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LicenceVerdict {
    /// Valid for driving, of this class; `reference` is what it is re-checked by.
    Valid { class: LicenceClass, reference: String },
    /// Not valid (unknown, suspended, revoked, or the name and birth date do not match).
    Invalid { reason: String },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LicenceCheckError {
    /// Timeout, 5xx or a reset: the provider could not answer now.
    #[error("licence provider unavailable: {0}")]
    Unavailable(String),
}

/// The driving-licence verification provider (KoROAD's automatic verification, or a
/// simulator of it).
#[async_trait]
pub trait LicenceVerifier: Send + Sync {
    async fn verify(&self, application: &LicenceApplication) -> Result<LicenceVerdict, LicenceCheckError>;
    /// Asks again about a licence verified before, by the reference the provider gave then.
    async fn recheck(&self, reference: &str) -> Result<LicenceVerdict, LicenceCheckError>;
}

/// How a verification started with `begin_check` ended.
#[derive(Debug, Clone, PartialEq)]
pub enum CheckEnd {
    /// Verified: the licence kept and its `LicenceVerified` event, in one write.
    Verified(Box<(Licence, EventEnvelope)>),
    /// The provider refused the licence at this time (counted against guessing).
    Rejected(DateTime<Utc>),
    /// No verdict (provider down, rider too young): nothing counted.
    Unanswered,
}

/// Customers' verified licences, and their verifications in progress and failed.
#[async_trait]
pub trait LicenceStore: Send + Sync {
    async fn find_licence(&self, customer: &CustomerId) -> PortResult<Option<Licence>>;
    /// Starts a verification of `customer`'s licence at `now`, held until `until` at most, in
    /// one atomic write (`LicenceChecks::begin`): refused while another is in progress or
    /// after too many failures.
    async fn begin_check(
        &self,
        customer: &CustomerId,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> PortResult<Result<(), CheckRefused>>;
    /// Ends the verification in progress with its outcome.
    async fn end_check(&self, customer: &CustomerId, end: CheckEnd) -> PortResult<()>;
    /// A rent's re-check confirmed the licence: it is kept with its new verification time.
    async fn renew_licence(&self, customer: &CustomerId, licence: &Licence) -> PortResult<()>;
    /// Forgets the customer's licence; whether there was one.
    async fn forget_licence(&self, customer: &CustomerId) -> PortResult<bool>;
}

/// The payment provider.
#[async_trait]
pub trait PaymentProvider: Send + Sync {
    async fn charge(&self, request: &ChargeRequest) -> Result<ChargeOutcome, PaymentError>;
}

/// Puts events on the event bus (EventBridge on AWS).
#[async_trait]
pub trait EventPublisher: Send + Sync {
    /// The most events one call takes.
    fn batch_limit(&self) -> usize;
    /// Publishes up to [`EventPublisher::batch_limit`] events; one result per event, in order,
    /// so a caller retries only the ones that failed.
    async fn publish(&self, events: &[EventEnvelope]) -> PortResult<Vec<Result<(), String>>>;
}

/// A stored value and the version it was stored at (0: never stored).
#[derive(Debug, Clone, PartialEq)]
pub struct Versioned<T> {
    pub value: T,
    pub version: u64,
}

/// Where circuit breakers keep their state and count their calls, shared by every instance
/// of a function. Recording an outcome is an atomic addition to a counter, never a
/// read-modify-write of a shared item; the state is written only when it changes.
#[async_trait]
pub trait BreakerStore: Send + Sync {
    /// The breaker's state (closed and empty when never stored).
    async fn load_breaker(&self, name: &str) -> PortResult<Versioned<BreakerState>>;
    /// Stores `state` if the stored version is still `expected`; `false` when another
    /// instance wrote first (never last-writer-wins).
    async fn save_breaker(&self, name: &str, state: &BreakerState, expected: u64) -> PortResult<bool>;
    /// Counts one call, a failure when `failed`, in the bucket starting at `bucket_ms`.
    async fn count_call(&self, name: &str, bucket_ms: i64, failed: bool) -> PortResult<()>;
    /// The calls and failures counted in these buckets.
    async fn count_window(&self, name: &str, buckets: &[i64]) -> PortResult<WindowCounts>;
}

/// An outbox event with its position in the log.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxEntry {
    pub position: u64,
    pub event: EventEnvelope,
}

/// The transactional outbox as a relay reads it (on AWS the table stream plays this part).
#[async_trait]
pub trait Outbox: Send + Sync {
    /// Events after `position`, oldest first, at most `limit`.
    async fn events_after(&self, position: u64, limit: usize) -> PortResult<Vec<OutboxEntry>>;
    /// Where a subscriber's delivery stands; survives restarts.
    async fn cursor(&self, subscriber: &str) -> PortResult<u64>;
    async fn advance_cursor(&self, subscriber: &str, position: u64) -> PortResult<()>;
}
