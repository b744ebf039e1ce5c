//! The local server's clock: the clock it was started with, moved forward on request
//! (loopback-only `PUT /local/clock`), so what depends on time (an MDS hour being over, a
//! pass expiring, a policy's window) can be tried on a laptop without waiting for it.

use chrono::{DateTime, Duration, Utc};
use kickboard_common::ports::Clock;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

/// The furthest the clock may be moved: far enough for any expiry, near enough that
/// timestamps stay ordinary.
pub const MAX_OFFSET_SECONDS: i64 = 10 * 366 * 24 * 3600;

/// A clock running `offset` ahead of its base, the offset only ever growing: time never runs
/// backwards under a running server (stored times, hours already served, a ride in progress).
pub struct ShiftedClock {
    base: Arc<dyn Clock>,
    offset_seconds: AtomicI64,
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum ShiftError {
    #[error("the clock only moves forward: it is already {current} s ahead")]
    Backwards { current: i64 },
    #[error("the offset must be between 0 and {MAX_OFFSET_SECONDS} s")]
    OutOfRange,
}

impl ShiftedClock {
    pub fn new(base: Arc<dyn Clock>) -> Self {
        Self { base, offset_seconds: AtomicI64::new(0) }
    }

    pub fn offset_seconds(&self) -> i64 {
        self.offset_seconds.load(Ordering::SeqCst)
    }

    /// Runs the clock `seconds` ahead of its base from now on; setting the current offset
    /// again changes nothing.
    pub fn shift_to(&self, seconds: i64) -> Result<(), ShiftError> {
        if !(0..=MAX_OFFSET_SECONDS).contains(&seconds) {
            return Err(ShiftError::OutOfRange);
        }
        self.offset_seconds
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |current| (seconds >= current).then_some(seconds))
            .map(|_| ())
            .map_err(|current| ShiftError::Backwards { current })
    }
}

impl Clock for ShiftedClock {
    fn now(&self) -> DateTime<Utc> {
        self.base.now() + Duration::seconds(self.offset_seconds())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kickboard_common::ports::SystemClock;

    #[test]
    fn moves_forward_only_and_within_range() {
        let clock = ShiftedClock::new(Arc::new(SystemClock));
        let before = clock.now();
        clock.shift_to(3600).unwrap();
        assert!(clock.now() >= before + Duration::seconds(3600));
        clock.shift_to(3600).unwrap();
        assert_eq!(clock.shift_to(60), Err(ShiftError::Backwards { current: 3600 }));
        assert_eq!(clock.shift_to(-1), Err(ShiftError::OutOfRange));
        assert_eq!(clock.shift_to(MAX_OFFSET_SECONDS + 1), Err(ShiftError::OutOfRange));
        assert_eq!(clock.offset_seconds(), 3600);
    }
}
