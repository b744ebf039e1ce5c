//! Adapters behind the ports. SQLite is the embedded default; AWS adapters come beside it.

#[cfg(feature = "aws")]
pub mod aws;
pub mod http_payments;
pub mod payment_simulator;
#[cfg(feature = "sqlite")]
pub mod sqlite;

/// Whether a rent begins the ride now, or waits for the board to acknowledge its unlock
/// (`CommandedRides`): then its event and its stored answer wait too.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Begins {
    Now,
    OnUnlock,
}
