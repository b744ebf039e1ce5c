//! An in-process licence verification provider for local runs and tests: every well-formed
//! number is valid unless listed as invalid; it can be slow or fail at a set rate. Stateless
//! besides its settings: a licence's reference is a hash of its number under a fixed key, so
//! a re-check after a restart finds the same answer.

use crate::domain::licence::{LicenceApplication, LicenceClass, LicenceNumber};
use crate::ports::{LicenceCheckError, LicenceVerdict, LicenceVerifier};
use async_trait::async_trait;
use aws_lc_rs::hmac;
use serde::{Deserialize, Serialize};
use std::sync::Mutex;
use std::time::Duration;

/// How the simulated provider behaves.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct LicenceSimulatorSettings {
    /// Numbers the provider rejects, in either form.
    pub invalid_numbers: Vec<String>,
    /// Share of calls that fail as unavailable, 0.0 to 1.0.
    pub failure_rate: f64,
    pub latency_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalidNumbers must be licence numbers, failureRate between 0 and 1, latencyMs at most 60000")]
pub struct LicenceSettingsError;

struct State {
    /// The references of the numbers rejected.
    invalid: Vec<String>,
    failure_rate: f64,
    latency: Duration,
    random: u64,
}

pub struct LicenceSimulator {
    state: Mutex<State>,
}

/// The class every licence the simulator knows has: the most common one.
const SIMULATED_CLASS: LicenceClass = LicenceClass::SecondOrdinary;

fn reference(number: &LicenceNumber) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, b"kickboard licence simulator");
    let tag = hmac::sign(&key, number.digits().as_bytes());
    tag.as_ref()[..16].iter().map(|byte| format!("{byte:02x}")).collect()
}

impl Default for LicenceSimulator {
    fn default() -> Self {
        Self::new(LicenceSimulatorSettings::default()).expect("the defaults are valid")
    }
}

impl LicenceSimulator {
    pub fn new(settings: LicenceSimulatorSettings) -> Result<Self, LicenceSettingsError> {
        let seed = uuid::Uuid::new_v4().as_u64_pair().0 | 1;
        let state = State { invalid: Vec::new(), failure_rate: 0.0, latency: Duration::ZERO, random: seed };
        let simulator = Self { state: Mutex::new(state) };
        simulator.configure(settings)?;
        Ok(simulator)
    }

    /// Changes how it behaves from now on; nothing changes when `settings` are not valid.
    pub fn configure(&self, settings: LicenceSimulatorSettings) -> Result<(), LicenceSettingsError> {
        let invalid = settings
            .invalid_numbers
            .iter()
            .map(|number| LicenceNumber::parse(number).map(|number| reference(&number)))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| LicenceSettingsError)?;
        if !(0.0..=1.0).contains(&settings.failure_rate) || settings.latency_ms > 60_000 {
            return Err(LicenceSettingsError);
        }
        let mut state = self.state.lock().expect("not poisoned");
        state.invalid = invalid;
        state.failure_rate = settings.failure_rate;
        state.latency = Duration::from_millis(settings.latency_ms);
        Ok(())
    }

    /// The verdict on the licence with this reference, after the latency; or a failure.
    async fn answer(&self, reference: String) -> Result<LicenceVerdict, LicenceCheckError> {
        let (latency, fails, invalid) = {
            let mut state = self.state.lock().expect("not poisoned");
            // xorshift64: enough for failure rates.
            state.random ^= state.random << 13;
            state.random ^= state.random >> 7;
            state.random ^= state.random << 17;
            let draw = (state.random % 1_000_000) as f64 / 1_000_000.0;
            (state.latency, draw < state.failure_rate, state.invalid.contains(&reference))
        };
        tokio::time::sleep(latency).await;
        if fails {
            return Err(LicenceCheckError::Unavailable("simulated provider failure".into()));
        }
        Ok(if invalid {
            LicenceVerdict::Invalid { reason: "no valid licence with this number".into() }
        } else {
            LicenceVerdict::Valid { class: SIMULATED_CLASS, reference }
        })
    }
}

#[async_trait]
impl LicenceVerifier for LicenceSimulator {
    async fn verify(&self, application: &LicenceApplication) -> Result<LicenceVerdict, LicenceCheckError> {
        self.answer(reference(&application.number)).await
    }

    async fn recheck(&self, reference: &str) -> Result<LicenceVerdict, LicenceCheckError> {
        self.answer(reference.to_owned()).await
    }
}
