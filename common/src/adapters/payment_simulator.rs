//! An in-process payment provider for local runs and tests, with settable latency,
//! failure rate and decline rate, that charges each idempotency key at most once.

use crate::domain::ids::PaymentId;
use crate::domain::plan::Won;
use crate::ports::{ChargeOutcome, ChargeRequest, PaymentError, PaymentProvider};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

/// How the simulated provider behaves.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct SimulatorSettings {
    pub latency_ms: u64,
    /// Share of calls that fail as unavailable, 0.0 to 1.0.
    pub failure_rate: f64,
    /// Share of calls that are declined, 0.0 to 1.0.
    pub decline_rate: f64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("latencyMs must be at most 60000 and rates between 0 and 1")]
pub struct SettingsError;

impl SimulatorSettings {
    pub fn validated(self) -> Result<Self, SettingsError> {
        let rate_ok = |rate: f64| (0.0..=1.0).contains(&rate);
        if self.latency_ms > 60_000 || !rate_ok(self.failure_rate) || !rate_ok(self.decline_rate) {
            return Err(SettingsError);
        }
        Ok(self)
    }
}

/// A charge the simulator took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimulatedCharge {
    pub payment_id: PaymentId,
    pub amount: Won,
}

/// What the simulator does with a charge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// The key was charged before: that charge again.
    Known(SimulatedCharge),
    Approved(SimulatedCharge),
    Declined,
    /// The provider fails; when the failure is one whose charge lands anyway (a timeout
    /// after charging), this is the charge taken.
    Failed {
        landed: Option<SimulatedCharge>,
    },
}

struct State {
    settings: SimulatorSettings,
    random: u64,
    /// Charges by idempotency key: a repeated key gets the first charge.
    ledger: HashMap<String, SimulatedCharge>,
}

/// The one payment simulator: in process behind the `PaymentProvider` port, and behind the
/// `payment-simulator` binary's HTTP API, which adds its ways of failing on top.
pub struct PaymentSimulator {
    state: Mutex<State>,
}

impl PaymentSimulator {
    pub fn new(settings: SimulatorSettings) -> Self {
        let seed = uuid::Uuid::new_v4().as_u64_pair().0 | 1;
        Self { state: Mutex::new(State { settings, random: seed, ledger: HashMap::new() }) }
    }

    pub fn settings(&self) -> SimulatorSettings {
        self.lock().settings
    }

    pub fn set_settings(&self, settings: SimulatorSettings) {
        self.lock().settings = settings;
    }

    /// How many distinct charges were taken.
    pub fn charge_count(&self) -> usize {
        self.lock().ledger.len()
    }

    /// The charge taken under `key`, if any.
    pub fn charge_of(&self, key: &str) -> Option<SimulatedCharge> {
        self.lock().ledger.get(key).cloned()
    }

    /// Decides a charge of `amount` under `key`: a key charged before gets that charge;
    /// otherwise it fails (the charge landing anyway when `failures_land`), is declined, or
    /// is approved, at the set rates. Charges taken enter the ledger at once.
    pub fn decide(&self, key: &str, amount: Won, failures_land: bool) -> Decision {
        let mut state = self.lock();
        if let Some(charge) = state.ledger.get(key) {
            return Decision::Known(charge.clone());
        }
        let settings = state.settings;
        let take = |state: &mut State| {
            let charge = SimulatedCharge { payment_id: PaymentId::random(), amount };
            state.ledger.insert(key.to_owned(), charge.clone());
            charge
        };
        if next_unit(&mut state.random) < settings.failure_rate {
            return Decision::Failed { landed: failures_land.then(|| take(&mut state)) };
        }
        if next_unit(&mut state.random) < settings.decline_rate {
            return Decision::Declined;
        }
        Decision::Approved(take(&mut state))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// xorshift64: plenty for simulated failure rates, and no extra crate.
fn next_unit(random: &mut u64) -> f64 {
    *random ^= *random << 13;
    *random ^= *random >> 7;
    *random ^= *random << 17;
    (*random >> 11) as f64 / (1u64 << 53) as f64
}

#[async_trait]
impl PaymentProvider for PaymentSimulator {
    async fn charge(&self, request: &ChargeRequest) -> Result<ChargeOutcome, PaymentError> {
        let latency = Duration::from_millis(self.settings().latency_ms);
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
        match self.decide(&request.idempotency_key, request.amount, false) {
            Decision::Known(charge) | Decision::Approved(charge) => {
                Ok(ChargeOutcome::Approved { payment_id: charge.payment_id })
            }
            Decision::Declined => Ok(ChargeOutcome::Declined { reason: "simulated decline".into() }),
            Decision::Failed { .. } => Err(PaymentError::Unavailable("simulated provider failure".into())),
        }
    }
}
