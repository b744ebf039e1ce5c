//! Verifying driving licences through the shared breaker, and the keyed hash a licence number
//! is kept as: the provider is only called when the licence breaker allows it.

use crate::domain::breaker::BreakerPolicy;
use crate::domain::licence::{LicenceApplication, LicenceNumber};
use crate::guard::{BreakerOpen, SharedBreaker};
use crate::ports::{BreakerStore, Clock, LicenceCheckError, LicenceVerdict, LicenceVerifier, PortResult};
use aws_lc_rs::hmac;
use std::sync::Arc;

/// The breaker that guards the licence provider.
pub const LICENCE_BREAKER: &str = "licences";
/// The `Retry-After` for a failed call while the breaker is still closed.
const RETRY_AFTER_FAILURE_SECS: u64 = 5;

/// The provider could not be asked: try again in this many seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckUnavailable {
    pub retry_after_secs: u64,
}

/// The secret licence numbers are hashed with: the same in every instance, so one licence
/// always hashes the same.
pub struct LicenceKey(hmac::Key);

impl std::fmt::Debug for LicenceKey {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("LicenceKey(…)")
    }
}

impl LicenceKey {
    pub fn new(secret: &[u8]) -> Self {
        Self(hmac::Key::new(hmac::HMAC_SHA256, secret))
    }

    /// HMAC-SHA-256 of the number's digits, in hex: what is kept instead of the number.
    pub fn hash(&self, number: &LicenceNumber) -> String {
        hmac::sign(&self.0, number.digits().as_bytes()).as_ref().iter().map(|byte| format!("{byte:02x}")).collect()
    }
}

pub struct GuardedLicenceChecks {
    verifier: Arc<dyn LicenceVerifier>,
    breaker: SharedBreaker,
    key: LicenceKey,
}

impl GuardedLicenceChecks {
    pub fn new(
        verifier: Arc<dyn LicenceVerifier>,
        breakers: Arc<dyn BreakerStore>,
        policy: BreakerPolicy,
        clock: Arc<dyn Clock>,
        key: LicenceKey,
    ) -> Self {
        Self { verifier, breaker: SharedBreaker::new(LICENCE_BREAKER, breakers, policy, clock), key }
    }

    pub fn key(&self) -> &LicenceKey {
        &self.key
    }

    /// Verifies unless the breaker says not to.
    pub async fn verify(
        &self,
        application: &LicenceApplication,
    ) -> PortResult<Result<LicenceVerdict, CheckUnavailable>> {
        self.guarded(self.verifier.verify(application)).await
    }

    /// Re-checks a licence verified before, unless the breaker says not to.
    pub async fn recheck(&self, reference: &str) -> PortResult<Result<LicenceVerdict, CheckUnavailable>> {
        self.guarded(self.verifier.recheck(reference)).await
    }

    async fn guarded(
        &self,
        call: impl Future<Output = Result<LicenceVerdict, LicenceCheckError>>,
    ) -> PortResult<Result<LicenceVerdict, CheckUnavailable>> {
        Ok(match self.breaker.call(call).await? {
            Err(BreakerOpen { retry_after_secs }) => Err(CheckUnavailable { retry_after_secs }),
            Ok(Ok(verdict)) => Ok(verdict),
            Ok(Err(LicenceCheckError::Unavailable(detail))) => {
                tracing::warn!(%detail, "licence provider failed");
                Err(CheckUnavailable { retry_after_secs: RETRY_AFTER_FAILURE_SECS })
            }
        })
    }
}
