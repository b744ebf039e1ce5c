//! The business rules a command can break, one variant each.

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
    /// Starting a ride is not allowed where the board is; names the zone (or "outside every
    /// zone").
    #[error("a ride may not start here: {0}")]
    RideStartNotAllowed(String),
    #[error("a ride may not end here: {0}")]
    RideEndNotAllowed(String),
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
