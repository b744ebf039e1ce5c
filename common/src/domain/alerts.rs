//! What a customer is told about an event, in which language, and on which channels.

use super::contact::{Channel, Contact, Locale};
use super::error::message_in;
use super::events::{DomainEvent, EventEnvelope};
use super::geo::Coordinates;
use super::ids::{CustomerId, EventId, KickboardId};
use chrono::{DateTime, FixedOffset, Utc};
use serde::{Deserialize, Serialize};

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

/// Characters in one SMS segment: 70 in UCS-2 (any Korean text), 160 in GSM-7 (plain
/// English). A longer text is sent, and billed, as several segments.
pub const SMS_SEGMENT_UCS2: usize = 70;
pub const SMS_SEGMENT_GSM7: usize = 160;

/// Korea Standard Time, UTC+9 all year: the time customers read on their phones.
fn kst(time: &DateTime<Utc>) -> DateTime<FixedOffset> {
    time.with_timezone(&FixedOffset::east_opt(9 * 3600).expect("UTC+9 is a valid offset"))
}

fn minutes_en(count: u32) -> String {
    if count == 1 { "1 min".to_owned() } else { format!("{count} min") }
}

/// The text for an event a customer is alerted about, in their language; `None` for events
/// that alert no one.
pub fn alert_text(envelope: &EventEnvelope, locale: Locale) -> Option<String> {
    let text = match (&envelope.event, locale) {
        (DomainEvent::PassPaid { balance, expires_at, .. }, Locale::Ko) => format!(
            "[킥보드] 이용권 결제 완료: {}분, {}까지 사용 가능",
            balance.minutes_left,
            kst(expires_at).format("%m/%d %H:%M")
        ),
        (DomainEvent::PassPaid { balance, expires_at, .. }, Locale::En) => format!(
            "[Kickboard] Pass active: {}, valid until {} KST.",
            minutes_en(balance.minutes_left),
            kst(expires_at).format("%Y-%m-%d %H:%M")
        ),
        (DomainEvent::KickboardRented { kickboard_id, started_at, .. }, Locale::Ko) => {
            format!("[킥보드] {kickboard_id} 대여 시작 ({}). 안전 운행하세요!", kst(started_at).format("%H:%M"))
        }
        (DomainEvent::KickboardRented { kickboard_id, started_at, .. }, Locale::En) => {
            format!(
                "[Kickboard] Kickboard {kickboard_id} rented at {} KST. Ride safe!",
                kst(started_at).format("%H:%M")
            )
        }
        (DomainEvent::KickboardReturned { kickboard_id, minutes_billed, overage_minutes, balance, .. }, Locale::Ko) => {
            let overage = if *overage_minutes > 0 { format!(" (초과 {overage_minutes}분)") } else { String::new() };
            format!(
                "[킥보드] {kickboard_id} 반납 완료: {minutes_billed}분 이용{overage}, 잔여 {}분",
                balance.minutes_left
            )
        }
        (DomainEvent::KickboardReturned { kickboard_id, minutes_billed, overage_minutes, balance, .. }, Locale::En) => {
            let overage =
                if *overage_minutes > 0 { format!(" ({overage_minutes} over your pass)") } else { String::new() };
            format!(
                "[Kickboard] Kickboard {kickboard_id} returned: {} billed{overage}, {} left.",
                minutes_en(*minutes_billed),
                minutes_en(balance.minutes_left)
            )
        }
        (DomainEvent::KickboardRodeIntoNoRidingZone { messages, .. }, Locale::Ko) => match message_in(messages, "ko") {
            Some(message) => format!("[킥보드] 통행 금지 구역입니다: {message}. 구역 밖으로 이동해 주세요"),
            None => "[킥보드] 통행 금지 구역입니다. 구역 밖으로 이동해 주세요".to_owned(),
        },
        (DomainEvent::KickboardRodeIntoNoRidingZone { messages, .. }, Locale::En) => match message_in(messages, "en") {
            Some(message) => format!("[Kickboard] Riding is not allowed here: {message}. Please leave the zone."),
            None => "[Kickboard] Riding is not allowed here. Please leave the zone.".to_owned(),
        },
        (DomainEvent::LicenceVerified { .. }, Locale::Ko) => "[킥보드] 면허 인증이 완료되었습니다".to_owned(),
        (DomainEvent::LicenceVerified { .. }, Locale::En) => {
            "[Kickboard] Your driving licence is verified. Ride safe!".to_owned()
        }
        _ => return None,
    };
    Some(text)
}

/// Who crew alerts are recorded for: the operators, not a customer.
pub const OPERATORS: &str = "ops";

/// What a crew alert is about: the console colours and filters by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum CrewAlertKind {
    BatteryLow,
    MovedWhileParked,
    LockUnconfirmed,
    SilentWhileRented,
    NotResponding,
    RodeIntoNoRidingZone,
    CapExceeded,
}

/// An alert for the crew: which board, what happened and where, and the text they are sent.
/// Kept in the crew's log (the operators' console reads it) as well as sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CrewAlert {
    /// The event's id: the same event is logged once, however often it is delivered.
    pub alert_id: EventId,
    pub kind: CrewAlertKind,
    pub kickboard_id: KickboardId,
    pub occurred_at: DateTime<Utc>,
    /// Where the board was, when the event says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<Coordinates>,
    /// In Korean, the crew's language.
    pub text: String,
}

/// The crew's alert for an event that needs someone on the street, if it is one: which
/// board, how charged and where, in Korean (the crew's language).
pub fn crew_alert(envelope: &EventEnvelope) -> Option<CrewAlert> {
    let (kind, kickboard_id, location, text) = match &envelope.event {
        DomainEvent::KickboardBatteryLow { kickboard_id, battery_pct, location } => (
            CrewAlertKind::BatteryLow,
            kickboard_id,
            Some(location),
            format!(
                "[킥보드 운영] {kickboard_id} 배터리 {}% ({:.5}, {:.5}) 충전 필요",
                battery_pct.get(),
                location.lat(),
                location.lon()
            ),
        ),
        DomainEvent::KickboardMovedWhileParked { kickboard_id, distance_m, location } => (
            CrewAlertKind::MovedWhileParked,
            kickboard_id,
            Some(location),
            format!(
                "[킥보드 운영] {kickboard_id} 주차 중 {distance_m}m 이동 ({:.5}, {:.5}): 도난 의심, 확인 필요",
                location.lat(),
                location.lon()
            ),
        ),
        DomainEvent::KickboardLockUnconfirmed { kickboard_id, location, .. } => (
            CrewAlertKind::LockUnconfirmed,
            kickboard_id,
            Some(location),
            format!(
                "[킥보드 운영] {kickboard_id} 반납 후 잠금 확인 안 됨 ({:.5}, {:.5}): 점검 상태로 전환, 현장 잠금 필요",
                location.lat(),
                location.lon()
            ),
        ),
        DomainEvent::KickboardSilentWhileRented { kickboard_id, last_heard_at, location, .. } => (
            CrewAlertKind::SilentWhileRented,
            kickboard_id,
            Some(location),
            format!(
                "[킥보드 운영] {kickboard_id} 대여 중 10분 넘게 응답 없음 (마지막 {} UTC, {:.5}, {:.5}): 분실·고장 의심, 확인 필요",
                last_heard_at.format("%H:%M"),
                location.lat(),
                location.lon()
            ),
        ),
        DomainEvent::KickboardRodeIntoNoRidingZone { kickboard_id, place, location, .. } => (
            CrewAlertKind::RodeIntoNoRidingZone,
            kickboard_id,
            Some(location),
            format!(
                "[킥보드 운영] {kickboard_id} 대여 중 통행 금지 구역 진입 ({:.5}, {:.5}): {place}",
                location.lat(),
                location.lon()
            ),
        ),
        DomainEvent::FleetCapExceeded { rule_name, limit, count, kickboard_id, location, .. } => (
            CrewAlertKind::CapExceeded,
            kickboard_id,
            Some(location),
            format!("[킥보드 운영] {rule_name}: 주차 {count}대, 상한 {limit}대 초과. {kickboard_id} 부근 재배치 필요"),
        ),
        DomainEvent::KickboardNotResponding { kickboard_id, missed_unlocks } => (
            CrewAlertKind::NotResponding,
            kickboard_id,
            None,
            format!("[킥보드 운영] {kickboard_id} 응답 없음: 대여 잠금 해제 {missed_unlocks}회 연속 실패, 점검 필요"),
        ),
        _ => return None,
    };
    Some(CrewAlert {
        alert_id: envelope.event_id.clone(),
        kind,
        kickboard_id: kickboard_id.clone(),
        occurred_at: envelope.occurred_at,
        location: location.copied(),
        text,
    })
}

/// The SMS an event's push alert falls back to when the push endpoint turns out dead.
pub fn sms_fallback(envelope: &EventEnvelope, customer_id: &CustomerId, contact: &Contact, text: &str) -> Alert {
    Alert {
        event_id: envelope.event_id.clone(),
        customer_id: customer_id.clone(),
        channel: Channel::Sms,
        destination: contact.phone.as_str().to_owned(),
        message: text.to_owned(),
    }
}

/// The alerts to send for an event to a customer's contact, one per chosen channel.
pub fn alerts_for(envelope: &EventEnvelope, customer_id: &CustomerId, contact: &Contact, text: &str) -> Vec<Alert> {
    contact
        .channels()
        .into_iter()
        .filter_map(|channel| {
            let destination = match channel {
                Channel::Sms => contact.phone.as_str(),
                Channel::Push => contact.push.as_ref()?.endpoint_arn.as_str(),
                Channel::Crew => return None,
            };
            Some(Alert {
                event_id: envelope.event_id.clone(),
                customer_id: customer_id.clone(),
                channel,
                destination: destination.to_owned(),
                message: text.to_owned(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::{KickboardId, PassId, PaymentId, RentalId};
    use crate::domain::pass::{PassBalance, PassStatus};
    use crate::domain::track::RideTrack;
    use chrono::TimeZone;

    /// A board id as long as an operator's naming scheme gives (`kb-<district>-<number>`).
    const LONG_BOARD_ID: &str = "kb-gangnam-00042";

    fn balance(minutes_left: u32) -> PassBalance {
        PassBalance {
            pass_id: PassId::random(),
            status: PassStatus::Active,
            minutes_total: 1440,
            minutes_left,
            minutes_used: 1440 - minutes_left,
            overage_minutes: 0,
            version: 3,
            expires_at: None,
        }
    }

    /// Every alerting event, with the widest figures a pass can show.
    fn alerting_events() -> Vec<DomainEvent> {
        let at = Utc.with_ymd_and_hms(2026, 12, 31, 23, 59, 0).unwrap();
        let board = KickboardId::try_from(LONG_BOARD_ID.to_owned()).unwrap();
        let rental = RentalId::for_pass(&PassId::random());
        vec![
            DomainEvent::PassPaid {
                balance: balance(1440),
                payment_id: PaymentId::random(),
                expires_at: at,
                price_won: None,
            },
            DomainEvent::KickboardRented {
                rental_id: rental.clone(),
                pass_id: PassId::random(),
                kickboard_id: board.clone(),
                started_at: at,
                location: None,
            },
            DomainEvent::KickboardReturned {
                rental_id: rental,
                pass_id: PassId::random(),
                kickboard_id: board,
                started_at: at,
                ended_at: at,
                minutes_billed: 1440,
                overage_minutes: 1439,
                balance: balance(1440),
                start_location: None,
                end_location: None,
                ridden_m: None,
                track: RideTrack::default(),
            },
        ]
    }

    fn is_gsm7_basic(text: &str) -> bool {
        text.chars().all(|c| c.is_ascii_alphanumeric() || " []().,:!-/+%".contains(c))
    }

    #[test]
    fn every_alert_fits_one_sms_segment_in_both_languages() {
        for event in alerting_events() {
            let envelope = EventEnvelope::new(Utc::now(), "a".into(), 1, None, event);
            let korean = alert_text(&envelope, Locale::Ko).unwrap();
            assert!(korean.starts_with("[킥보드]"), "{korean}");
            let units = korean.encode_utf16().count();
            assert!(units <= SMS_SEGMENT_UCS2, "{units} UCS-2 units: {korean}");
            let english = alert_text(&envelope, Locale::En).unwrap();
            assert!(is_gsm7_basic(&english), "plain GSM-7: {english}");
            assert!(english.len() <= SMS_SEGMENT_GSM7, "{} characters: {english}", english.len());
        }
    }

    #[test]
    fn the_crew_is_told_which_board_how_charged_and_where() {
        let location = crate::domain::geo::Coordinates::new(37.5665, 126.978).unwrap();
        let low = DomainEvent::KickboardBatteryLow {
            kickboard_id: KickboardId::try_from(LONG_BOARD_ID).unwrap(),
            battery_pct: crate::domain::vehicle::BatteryPct::try_from(12).unwrap(),
            location,
        };
        let envelope = EventEnvelope::new(Utc::now(), "a".into(), 1, None, low);
        let text = crew_alert(&envelope).unwrap().text;
        assert!(text.contains(LONG_BOARD_ID) && text.contains("12%") && text.contains("37.56650"), "{text}");
        assert!(text.encode_utf16().count() <= SMS_SEGMENT_UCS2, "{text}");
        assert_eq!(alert_text(&envelope, Locale::Ko), None, "no customer is alerted");
    }

    #[test]
    fn times_are_shown_in_korea_standard_time() {
        let event = alerting_events().remove(1);
        let envelope = EventEnvelope::new(Utc::now(), "a".into(), 1, None, event);
        // 23:59 UTC is 08:59 the next morning in Seoul.
        assert!(alert_text(&envelope, Locale::Ko).unwrap().contains("(08:59)"));
        assert!(alert_text(&envelope, Locale::En).unwrap().contains("08:59 KST"));
    }
}
