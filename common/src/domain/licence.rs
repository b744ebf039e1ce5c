//! Who may ride. Since 2021-05-13 Korea's Road Traffic Act lets only the holder of a
//! 원동기장치자전거 licence or higher (so someone 16 or older) ride a personal mobility device.
//! A rider's licence is verified by a provider before the first ride and re-checked after a
//! while; the number itself is never kept: a keyed hash, its last four digits and the
//! provider's reference for re-checks are.

use super::error::RuleViolation;
use super::events::{DomainEvent, EventEnvelope};
use super::ids::CustomerId;
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// The youngest a rider may be on the day the licence is verified.
pub const MIN_RIDER_AGE: u32 = 16;
/// The longest name the provider is given.
pub const MAX_NAME_CHARS: usize = 30;
/// Failed verifications one customer may have in [`FAILED_CHECK_WINDOW`]; one more is refused.
pub const MAX_FAILED_CHECKS: usize = 5;
/// The window failed verifications are counted over.
pub const FAILED_CHECK_WINDOW: Duration = Duration::hours(24);

/// The regions of the older licence-number form (`서울 12-345678-90`), by their code in the
/// all-digit form (`11-12-345678-90`).
const REGIONS: [(&str, &str); 17] = [
    ("서울", "11"),
    ("부산", "12"),
    ("경기", "13"),
    ("강원", "14"),
    ("충북", "15"),
    ("충남", "16"),
    ("전북", "17"),
    ("전남", "18"),
    ("경북", "19"),
    ("경남", "20"),
    ("제주", "21"),
    ("대구", "22"),
    ("인천", "23"),
    ("광주", "24"),
    ("대전", "25"),
    ("울산", "26"),
    ("경기북부", "28"),
];

/// What is wrong with a verification request, and in which field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LicenceFormError {
    #[error("must be a Korean licence number: NN-NN-NNNNNN-NN (or 서울 NN-NNNNNN-NN)")]
    Number,
    #[error("must be 1 to {MAX_NAME_CHARS} characters")]
    Name,
    #[error("must be a date as YYYY-MM-DD")]
    BirthDate,
    #[error("must not be in the future")]
    FutureBirthDate,
}

impl LicenceFormError {
    /// The request field a broken rule is about.
    pub fn field(&self) -> &'static str {
        match self {
            LicenceFormError::Number => "licenceNumber",
            LicenceFormError::Name => "name",
            LicenceFormError::BirthDate | LicenceFormError::FutureBirthDate => "birthDate",
        }
    }
}

/// A Korean driving-licence number: twelve digits (region, year, serial, check). Never
/// printed, logged or stored; its `Debug` hides it.
#[derive(Clone, PartialEq, Eq)]
pub struct LicenceNumber(String);

impl std::fmt::Debug for LicenceNumber {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("LicenceNumber(…)")
    }
}

impl LicenceNumber {
    /// The number from `NN-NN-NNNNNN-NN` (dashes optional) or the region-name form
    /// `서울 NN-NNNNNN-NN`.
    pub fn parse(text: &str) -> Result<Self, LicenceFormError> {
        let text = text.trim();
        // The longest name that matches: 경기북부, not 경기.
        let region = REGIONS.iter().filter(|(name, _)| text.starts_with(name)).max_by_key(|(name, _)| name.len());
        let (region, rest) = match region {
            Some((name, code)) => (Some(*code), text[name.len()..].trim_start()),
            None => (None, text),
        };
        let groups: Vec<&str> = rest.split('-').collect();
        let widths: &[usize] = match (region, groups.len()) {
            (Some(_), 3) => &[2, 6, 2],
            (Some(_), 1) => &[10],
            (None, 4) => &[2, 2, 6, 2],
            (None, 1) => &[12],
            _ => return Err(LicenceFormError::Number),
        };
        let well_formed = groups
            .iter()
            .zip(widths)
            .all(|(group, width)| group.len() == *width && group.bytes().all(|byte| byte.is_ascii_digit()));
        if !well_formed {
            return Err(LicenceFormError::Number);
        }
        let digits = format!("{}{}", region.unwrap_or_default(), groups.concat());
        // Region codes run from 11 (서울) to 28 (경기북부).
        let known_region = digits[..2].parse::<u8>().is_ok_and(|code| (11..=28).contains(&code));
        if !known_region {
            return Err(LicenceFormError::Number);
        }
        Ok(Self(digits))
    }

    /// The number as providers take it: `NN-NN-NNNNNN-NN`.
    pub fn dashed(&self) -> String {
        let digits = &self.0;
        format!("{}-{}-{}-{}", &digits[..2], &digits[2..4], &digits[4..10], &digits[10..])
    }

    /// The twelve digits, for the keyed hash.
    pub fn digits(&self) -> &str {
        &self.0
    }

    /// The last four digits: what the rider is shown to recognise the licence.
    pub fn last4(&self) -> String {
        self.0[8..].to_owned()
    }
}

/// `PUT /me/licence`, as sent.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(rename = "LicenceForm")]
pub struct LicenceForm {
    /// `NN-NN-NNNNNN-NN`, or the region-name form `서울 NN-NNNNNN-NN`.
    #[schemars(length(min = 10, max = 20))]
    pub licence_number: String,
    /// As on the licence.
    #[schemars(length(min = 1, max = MAX_NAME_CHARS))]
    pub name: String,
    /// `YYYY-MM-DD`.
    #[schemars(length(min = 10, max = 10))]
    pub birth_date: String,
}

/// A verification request whose every field is well formed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LicenceApplication {
    pub number: LicenceNumber,
    pub name: String,
    pub birth_date: NaiveDate,
}

impl LicenceApplication {
    /// The form, checked field by field against `today`.
    pub fn check(form: LicenceForm, today: NaiveDate) -> Result<Self, LicenceFormError> {
        let number = LicenceNumber::parse(&form.licence_number)?;
        let name = form.name.trim().to_owned();
        let name_chars = name.chars().count();
        if name_chars == 0 || name_chars > MAX_NAME_CHARS || name.chars().any(char::is_control) {
            return Err(LicenceFormError::Name);
        }
        let birth_date =
            NaiveDate::parse_from_str(&form.birth_date, "%Y-%m-%d").map_err(|_| LicenceFormError::BirthDate)?;
        if form.birth_date.len() != 10 || birth_date.year() < 1900 {
            return Err(LicenceFormError::BirthDate);
        }
        if birth_date > today {
            return Err(LicenceFormError::FutureBirthDate);
        }
        Ok(Self { number, name, birth_date })
    }

    /// Whether the rider is old enough to ride on `today`.
    pub fn old_enough_on(&self, today: NaiveDate) -> bool {
        age_on(self.birth_date, today) >= MIN_RIDER_AGE
    }
}

/// Full years from `birth` to `day`.
pub fn age_on(birth: NaiveDate, day: NaiveDate) -> u32 {
    let years = day.year() - birth.year();
    let before_birthday = (day.month(), day.day()) < (birth.month(), birth.day());
    u32::try_from(years - i32::from(before_birthday)).unwrap_or(0)
}

/// The classes of Korean driving licence. Every one allows a personal mobility device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum LicenceClass {
    /// 1종 대형
    FirstLarge,
    /// 1종 보통
    FirstOrdinary,
    /// 1종 소형
    FirstSmall,
    /// 1종 특수
    FirstSpecial,
    /// 2종 보통
    SecondOrdinary,
    /// 2종 소형
    SecondSmall,
    /// 2종 원동기장치자전거
    MotorizedBicycle,
}

/// A verified licence, as kept: no number, name or birth date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Licence {
    pub class: LicenceClass,
    pub last4: String,
    /// The number's keyed hash (HMAC-SHA-256 under the service's licence key, hex).
    pub number_hash: String,
    /// For the age rule, at most.
    pub birth_year: i32,
    pub verified_at: DateTime<Utc>,
    /// What the provider re-checks the licence by; not the number.
    pub reference: String,
}

/// When licences are required, and how long a verification lasts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LicencePolicy {
    pub required: bool,
    /// A verification older than this is re-checked at the next rent.
    pub recheck_after: Duration,
    /// While the provider cannot re-check, a verification this recent still rides.
    pub grace: Duration,
}

impl Default for LicencePolicy {
    fn default() -> Self {
        Self { required: true, recheck_after: Duration::days(30), grace: Duration::days(90) }
    }
}

impl LicencePolicy {
    /// The oldest verification a rent at `now` accepts without a re-check; `None` when no
    /// licence is required.
    pub fn fresh_since(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.required.then(|| now - self.recheck_after)
    }

    /// The oldest verification a rent at `now` accepts while the provider is down.
    pub fn grace_since(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        now - self.grace
    }
}

impl Licence {
    /// When the next rent re-checks it.
    pub fn recheck_after(&self, policy: &LicencePolicy) -> DateTime<Utc> {
        self.verified_at + policy.recheck_after
    }

    /// Whether a rent that needs a verification since `since` may start on this one.
    pub fn verified_since(&self, since: DateTime<Utc>) -> bool {
        self.verified_at >= since
    }
}

/// The licence rule of a rent that needs a verification made since `since` (`None`: no
/// licence is required).
pub fn ensure_may_ride(licence: Option<&Licence>, since: Option<DateTime<Utc>>) -> Result<(), RuleViolation> {
    let Some(since) = since else { return Ok(()) };
    match licence {
        None => Err(RuleViolation::LicenceRequired),
        Some(licence) if licence.verified_since(since) => Ok(()),
        Some(_) => Err(RuleViolation::LicenceRecheckDue),
    }
}

/// A customer's verifications in progress and recent failures: at most one provider call at
/// a time, and no guessing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LicenceChecks {
    /// Failed verifications, oldest first; only those in the window are kept.
    #[serde(default)]
    pub failures: Vec<DateTime<Utc>>,
    /// A verification is being made until then at the latest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_progress_until: Option<DateTime<Utc>>,
}

/// Why a verification may not start now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckRefused {
    /// Another verification of this customer is in progress until then at the latest.
    InProgress(DateTime<Utc>),
    /// Too many failed verifications: try again then.
    TooManyAttempts(DateTime<Utc>),
}

impl LicenceChecks {
    /// The checks once a verification started at `now`, holding until `until` at most.
    pub fn begin(&self, now: DateTime<Utc>, until: DateTime<Utc>) -> Result<LicenceChecks, CheckRefused> {
        let recent = self.recent_failures(now);
        if recent.len() >= MAX_FAILED_CHECKS {
            return Err(CheckRefused::TooManyAttempts(recent[recent.len() - MAX_FAILED_CHECKS] + FAILED_CHECK_WINDOW));
        }
        if let Some(held) = self.in_progress_until.filter(|held| *held > now) {
            return Err(CheckRefused::InProgress(held));
        }
        Ok(LicenceChecks { failures: recent, in_progress_until: Some(until) })
    }

    /// The checks once the verification in progress ended; `failed_at` when the provider
    /// rejected the licence.
    pub fn end(&self, failed_at: Option<DateTime<Utc>>) -> LicenceChecks {
        let mut failures = self.failures.clone();
        failures.extend(failed_at);
        let keep_from = failures.len().saturating_sub(MAX_FAILED_CHECKS);
        LicenceChecks { failures: failures.split_off(keep_from), in_progress_until: None }
    }

    fn recent_failures(&self, now: DateTime<Utc>) -> Vec<DateTime<Utc>> {
        self.failures.iter().copied().filter(|at| *at > now - FAILED_CHECK_WINDOW).collect()
    }
}

/// The event of a licence verified: who and which class, no personal data.
pub fn licence_verified(customer: &CustomerId, licence: &Licence) -> EventEnvelope {
    EventEnvelope::versioned_by_time(
        licence.verified_at,
        format!("licence-{customer}"),
        Some(customer.clone()),
        DomainEvent::LicenceVerified { licence_class: licence.class },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn numbers_are_read_in_both_forms_and_nothing_else() {
        let dashed = LicenceNumber::parse("11-22-333333-44").unwrap();
        assert_eq!(dashed.dashed(), "11-22-333333-44");
        assert_eq!(dashed.last4(), "3344");
        assert_eq!(LicenceNumber::parse("112233333344").unwrap(), dashed);
        assert_eq!(LicenceNumber::parse("서울 22-333333-44").unwrap(), dashed);
        assert_eq!(LicenceNumber::parse("경기북부 22-333333-44").unwrap().digits(), "282233333344");
        assert_eq!(LicenceNumber::parse("경기 22-333333-44").unwrap().digits(), "132233333344");
        for bad in ["", "11-22-333333-4", "11-22-33333a-44", "00-22-333333-44", "99-22-333333-44", "평양 22-333333-44"]
        {
            assert_eq!(LicenceNumber::parse(bad), Err(LicenceFormError::Number), "{bad}");
        }
        assert_eq!(format!("{dashed:?}"), "LicenceNumber(…)");
    }

    #[test]
    fn a_form_is_checked_field_by_field() {
        let form = |number: &str, name: &str, birth: &str| LicenceForm {
            licence_number: number.into(),
            name: name.into(),
            birth_date: birth.into(),
        };
        let today = day("2026-12-07");
        let checked = LicenceApplication::check(form("11-22-333333-44", " 홍길동 ", "2001-02-03"), today).unwrap();
        assert_eq!((checked.name.as_str(), checked.birth_date), ("홍길동", day("2001-02-03")));
        let refused = |number, name, birth| LicenceApplication::check(form(number, name, birth), today).unwrap_err();
        assert_eq!(refused("1", "홍길동", "2001-02-03").field(), "licenceNumber");
        assert_eq!(refused("11-22-333333-44", "", "2001-02-03").field(), "name");
        let long_name = "가".repeat(31);
        assert_eq!(refused("11-22-333333-44", &long_name, "2001-02-03").field(), "name");
        assert_eq!(refused("11-22-333333-44", "홍길동", "2001-02-30"), LicenceFormError::BirthDate);
        assert_eq!(refused("11-22-333333-44", "홍길동", "2026-12-08"), LicenceFormError::FutureBirthDate);
    }

    #[test]
    fn riders_are_sixteen_from_their_birthday_on() {
        assert_eq!(age_on(day("2010-12-07"), day("2026-12-06")), 15);
        assert_eq!(age_on(day("2010-12-07"), day("2026-12-07")), 16);
        assert_eq!(age_on(day("2008-02-29"), day("2024-02-28")), 15);
        assert_eq!(age_on(day("2008-02-29"), day("2024-02-29")), 16);
    }

    #[test]
    fn six_failures_a_day_are_refused_until_the_oldest_is_a_day_old() {
        let start = DateTime::parse_from_rfc3339("2026-12-07T00:00:00Z").unwrap().to_utc();
        let mut checks = LicenceChecks::default();
        for minute in 0..5 {
            let now = start + Duration::minutes(minute);
            checks = checks.begin(now, now + Duration::seconds(10)).unwrap().end(Some(now));
        }
        let later = start + Duration::hours(1);
        assert_eq!(
            checks.begin(later, later + Duration::seconds(10)),
            Err(CheckRefused::TooManyAttempts(start + FAILED_CHECK_WINDOW))
        );
        let next_day = start + FAILED_CHECK_WINDOW + Duration::seconds(1);
        assert!(checks.begin(next_day, next_day + Duration::seconds(10)).is_ok());
    }

    #[test]
    fn one_verification_at_a_time_until_its_lease_is_over() {
        let now = DateTime::parse_from_rfc3339("2026-12-07T00:00:00Z").unwrap().to_utc();
        let held = LicenceChecks::default().begin(now, now + Duration::seconds(10)).unwrap();
        assert_eq!(held.begin(now, now), Err(CheckRefused::InProgress(now + Duration::seconds(10))));
        assert!(held.begin(now + Duration::seconds(11), now + Duration::seconds(21)).is_ok());
        assert_eq!(held.end(None).in_progress_until, None);
    }
}
