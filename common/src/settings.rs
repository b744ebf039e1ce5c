//! Every setting a function reads, read from the environment once, when it starts (zero2prod's
//! `configuration.rs` is the model): a wrong value stops the start with a message naming the
//! variable, instead of failing one request later. The local server fills the same value from
//! its command line.

use crate::adapters::http_payments::PaymentTimeouts;
use crate::adapters::payment_simulator::SimulatorSettings;
use crate::domain::breaker::BreakerPolicy;
use crate::domain::commands::{MAX_SPEED_KPH, MIN_SPEED_KPH, SpeedCap};
use crate::domain::licence::LicencePolicy;
use crate::domain::mds::MdsIds;
use crate::domain::mds_reports::DEFAULT_CITY_TIME_ZONE;
use crate::domain::vehicle::{BatteryPct, BatteryRules};
use crate::handlers::gbfs::GbfsSettings;
use crate::zone_cache::CityContext;
use chrono_tz::Tz;
use std::time::Duration;

/// How long a Lambda instance uses its zones before asking the store whether they changed
/// (one small read): a zone change holds everywhere within a second, and a busy instance
/// reads the version once a second, not once a ride.
pub const ZONE_CHECK_INTERVAL: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// `KICKBOARD_MIN_BATTERY_PCT` and `KICKBOARD_LOW_BATTERY_PCT` (15 and 20).
    pub battery: BatteryRules,
    /// `GBFS_*`.
    pub gbfs: GbfsSettings,
    pub payments: PaymentSettings,
    /// How long zones are used before their version is read again.
    pub zone_check_interval: Duration,
    /// `KICKBOARD_CURSOR_KEY`: the secret page cursors are signed with (on AWS, a Secrets
    /// Manager secret the template puts there; locally, a key kept in the data dir).
    pub cursor_secret: Option<Secret>,
    /// `KICKBOARD_COMMAND_TIMEOUT_MS`: how long a vehicle has to acknowledge a command (5 s).
    pub command_timeout: Duration,
    /// `KICKBOARD_MAX_SPEED_KPH`: the fleet's speed cap, where no zone sets a lower one (25;
    /// Korea's coming law for shared scooters is 20).
    pub max_speed: SpeedCap,
    pub licence: LicenceSettings,
    /// `KICKBOARD_MDS_PROVIDER_ID`: the operator's MDS `provider_id` (the Open Mobility
    /// Foundation lists each operator's), from which the ids agencies see are derived.
    pub mds: MdsIds,
    /// `KICKBOARD_CITY_TIME_ZONE`: the IANA time zone of the city the fleet runs in
    /// (`Asia/Seoul`), whose months the cities' reports count by.
    pub city_time_zone: Tz,
    #[cfg(feature = "aws")]
    pub aws: AwsSettings,
}

/// The `provider_id` until the operator sets its own: the ids agencies see derive from it,
/// so a deployment must set its own before a city reads its data.
pub const DEFAULT_MDS_PROVIDER_ID: uuid::Uuid = uuid::uuid!("5f7c3a3e-6a4f-4e0b-9a52-7c1b6e0d9b21");

/// How long a vehicle has to acknowledge a command unless configured otherwise.
pub const DEFAULT_COMMAND_TIMEOUT: Duration = Duration::from_secs(5);

/// A secret value: never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub Vec<u8>);

impl std::fmt::Debug for Secret {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("Secret(…)")
    }
}

/// Which provider charges a pass, how long it may take, and when the breaker opens.
#[derive(Debug, Clone, PartialEq)]
pub struct PaymentSettings {
    pub provider: PaymentProviderSetting,
    pub timeouts: PaymentTimeouts,
    pub breaker: BreakerPolicy,
}

/// `PAYMENT_MODE=simulator` (with `PAYMENT_SIMULATOR_*`), or `PAYMENT_PROVIDER_URL`.
#[derive(Debug, Clone, PartialEq)]
pub enum PaymentProviderSetting {
    /// Neither: every payment is refused, never approved for free.
    NotConfigured,
    Simulator(SimulatorSettings),
    Url(String),
}

/// Whether riders need a verified driving licence, who verifies it, and how it is kept.
#[derive(Debug, Clone, PartialEq)]
pub struct LicenceSettings {
    /// `KICKBOARD_LICENCE_REQUIRED` (true: the law where the service runs),
    /// `KICKBOARD_LICENCE_RECHECK_DAYS` (30) and `KICKBOARD_LICENCE_GRACE_DAYS` (90).
    pub policy: LicencePolicy,
    pub provider: LicenceProviderSetting,
    /// `LICENCE_TIMEOUT_MS`: how long a verification may take (3 s).
    pub timeout: Duration,
    pub breaker: BreakerPolicy,
    /// `KICKBOARD_LICENCE_HASH_KEY`: the secret licence numbers are hashed with (on AWS, a
    /// Secrets Manager secret the template puts there; locally, a key kept in the data dir).
    pub hash_secret: Option<Secret>,
}

/// `LICENCE_MODE=simulator`, or `LICENCE_PROVIDER_URL`.
#[derive(Debug, Clone, PartialEq)]
pub enum LicenceProviderSetting {
    /// Neither: every verification is refused as unavailable, never approved for free.
    NotConfigured,
    Simulator,
    Url(String),
}

/// Where the AWS adapters find their resources.
#[cfg(feature = "aws")]
#[derive(Debug, Clone, PartialEq)]
pub struct AwsSettings {
    /// `KICKBOARD_STATE_TABLE` and `KICKBOARD_VIEW_TABLE`; `None` when either is unset.
    pub tables: Option<crate::adapters::aws::Tables>,
    /// `PUSH_PLATFORM_APPLICATION_FCM_ARN` and `_APNS_ARN`.
    pub push_applications: crate::adapters::aws::PushApplications,
    /// `KICKBOARD_EVENT_BUS`: where the stream's events are put.
    pub event_bus: Option<String>,
    /// `KICKBOARD_IOT_DATA_ENDPOINT`: the account's IoT Core data endpoint (`iot:Data-ATS`),
    /// through which commands reach the vehicles; without it no command is sent and rents do
    /// not wait for an unlock.
    pub iot_data_endpoint: Option<String>,
}

type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

impl Settings {
    pub fn from_env() -> Result<Self, String> {
        Self::from_vars(&|name| std::env::var(name).ok().filter(|value| !value.is_empty()))
    }

    /// The settings from variables looked up with `var` (unset and empty alike are `None`).
    pub fn from_vars(var: Env<'_>) -> Result<Self, String> {
        let payments = PaymentSettings::from_vars(var)?;
        Ok(Self {
            battery: battery_rules(var)?,
            gbfs: gbfs_settings(var)?,
            payments,
            zone_check_interval: ZONE_CHECK_INTERVAL,
            cursor_secret: var("KICKBOARD_CURSOR_KEY").map(|secret| Secret(secret.into_bytes())),
            command_timeout: command_timeout(var)?,
            max_speed: max_speed(var)?,
            licence: LicenceSettings::from_vars(var)?,
            mds: mds_ids(var)?,
            city_time_zone: city_time_zone(var)?,
            #[cfg(feature = "aws")]
            aws: AwsSettings::from_vars(var),
        })
    }

    /// Whose rules a city's MDS Policy is compiled for, and the time zone of its rule times.
    pub fn city_context(&self) -> CityContext {
        CityContext { time_zone: self.city_time_zone, provider_id: self.mds.provider_id() }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Self::from_vars(&|_| None).expect("the defaults are valid")
    }
}

fn battery_rules(var: Env<'_>) -> Result<BatteryRules, String> {
    let defaults = BatteryRules::default();
    let read = |name: &str, default: BatteryPct| match var(name) {
        None => Ok(default),
        Some(value) => value
            .trim()
            .parse::<u8>()
            .ok()
            .and_then(|value| BatteryPct::try_from(value).ok())
            .ok_or_else(|| format!("{name} must be a whole percentage from 0 to 100, not {value:?}")),
    };
    Ok(BatteryRules {
        min_to_rent: read("KICKBOARD_MIN_BATTERY_PCT", defaults.min_to_rent)?,
        low: read("KICKBOARD_LOW_BATTERY_PCT", defaults.low)?,
    })
}

/// The fleet's speed cap unless configured otherwise.
pub const DEFAULT_MAX_SPEED_KPH: u8 = 25;

fn max_speed(var: Env<'_>) -> Result<SpeedCap, String> {
    let value = var("KICKBOARD_MAX_SPEED_KPH").unwrap_or_else(|| DEFAULT_MAX_SPEED_KPH.to_string());
    value.trim().parse::<u8>().ok().and_then(|kph| SpeedCap::try_from(kph).ok()).ok_or_else(|| {
        format!("KICKBOARD_MAX_SPEED_KPH must be {MIN_SPEED_KPH} to {MAX_SPEED_KPH} km/h, not {value:?}")
    })
}

fn city_time_zone(var: Env<'_>) -> Result<Tz, String> {
    let Some(value) = var("KICKBOARD_CITY_TIME_ZONE") else { return Ok(DEFAULT_CITY_TIME_ZONE) };
    value
        .trim()
        .parse::<Tz>()
        .map_err(|_| format!("KICKBOARD_CITY_TIME_ZONE must be an IANA time zone such as Asia/Seoul, not {value:?}"))
}

fn mds_ids(var: Env<'_>) -> Result<MdsIds, String> {
    let Some(value) = var("KICKBOARD_MDS_PROVIDER_ID") else { return Ok(MdsIds::new(DEFAULT_MDS_PROVIDER_ID)) };
    uuid::Uuid::parse_str(value.trim())
        .map(MdsIds::new)
        .map_err(|_| format!("KICKBOARD_MDS_PROVIDER_ID must be a UUID, not {value:?}"))
}

fn command_timeout(var: Env<'_>) -> Result<Duration, String> {
    let Some(value) = var("KICKBOARD_COMMAND_TIMEOUT_MS") else { return Ok(DEFAULT_COMMAND_TIMEOUT) };
    value
        .trim()
        .parse::<u64>()
        .ok()
        .filter(|ms| (100..=60_000).contains(ms))
        .map(Duration::from_millis)
        .ok_or_else(|| format!("KICKBOARD_COMMAND_TIMEOUT_MS must be 100 to 60000 milliseconds, not {value:?}"))
}

fn gbfs_settings(var: Env<'_>) -> Result<GbfsSettings, String> {
    let defaults = GbfsSettings::default();
    let ttl_secs = match var("GBFS_TTL_SECONDS") {
        None => defaults.ttl_secs,
        // GBFS: vehicle data is never more than 5 minutes out of date.
        Some(value) => value
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|secs| *secs <= 300)
            .ok_or_else(|| format!("GBFS_TTL_SECONDS must be 0 to 300 seconds, not {value:?}"))?,
    };
    Ok(GbfsSettings {
        system_id: var("GBFS_SYSTEM_ID").unwrap_or(defaults.system_id),
        name_ko: var("GBFS_NAME_KO").unwrap_or(defaults.name_ko),
        name_en: var("GBFS_NAME_EN").unwrap_or(defaults.name_en),
        timezone: var("GBFS_TIMEZONE").unwrap_or(defaults.timezone),
        feed_contact_email: var("GBFS_FEED_CONTACT_EMAIL").unwrap_or(defaults.feed_contact_email),
        ttl_secs,
    })
}

impl PaymentSettings {
    fn from_vars(var: Env<'_>) -> Result<Self, String> {
        let millis = |name: &str, default: u64| {
            Duration::from_millis(var(name).and_then(|value| value.parse().ok()).unwrap_or(default))
        };
        let timeouts = PaymentTimeouts {
            connect: millis("PAYMENT_CONNECT_TIMEOUT_MS", 300),
            total: millis("PAYMENT_TIMEOUT_MS", 2_500),
        };
        let provider = if var("PAYMENT_MODE").is_some_and(|mode| mode == "simulator") {
            let rate = |name: &str| var(name).and_then(|value| value.parse().ok()).unwrap_or_default();
            let simulator = SimulatorSettings {
                latency_ms: var("PAYMENT_SIMULATOR_LATENCY_MS")
                    .and_then(|value| value.parse().ok())
                    .unwrap_or_default(),
                failure_rate: rate("PAYMENT_SIMULATOR_FAILURE_RATE"),
                decline_rate: rate("PAYMENT_SIMULATOR_DECLINE_RATE"),
            };
            PaymentProviderSetting::Simulator(
                simulator.validated().map_err(|error| format!("PAYMENT_SIMULATOR_*: {error}"))?,
            )
        } else {
            match var("PAYMENT_PROVIDER_URL") {
                Some(url) => PaymentProviderSetting::Url(url),
                None => PaymentProviderSetting::NotConfigured,
            }
        };
        Ok(Self { provider, timeouts, breaker: breaker_policy(var, timeouts.total) })
    }
}

impl LicenceSettings {
    fn from_vars(var: Env<'_>) -> Result<Self, String> {
        let defaults = LicencePolicy::default();
        let required = match var("KICKBOARD_LICENCE_REQUIRED").as_deref().map(str::trim) {
            None | Some("true") => true,
            Some("false") => false,
            Some(other) => return Err(format!("KICKBOARD_LICENCE_REQUIRED must be true or false, not {other:?}")),
        };
        let days = |name: &str, default: chrono::Duration| match var(name) {
            None => Ok(default),
            Some(value) => value
                .trim()
                .parse::<i64>()
                .ok()
                .filter(|days| (1..=3650).contains(days))
                .map(chrono::Duration::days)
                .ok_or_else(|| format!("{name} must be 1 to 3650 days, not {value:?}")),
        };
        let policy = LicencePolicy {
            required,
            recheck_after: days("KICKBOARD_LICENCE_RECHECK_DAYS", defaults.recheck_after)?,
            grace: days("KICKBOARD_LICENCE_GRACE_DAYS", defaults.grace)?,
        };
        let provider = match (var("LICENCE_MODE").as_deref(), var("LICENCE_PROVIDER_URL")) {
            (Some("simulator"), _) => LicenceProviderSetting::Simulator,
            (Some(other), _) => return Err(format!("LICENCE_MODE must be simulator or unset, not {other:?}")),
            (None, Some(url)) => LicenceProviderSetting::Url(url),
            (None, None) => LicenceProviderSetting::NotConfigured,
        };
        let timeout = match var("LICENCE_TIMEOUT_MS") {
            None => Duration::from_secs(3),
            Some(value) => value
                .trim()
                .parse::<u64>()
                .ok()
                .filter(|ms| (100..=10_000).contains(ms))
                .map(Duration::from_millis)
                .ok_or_else(|| format!("LICENCE_TIMEOUT_MS must be 100 to 10000 milliseconds, not {value:?}"))?,
        };
        Ok(Self {
            policy,
            provider,
            timeout,
            breaker: breaker_policy(var, timeout),
            hash_secret: var("KICKBOARD_LICENCE_HASH_KEY").map(|secret| Secret(secret.into_bytes())),
        })
    }
}

/// Breaker thresholds, from `KICKBOARD_BREAKER_*` variables or defaults.
fn breaker_policy(var: Env<'_>, payment_timeout: Duration) -> BreakerPolicy {
    let number = |name: &str, default: f64| {
        var(name).and_then(|value| value.parse::<f64>().ok()).filter(|v| v.is_finite()).unwrap_or(default)
    };
    let millis = |seconds: f64| chrono::Duration::milliseconds((seconds * 1000.0) as i64);
    BreakerPolicy {
        window: millis(number("KICKBOARD_BREAKER_WINDOW_SECS", 30.0)),
        min_calls: number("KICKBOARD_BREAKER_MIN_CALLS", 10.0) as u32,
        failure_rate: number("KICKBOARD_BREAKER_FAILURE_RATE", 0.5).clamp(0.0, 1.0),
        cool_down: millis(number("KICKBOARD_BREAKER_COOL_DOWN_SECS", 15.0)),
        // A probe that outlives the provider timeout has failed; leave a second of slack.
        probe_timeout: chrono::Duration::from_std(payment_timeout).unwrap_or(chrono::Duration::seconds(2))
            + chrono::Duration::seconds(1),
    }
}

#[cfg(feature = "aws")]
impl AwsSettings {
    fn from_vars(var: Env<'_>) -> Self {
        let tables = match (var("KICKBOARD_STATE_TABLE"), var("KICKBOARD_VIEW_TABLE")) {
            (Some(state), Some(views)) => Some(crate::adapters::aws::Tables { state, views }),
            _ => None,
        };
        let push_applications = crate::adapters::aws::PushApplications {
            fcm: var("PUSH_PLATFORM_APPLICATION_FCM_ARN"),
            apns: var("PUSH_PLATFORM_APPLICATION_APNS_ARN"),
        };
        Self {
            tables,
            push_applications,
            event_bus: var("KICKBOARD_EVENT_BUS"),
            iot_data_endpoint: var("KICKBOARD_IOT_DATA_ENDPOINT"),
        }
    }

    /// The tables, which every function that reads the store needs.
    pub fn tables(&self) -> Result<crate::adapters::aws::Tables, String> {
        self.tables.clone().ok_or_else(|| "KICKBOARD_STATE_TABLE and KICKBOARD_VIEW_TABLE must be set".to_owned())
    }

    /// The event bus, which the relay and the operators' tools need.
    pub fn event_bus(&self) -> Result<String, String> {
        self.event_bus.clone().ok_or_else(|| "KICKBOARD_EVENT_BUS is not set".to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn from(vars: &[(&str, &str)]) -> Result<Settings, String> {
        let vars: HashMap<String, String> = vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        Settings::from_vars(&|name| vars.get(name).cloned())
    }

    #[test]
    fn reads_each_setting_and_names_the_variable_at_fault() {
        let settings =
            from(&[("KICKBOARD_MIN_BATTERY_PCT", "30"), ("PAYMENT_PROVIDER_URL", "http://127.0.0.1:9")]).unwrap();
        assert_eq!(settings.battery.min_to_rent.get(), 30);
        assert_eq!(settings.payments.provider, PaymentProviderSetting::Url("http://127.0.0.1:9".into()));
        assert_eq!(Settings::default().payments.provider, PaymentProviderSetting::NotConfigured);
        let error = from(&[("GBFS_TTL_SECONDS", "301")]).unwrap_err();
        assert!(error.contains("GBFS_TTL_SECONDS"), "{error}");
        let error = from(&[("KICKBOARD_LOW_BATTERY_PCT", "101")]).unwrap_err();
        assert!(error.contains("KICKBOARD_LOW_BATTERY_PCT"), "{error}");
        let error = from(&[("PAYMENT_MODE", "simulator"), ("PAYMENT_SIMULATOR_FAILURE_RATE", "2")]).unwrap_err();
        assert!(error.contains("PAYMENT_SIMULATOR"), "{error}");
        assert!(Settings::default().licence.policy.required, "licences are required unless turned off");
        let settings = from(&[("KICKBOARD_LICENCE_REQUIRED", "false"), ("LICENCE_MODE", "simulator")]).unwrap();
        assert_eq!(
            (settings.licence.policy.required, settings.licence.provider),
            (false, LicenceProviderSetting::Simulator)
        );
        assert_eq!(Settings::default().city_time_zone, chrono_tz::Asia::Seoul);
        let settings = from(&[("KICKBOARD_CITY_TIME_ZONE", "America/Los_Angeles")]).unwrap();
        assert_eq!(settings.city_time_zone, chrono_tz::America::Los_Angeles);
        for (name, value) in [
            ("KICKBOARD_LICENCE_REQUIRED", "no"),
            ("KICKBOARD_LICENCE_GRACE_DAYS", "0"),
            ("KICKBOARD_CITY_TIME_ZONE", "KST"),
        ] {
            assert!(from(&[(name, value)]).unwrap_err().contains(name), "{name}");
        }
    }
}
