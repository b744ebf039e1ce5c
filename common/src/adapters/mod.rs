//! Adapters behind the ports. SQLite is the embedded default; AWS adapters come beside it.

#[cfg(feature = "aws")]
pub mod aws;
pub mod http_licences;
pub mod http_payments;
pub mod https;
pub mod licence_simulator;
pub mod payment_simulator;
#[cfg(feature = "sqlite")]
pub mod sqlite;

/// Whether a rent begins the ride now, or waits for the board to acknowledge its unlock
/// (`CommandedRides`), at the latest until `held_until`: then its event and its stored answer
/// wait too.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Begins {
    Now,
    OnUnlock { held_until: chrono::DateTime<chrono::Utc> },
}

impl Begins {
    /// The rental a rent took, as this rent stores it.
    pub(crate) fn rental(self, rental: crate::domain::rental::Rental) -> crate::domain::rental::Rental {
        match self {
            Begins::Now => rental,
            Begins::OnUnlock { held_until } => rental.held(held_until),
        }
    }
}
