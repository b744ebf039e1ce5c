//! Every DynamoDB key and attribute name in one place: what is stored where, under which keys,
//! and which attributes the write conditions and indexes use. The item shapes are in one
//! module per port beside this one, built from the keys and names written here.
//!
//! State table (stream on, TTL attribute `ttl`), key `pk`/`sk`:
//! | item | pk | sk | extra attributes |
//! |---|---|---|---|
//! | pass | `PASS#<passId>` | `PASS` | `expiresAtMs` (numeric, for conditions) |
//! | kickboard | `BOARD#<kickboardId>` | `BOARD` | `revision`, `batteryPct`, `parkedCell`, `parkedSk`; `availablePk`/`availableSk` only while parked (AVAILABLE or MAINTENANCE) |
//! | rental | `RENTAL#<rentalId>` | `RENTAL` | `riderPk = CUSTOMER#<customerId>`, `riderSk = <startedAt>#<rentalId>` |
//! | contact | `CUSTOMER#<customerId>` | `CONTACT` | `push` = {`platform`, `endpointArn`, `deadSince`?} |
//! | verified licence | `CUSTOMER#<customerId>` | `LICENCE` | `verifiedAtMs` (numeric, for the rent's condition); no number |
//! | licence checks | `CUSTOMER#<customerId>` | `LICENCE_CHECKS` | `failures`, `inProgressUntil`, `version` |
//! | outbox event | `EVENT#<eventId>` | `EVENT` | `kind = outbox`, `ttl` |
//! | idempotent answer | `IDEMPOTENCY#<customer>/<function>/<key>` | `IDEMPOTENCY` | `ttl` = 24 h |
//! | zone | `ZONES` | `ZONE#<zoneId>` | the zone, its GeoJSON geometry as nested lists |
//! | global rules | `ZONES` | `GLOBAL` | the rules outside every zone |
//! | zones' version | `ZONES` | `VERSION` | `version` (`ADD` by every zone write) |
//! | a city's MDS document | `ZONES` | `CITY#<geography|policy>#<id>` | `document` (its JSON, as text) |
//! | command to a vehicle | `COMMAND#<commandId>` | `COMMAND` | `settledAt` once acknowledged, `ttl` |
//! | a city cap's mark | `CAP#<ruleId>/<geographyId>` | `CAP` | `over`: the crew was told it is over |
//!
//! Index `available` (sparse): the parked boards, `availablePk = <area cell>` (geohash of 6),
//! `availableSk = <geohash9>#<kickboardId>`: a search queries the cells around it, no
//! partition holds more than a cell's boards, and the public feed scans it.
//!
//! Index `rider`: `riderPk`, `riderSk`: a customer's rides, newest first (one partition per
//! customer).
//!
//! View table (no stream, TTL attribute `ttl`), key `pk`/`sk`:
//! | item | pk | sk | extra attributes |
//! |---|---|---|---|
//! | balance | `PASS#<passId>` | `BALANCE` | `customerPk = CUSTOMER#<customerId>` |
//! | alert ledger row | `EVENT#<eventId>` | `ALERT#<sms|push|crew|none>` | `state`, `claimToken`, `leaseUntilMs`, `ttl` |
//! | circuit breaker | `BREAKER#<name>` | `BREAKER` | `version`, `breaker` (written on a state change only) |
//! | breaker counts | `BREAKER#<name>#<bucketMs>#<0..3>` | `COUNT` | `calls`, `failures` (`ADD`), `ttl` |
//! | stream checkpoint (local pump only) | `CHECKPOINT#<consumer>` | `<shardId>` | `sequenceNumber` |
//! | crew alert | `CREW#<UTC day>` | `<occurredAt>#<alertId>` | `item` (the alert as JSON), `ttl` = 7 days |
//! | a city day's figures | `DAY#<city day>#<0..7>` | `DAY` | `ridesEnded`, `minutesBilled`, `revenueWon` (`ADD`) |
//! | an event counted in its day | `COUNTED#<eventId>` | `COUNTED` | `ttl` = 3 days |
//!
//! Index `by-customer`: `customerPk`, `pk`.

use crate::domain::geo::{Coordinates, geohash};
use crate::domain::ids::{CommandId, CustomerId, EventId, KickboardId, PassId, RentalId, ZoneId};
use crate::domain::mds_policy::CityDocumentKind;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::NaiveDate;
use serde::Serialize;
use std::collections::HashMap;

pub type Item = HashMap<String, AttributeValue>;

/// The attributes the DynamoDB adapter's conditions and updates name, as the item shapes of
/// this module serialize them (a test below fails if a serde rename changes one).
pub mod attr {
    pub const PK: &str = "pk";
    pub const SK: &str = "sk";
    pub const KIND: &str = "kind";
    pub const TTL: &str = "ttl";
    pub const STATUS: &str = "status";
    pub const CUSTOMER_ID: &str = "customerId";
    pub const EXPIRES_AT_MS: &str = "expiresAtMs";
    pub const MINUTES_LEFT: &str = "minutesLeft";
    pub const OPEN_RENTAL_ID: &str = "openRentalId";
    pub const RENTAL_ID: &str = "rentalId";
    pub const VERSION: &str = "version";
    pub const LAT: &str = "lat";
    pub const LON: &str = "lon";
    pub const PARKED_SK: &str = "parkedSk";
    pub const PARKED_CELL: &str = "parkedCell";
    pub const AVAILABLE_PK: &str = "availablePk";
    pub const AVAILABLE_SK: &str = "availableSk";
    pub const BATTERY_PCT: &str = "batteryPct";
    pub const LAST_REPORTED_AT: &str = "lastReportedAt";
    pub const REVISION: &str = "revision";
    pub const PUSH: &str = "push";
    pub const ENDPOINT_ARN: &str = "endpointArn";
    pub const DEAD_SINCE: &str = "deadSince";
    pub const CUSTOMER_PK: &str = "customerPk";
    pub const RIDER_PK: &str = "riderPk";
    pub const RIDER_SK: &str = "riderSk";
    pub const RIDING_PK: &str = "ridingPk";
    pub const RIDING_SK: &str = "ridingSk";
    pub const RENTED_AT: &str = "rentedAt";
    pub const PARKED_AT: &str = "parkedAt";
    pub const ORDER_KEY: &str = "orderKey";
    pub const RIDE_DISTANCE_M: &str = "rideDistanceM";
    pub const RIDE_TRACK: &str = "rideTrack";
    pub const MOVED_ALERTED: &str = "movedAlerted";
    pub const SILENCE_ALERTED: &str = "silenceAlerted";
    pub const STATE: &str = "state";
    pub const CLAIM_TOKEN: &str = "claimToken";
    pub const IN_PROGRESS_UNTIL_MS: &str = "inProgressUntilMs";
    pub const LEASE_UNTIL_MS: &str = "leaseUntilMs";
    pub const UPDATED_AT: &str = "updatedAt";
    pub const CALLS: &str = "calls";
    pub const UNLOCKED_AT: &str = "unlockedAt";
    pub const HELD_UNTIL: &str = "heldUntil";
    pub const SETTLED_AT: &str = "settledAt";
    pub const FAILURES: &str = "failures";
    pub const VERIFIED_AT_MS: &str = "verifiedAtMs";
    pub const RIDES_ENDED: &str = "ridesEnded";
    pub const MINUTES_BILLED: &str = "minutesBilled";
    pub const REVENUE_WON: &str = "revenueWon";
    pub const OVER: &str = "over";
}

/// A domain status as the items store it: its serde name (`PassStatus::Active` is `ACTIVE`).
pub fn stored(status: impl Serialize) -> AttributeValue {
    match serde_json::to_value(status) {
        Ok(serde_json::Value::String(name)) => AttributeValue::S(name),
        other => unreachable!("a status is a unit variant, named by a string: {other:?}"),
    }
}

pub const AVAILABLE_INDEX: &str = "available";
/// The one `availablePk` every available board had before the index was keyed by area
/// cell; only the migration (`kickboard-ops migrate`) still knows it.
pub const LEGACY_AVAILABLE_PK: &str = "AVAILABLE";
pub const BY_CUSTOMER_INDEX: &str = "by-customer";
pub const RIDER_INDEX: &str = "rider";
pub const RIDING_INDEX: &str = "riding";
/// Partitions of the `riding` index: a rent and a return write one, chosen by the board.
pub const RIDING_SHARDS: u32 = 16;
pub const OUTBOX_KIND: &str = "outbox";
/// Geohash characters in a board's index key: about 5 m, finer than any query needs.
pub const BOARD_GEOHASH_PRECISION: usize = 9;

/// The prefixes of the partition keys that name something: `<prefix><id>`.
const PASS_PREFIX: &str = "PASS#";
const BOARD_PREFIX: &str = "BOARD#";
const RENTAL_PREFIX: &str = "RENTAL#";
const CUSTOMER_PREFIX: &str = "CUSTOMER#";
const EVENT_PREFIX: &str = "EVENT#";
const IDEMPOTENCY_PREFIX: &str = "IDEMPOTENCY#";
const BREAKER_PREFIX: &str = "BREAKER#";
const CHECKPOINT_PREFIX: &str = "CHECKPOINT#";
const RIDING_PREFIX: &str = "RIDING#";
const COMMAND_PREFIX: &str = "COMMAND#";
const MDS_PREFIX: &str = "MDS#";
const CREW_PREFIX: &str = "CREW#";
const DAY_PREFIX: &str = "DAY#";
const COUNTED_PREFIX: &str = "COUNTED#";
const CAP_PREFIX: &str = "CAP#";
/// The partition of the zones, the global rules and their version: read whole (one query)
/// when a cache sees the version move, written only by admins.
pub const ZONES_PK: &str = "ZONES";

/// The sort keys, and the prefixes of those that name something.
const PASS_SK: &str = "PASS";
pub const BOARD_SK: &str = "BOARD";
pub const RENTAL_SK: &str = "RENTAL";
const CONTACT_SK: &str = "CONTACT";
const LICENCE_SK: &str = "LICENCE";
const LICENCE_CHECKS_SK: &str = "LICENCE_CHECKS";
const EVENT_SK: &str = "EVENT";
const IDEMPOTENCY_SK: &str = "IDEMPOTENCY";
const BALANCE_SK: &str = "BALANCE";
const BREAKER_SK: &str = "BREAKER";
const BREAKER_COUNT_SK: &str = "COUNT";
const GLOBAL_RULES_SK: &str = "GLOBAL";
const ZONES_VERSION_SK: &str = "VERSION";
const ZONE_SK_PREFIX: &str = "ZONE#";
const CITY_DOCUMENT_SK_PREFIX: &str = "CITY#";
const ALERT_SK_PREFIX: &str = "ALERT#";
const COMMAND_SK: &str = "COMMAND";
const DAY_SK: &str = "DAY";
const COUNTED_SK: &str = "COUNTED";
const CAP_SK: &str = "CAP";

pub fn key(pk: String, sk: &str) -> Item {
    HashMap::from([
        (attr::PK.to_owned(), AttributeValue::S(pk)),
        (attr::SK.to_owned(), AttributeValue::S(sk.to_owned())),
    ])
}

fn pass_pk(pass_id: &PassId) -> String {
    format!("{PASS_PREFIX}{pass_id}")
}

fn board_pk(kickboard_id: &KickboardId) -> String {
    format!("{BOARD_PREFIX}{kickboard_id}")
}

fn rental_pk(rental_id: &RentalId) -> String {
    format!("{RENTAL_PREFIX}{rental_id}")
}

pub fn customer_pk(customer: &CustomerId) -> String {
    format!("{CUSTOMER_PREFIX}{customer}")
}

/// The partition of an event: its outbox item in the state table, its alerts' ledger rows in
/// the view table.
fn event_pk(event_id: &EventId) -> String {
    format!("{EVENT_PREFIX}{event_id}")
}

fn idempotency_pk(scope: &str) -> String {
    format!("{IDEMPOTENCY_PREFIX}{scope}")
}

fn breaker_pk(name: &str) -> String {
    format!("{BREAKER_PREFIX}{name}")
}

fn checkpoint_pk(consumer: &str) -> String {
    format!("{CHECKPOINT_PREFIX}{consumer}")
}

fn command_pk(command_id: &CommandId) -> String {
    format!("{COMMAND_PREFIX}{command_id}")
}

fn zone_sk(zone_id: &ZoneId) -> String {
    format!("{ZONE_SK_PREFIX}{zone_id}")
}

/// The sort key of an alert's ledger row: `ALERT#<channel>`.
fn alert_sk(channel: &str) -> String {
    format!("{ALERT_SK_PREFIX}{channel}")
}

pub fn pass_key(pass_id: &PassId) -> Item {
    key(pass_pk(pass_id), PASS_SK)
}

pub fn board_key(kickboard_id: &KickboardId) -> Item {
    key(board_pk(kickboard_id), BOARD_SK)
}

pub fn rental_key(rental_id: &RentalId) -> Item {
    key(rental_pk(rental_id), RENTAL_SK)
}

pub fn contact_key(customer: &CustomerId) -> Item {
    key(customer_pk(customer), CONTACT_SK)
}

pub fn licence_key(customer: &CustomerId) -> Item {
    key(customer_pk(customer), LICENCE_SK)
}

pub fn licence_checks_key(customer: &CustomerId) -> Item {
    key(customer_pk(customer), LICENCE_CHECKS_SK)
}

pub fn balance_key(pass_id: &PassId) -> Item {
    key(pass_pk(pass_id), BALANCE_SK)
}

pub fn idempotency_key(scope: &str) -> Item {
    key(idempotency_pk(scope), IDEMPOTENCY_SK)
}

pub fn alert_ledger_key(event_id: &EventId, channel: &str) -> Item {
    key(event_pk(event_id), &alert_sk(channel))
}

pub fn breaker_key(name: &str) -> Item {
    key(breaker_pk(name), BREAKER_SK)
}

/// One shard of a breaker's counts for one time bucket, added to with `ADD`, never rewritten.
/// The shard is in the partition key: shards of one key would share its partition.
pub fn breaker_count_key(name: &str, bucket_ms: i64, shard: u8) -> Item {
    key(format!("{}#{bucket_ms}#{shard}", breaker_pk(name)), BREAKER_COUNT_SK)
}

pub fn checkpoint_key(consumer: &str, shard_id: &str) -> Item {
    key(checkpoint_pk(consumer), shard_id)
}

pub fn command_key(command_id: &CommandId) -> Item {
    key(command_pk(command_id), COMMAND_SK)
}

/// The crew's log of one UTC day: a day's alerts in one partition, by time. A city's crew
/// alerts come a few a minute (a board low once per discharge), far below a partition's limit.
pub fn crew_pk(day: NaiveDate) -> String {
    format!("{CREW_PREFIX}{day}")
}

/// The shards one city day's figures are added to: a return's and a payment's writes are
/// spread over them by event, and the day is read as their sum.
pub const DAY_SHARDS: u32 = 8;

/// One shard of a city day's figures, added to with `ADD`.
pub fn day_key(day: NaiveDate, shard: u32) -> Item {
    key(format!("{DAY_PREFIX}{day}#{shard}"), DAY_SK)
}

/// The shard an event's figures go to: from its id's bytes, stable across machines.
pub fn day_shard(event_id: &EventId) -> u32 {
    event_id.as_str().bytes().map(u32::from).sum::<u32>() % DAY_SHARDS
}

/// The partition of a city cap's mark (in the state table: its change and the crew's alert
/// are one write with the outbox).
fn cap_mark_pk(key: &str) -> String {
    format!("{CAP_PREFIX}{key}")
}

/// The partition of the mark that an event was counted in its day.
fn counted_pk(event_id: &EventId) -> String {
    format!("{COUNTED_PREFIX}{event_id}")
}

/// A city's MDS document in the zones' partition: `CITY#<geography|policy>#<id>`.
fn city_document_sk(kind: CityDocumentKind, id: &uuid::Uuid) -> String {
    format!("{CITY_DOCUMENT_SK_PREFIX}{}#{id}", kind.name())
}

pub fn city_document_key(kind: CityDocumentKind, id: &uuid::Uuid) -> Item {
    key(ZONES_PK.to_owned(), &city_document_sk(kind, id))
}

pub fn zone_key(zone_id: &ZoneId) -> Item {
    key(ZONES_PK.to_owned(), &zone_sk(zone_id))
}

pub fn zones_version_key() -> Item {
    key(ZONES_PK.to_owned(), ZONES_VERSION_SK)
}

/// The `riding` index partition of a board while it is ridden: `RIDING#<shard>`, the shard
/// from the board's id (its bytes summed: stable across versions and machines).
pub fn riding_pk(kickboard_id: &KickboardId) -> String {
    let shard = kickboard_id.as_str().bytes().map(u32::from).sum::<u32>() % RIDING_SHARDS;
    format!("{RIDING_PREFIX}{shard}")
}

/// Every partition of the `riding` index.
pub fn riding_pks() -> impl Iterator<Item = String> {
    (0..RIDING_SHARDS).map(|shard| format!("{RIDING_PREFIX}{shard}"))
}

/// The `available` index sort key of a board parked at `location`.
pub fn parked_sk(location: &Coordinates, kickboard_id: &KickboardId) -> String {
    format!("{}#{kickboard_id}", geohash(location, BOARD_GEOHASH_PRECISION))
}

mod alerts;
mod balances;
mod breakers;
mod commands;
mod contacts;
mod fleet;
mod idempotency;
mod licences;
mod mds;
pub mod operations;
mod outbox;
mod passes;
mod rentals;
mod zones;

pub use alerts::AlertLedgerItem;
pub use balances::BalanceItem;
pub use breakers::{BREAKER_COUNTER_SHARDS, BreakerCountItem, BreakerItem, breaker_count_ttl};
pub use commands::CommandItem;
pub use contacts::ContactItem;
pub use fleet::BoardItem;
pub use idempotency::{HeldKeyItem, IdempotencyItem, KeyItem};
pub use licences::{LicenceChecksItem, LicenceItem};
pub use mds::{
    MDS_DEVICE_SHARDS, MDS_SHARDS, MdsDeviceItem, MdsItem, ReportedTripItem, device_shard, mds_device_key,
    mds_device_shard_pk, mds_pk, reported_trip_pk,
};
pub use operations::{CapMarkItem, CountedItem, CrewAlertItem};
pub use outbox::{OutboxItem, StreamCheckpointItem, outbox_event};
pub use passes::PassItem;
pub use rentals::RentalItem;
pub use zones::{CityDocumentItem, GlobalRulesItem, ZoneItem, ZonesVersionItem, zone_set};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::breaker::BreakerState;
    use crate::domain::commands::{AckMessage, Command, SentCommand};
    use crate::domain::contact::{Channel, CheckedContact, ContactForm};
    use crate::domain::ids::PaymentId;
    use crate::domain::kickboard::{Kickboard, KickboardStatus, Model};
    use crate::domain::pass::{Pass, PassStatus};
    use crate::domain::plan::catalogue;
    use crate::domain::rental::{RentalStatus, RideRules, start_rental};
    use crate::domain::vehicle::{BatteryRules, default_vehicle_type_id};
    use crate::domain::zones::ZoneMap;
    use crate::ports::{AlertClaim, BalanceRecord, KeyClaim};
    use chrono::{Duration, Utc};

    fn item(value: impl Serialize) -> Item {
        serde_dynamo::to_item(value).unwrap()
    }

    #[test]
    fn the_attributes_and_statuses_the_conditions_name_are_the_ones_the_items_hold() {
        let now = Utc::now();
        let customer = CustomerId::try_from("alice".to_owned()).unwrap();
        let (pass, purchased) = Pass::purchase(PassId::random(), customer.clone(), &catalogue()[0], now);
        let (pass, _) = pass.activate(PaymentId::random(), now).unwrap();
        let location = Coordinates::new(37.5665, 126.978).unwrap();
        let id = KickboardId::try_from("kb-1".to_owned()).unwrap();
        let model = Model::try_from("Ninebot".to_owned()).unwrap();
        let (board, _) = Kickboard::register(id.clone(), model, default_vehicle_type_id(), location, now);

        let paid = item(PassItem::from(&pass));
        assert_eq!(paid[attr::STATUS], stored(PassStatus::Active));
        for name in [attr::CUSTOMER_ID, attr::EXPIRES_AT_MS, attr::MINUTES_LEFT, attr::VERSION] {
            assert!(paid.contains_key(name), "a pass has {name}: {paid:?}");
        }
        let parked = item(BoardItem::from(&board));
        assert_eq!(parked[attr::STATUS], stored(KickboardStatus::Available));
        let board_attributes = [
            attr::LAT,
            attr::LON,
            attr::PARKED_SK,
            attr::PARKED_CELL,
            attr::AVAILABLE_PK,
            attr::AVAILABLE_SK,
            attr::BATTERY_PCT,
            attr::LAST_REPORTED_AT,
            attr::REVISION,
        ];
        for name in board_attributes {
            assert!(parked.contains_key(name), "an available board has {name}: {parked:?}");
        }

        let rental_id = RentalId::for_pass(&pass.pass_id);
        let started = start_rental(
            &pass,
            Some(&board),
            &customer,
            rental_id,
            &RideRules { battery: &BatteryRules::default(), zones: &ZoneMap::default() },
            now,
        )
        .unwrap();
        let renting = item(PassItem::from(&started.pass));
        assert!(renting.contains_key(attr::OPEN_RENTAL_ID), "{renting:?}");
        let rented = item(BoardItem::from(&started.board));
        assert_eq!(rented[attr::STATUS], stored(KickboardStatus::Rented));
        for name in [attr::RIDING_PK, attr::RIDING_SK, attr::RENTED_AT] {
            assert!(rented.contains_key(name), "a rented board has {name}: {rented:?}");
        }
        assert!(!parked.contains_key(attr::RIDING_PK), "only a rented board is in the riding index");
        // What a rent's update removes, as `start_rental` clears it.
        let alerted = Kickboard { moved_alerted: true, silence_alerted: true, ..board.clone() };
        let alerted = item(BoardItem::from(&alerted));
        for name in [attr::PARKED_AT, attr::MOVED_ALERTED, attr::SILENCE_ALERTED] {
            assert!(alerted.contains_key(name), "a board can have {name}: {alerted:?}");
        }
        assert!(rented.contains_key(attr::RENTAL_ID) && !rented.contains_key(attr::AVAILABLE_PK), "{rented:?}");
        let rental = item(RentalItem::from(&started.rental));
        assert_eq!(rental[attr::STATUS], stored(RentalStatus::Open));
        assert!(rental.contains_key(attr::RIDER_PK) && rental.contains_key(attr::RIDER_SK), "{rental:?}");
        let held = started.rental.held(now);
        assert!(item(RentalItem::from(&held)).contains_key(attr::HELD_UNTIL));
        let (unlocked, _) = held.unlocked(now).unwrap();
        let unlocked = item(RentalItem::from(&unlocked));
        assert!(unlocked.contains_key(attr::UNLOCKED_AT) && !unlocked.contains_key(attr::HELD_UNTIL));
        let command_id = CommandId::try_from("c-1").unwrap();
        let sent = SentCommand::send(command_id.clone(), id.clone(), Command::Ring, now, Duration::seconds(5));
        assert!(!item(CommandItem::from(&sent)).contains_key(attr::SETTLED_AT));
        let ack = AckMessage { command_id, ok: true, error: None };
        let settled = sent.acknowledge(&id, &ack, now).unwrap();
        assert!(item(CommandItem::from(&settled)).contains_key(attr::SETTLED_AT));

        let form = serde_json::json!({ "phone": "+821012345678", "pushPlatform": "FCM", "pushToken": "device-1" });
        let checked = CheckedContact::try_from(serde_json::from_value::<ContactForm>(form).unwrap()).unwrap();
        let endpoint = "arn:aws:sns:ap-northeast-2:123456789012:endpoint/GCM/kickboard/1".to_owned();
        let mut contact = checked.with_endpoint(Some(endpoint.try_into().unwrap()));
        contact.push.as_mut().unwrap().dead_since = Some(now);
        let contact = item(ContactItem::new(&customer, &contact));
        let push = contact[attr::PUSH].as_m().expect("push is a map");
        assert!(push.contains_key(attr::ENDPOINT_ARN) && push.contains_key(attr::DEAD_SINCE), "{contact:?}");

        let until = now + Duration::seconds(30);
        let claim = KeyClaim { scope: "alice/pay/1".into(), request: "{}".into(), token: "t".into(), now, until };
        let held = item(HeldKeyItem::from(&claim));
        for name in [attr::PK, attr::SK, attr::CLAIM_TOKEN, attr::IN_PROGRESS_UNTIL_MS, attr::TTL] {
            assert!(held.contains_key(name), "a held key has {name}: {held:?}");
        }
        let event_id = EventId::random();
        let channel = Channel::Sms;
        let alert =
            AlertClaim { event_id, channel, customer: customer.clone(), token: "t".into(), now, lease_until: until };
        let claimed = item(AlertLedgerItem::claimed(&alert));
        for name in [attr::STATE, attr::CLAIM_TOKEN, attr::LEASE_UNTIL_MS, attr::UPDATED_AT, attr::TTL] {
            assert!(claimed.contains_key(name), "a claimed alert has {name}: {claimed:?}");
        }
        let record = BalanceRecord { customer_id: customer, balance: pass.balance(), updated_at: now };
        let balance = item(BalanceItem::new(&record));
        assert!(balance.contains_key(attr::CUSTOMER_PK) && balance.contains_key(attr::VERSION), "{balance:?}");
        assert!(item(BreakerItem::new("payments", &BreakerState::default(), 1)).contains_key(attr::VERSION));
        let counts = item(BreakerCountItem::default());
        assert!(counts.contains_key(attr::CALLS) && counts.contains_key(attr::FAILURES), "{counts:?}");
        let outbox = item(OutboxItem::from(&purchased));
        assert_eq!(outbox[attr::KIND], AttributeValue::S(OUTBOX_KIND.to_owned()));
    }
}
