//! The business rules a command can break, one variant each.

use std::collections::BTreeMap;
use std::fmt;

/// Where a ride was refused: the zone (or "outside every zone"), and the city's message for the
/// rider in each language it gave, when a city's rule refused it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZoneRefusal {
    pub place: String,
    /// Language tag → the rider's message (MDS Policy rule `messages`).
    pub messages: BTreeMap<String, String>,
}

/// The rider's message in `language` (a tag such as `ko` or `en-US`): that tag, else the same
/// language, else English, else any given.
pub fn message_in<'a>(messages: &'a BTreeMap<String, String>, language: &str) -> Option<&'a str> {
    let primary = |tag: &str| tag.split('-').next().unwrap_or_default().to_ascii_lowercase();
    let find =
        |wanted: &dyn Fn(&str) -> bool| messages.iter().find(|(tag, _)| wanted(tag)).map(|(_, text)| text.as_str());
    find(&|tag| tag.eq_ignore_ascii_case(language))
        .or_else(|| find(&|tag| primary(tag) == primary(language)))
        .or_else(|| find(&|tag| primary(tag) == "en"))
        .or_else(|| messages.values().next().map(String::as_str))
}

impl ZoneRefusal {
    /// The place, and the city's message in `language` when it gave one.
    pub fn in_language(&self, language: &str) -> String {
        match message_in(&self.messages, language) {
            Some(text) => format!("{}: {text}", self.place),
            None => self.place.clone(),
        }
    }
}

impl fmt::Display for ZoneRefusal {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.in_language("en"))
    }
}

/// A command was refused by a rule. Each variant maps to one stable problem type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleViolation {
    #[error("there is no such plan")]
    UnknownPlan,
    #[error("no such pass")]
    PassNotFound,
    #[error("the pass is already paid")]
    PassAlreadyPaid,
    #[error("the pass is not paid yet")]
    PassNotActive,
    #[error("the pass has no minutes left")]
    PassExhausted,
    #[error("the pass has expired")]
    PassExpired,
    #[error("the pass already has an open rental")]
    PassHasOpenRental,
    #[error("no such kickboard")]
    KickboardNotFound,
    #[error("the kickboard is not available")]
    KickboardUnavailable,
    #[error("the kickboard's battery is too low to rent")]
    BatteryTooLow,
    #[error("the kickboard is rented")]
    KickboardRented,
    #[error("a kickboard with this id already exists")]
    KickboardIdTaken,
    #[error("no such rental")]
    RentalNotFound,
    #[error("the rental is already returned")]
    RentalAlreadyReturned,
    #[error("no such zone")]
    ZoneNotFound,
    /// Another document is stored under this MDS id: a city's documents never change.
    #[error("another document was published under this id")]
    CityDocumentPublished,
    /// Starting a ride is not allowed where the board is; names the zone (or "outside every
    /// zone"), and the city's rule when it is one.
    #[error("a ride may not start here: {0}")]
    RideStartNotAllowed(ZoneRefusal),
    #[error("a ride may not end here: {0}")]
    RideEndNotAllowed(ZoneRefusal),
    /// Riding needs a verified driving licence (`PUT /me/licence`).
    #[error("a verified driving licence is needed to ride")]
    LicenceRequired,
    /// The rider's verification is older than the re-check period: the provider is asked again
    /// before the rent (never the caller's problem unless that fails).
    #[error("the driving licence must be checked again")]
    LicenceRecheckDue,
    /// A rent outlived its hold on the board: another request took it for a dead one and undid
    /// it (or the rental was never a hold). Whoever undid it, nothing of it is left.
    #[error("the rent no longer holds its kickboard")]
    HoldReleased,
    /// A request with this idempotency key was already handled (its answer is stored).
    #[error("this idempotency key was already used")]
    DuplicateRequest,
    /// Stored records disagree with each other; never the caller's fault.
    #[error("stored state is inconsistent: {0}")]
    Inconsistent(&'static str),
}
