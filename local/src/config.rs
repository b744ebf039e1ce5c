//! Command-line configuration of the local server.

use crate::aws_flow::EventQueues;
use crate::console::ConsoleSettings;
use kickboard_common::adapters::aws::{PushApplications, Tables};
use kickboard_common::adapters::http_payments::PaymentTimeouts;
use kickboard_common::adapters::payment_simulator::SimulatorSettings;
use kickboard_common::domain::breaker::BreakerPolicy;
use kickboard_common::domain::commands::SpeedCap;
use kickboard_common::domain::mds::MdsIds;
use kickboard_common::domain::vehicle::BatteryRules;
use kickboard_common::handlers::gbfs::GbfsSettings;
use kickboard_common::settings::{
    AwsSettings, LicenceProviderSetting, LicenceSettings, PaymentProviderSetting, PaymentSettings, Settings,
};
use std::net::SocketAddr;
use std::path::PathBuf;

pub const USAGE: &str = "\
kickboard-local: the whole Kickboard service in one process, on the embedded SQLite store.

USAGE:
    kickboard-local [OPTIONS]

OPTIONS:
    --addr HOST:PORT               where to listen [default: 127.0.0.1:3000]
    --data-dir DIR                 where the database and signing key live [default: ./.kickboard]
    --in-memory                    keep nothing: a throwaway database and key
    --store sqlite|aws             the adapters [default: sqlite]; aws uses DynamoDB, EventBridge
                                   and SNS (endpoint from AWS_ENDPOINT_URL; tables, bus and
                                   queues from KICKBOARD_* variables, see the README)
    --create-aws-resources         with --store aws on an emulator: create the tables, bus,
                                   rules and queues first, and relay events through them
    --payment-latency-ms MS        simulated payment provider latency [default: 0]
    --payment-failure-rate RATE    share of payments that fail as unavailable, 0..1 [default: 0]
    --payment-decline-rate RATE    share of payments that are declined, 0..1 [default: 0]
    --gbfs-ttl SECS                how long the GBFS feed keeps a fleet snapshot, 0..300 [default: 0
                                   here, GBFS_TTL_SECONDS when set; 60 on AWS]
    --payment-url URL              call this payment provider API (e.g. the payment-simulator
                                   binary) instead of the in-process simulator; timeouts from
                                   PAYMENT_CONNECT_TIMEOUT_MS / PAYMENT_TIMEOUT_MS, breaker from
                                   KICKBOARD_BREAKER_* (see the README)
    --without-vehicles             no MQTT broker and no simulated vehicles: commands are
                                   refused and rents do not wait for the board to unlock
    --command-timeout-ms MS        how long a vehicle has to acknowledge a command, 100..60000
                                   [default: 5000, or KICKBOARD_COMMAND_TIMEOUT_MS]
    --licence-required=true|false  whether riders need a verified driving licence (Korean law
                                   does) [default: true, or KICKBOARD_LICENCE_REQUIRED]
    --licence-url URL              call this licence verification API instead of the in-process
                                   simulator (timeout from LICENCE_TIMEOUT_MS)
    --tile-url URL                 the operator console's map tiles, {z}/{x}/{y} [default:
                                   OpenStreetMap's, or KICKBOARD_TILE_URL]
    --tile-attribution TEXT        their attribution [default: © OpenStreetMap contributors, or
                                   KICKBOARD_TILE_ATTRIBUTION]
    -h, --help                     print this help
";

/// Where the local server keeps its state.
#[derive(Debug, Clone, PartialEq)]
pub enum Storage {
    DataDir(PathBuf),
    InMemory,
    /// DynamoDB, EventBridge and SNS, at `AWS_ENDPOINT_URL` when set (e.g. moto).
    Aws(Box<AwsStorage>),
}

/// The AWS resources the local server uses with `--store aws`.
#[derive(Debug, Clone, PartialEq)]
pub struct AwsStorage {
    /// Where the AWS APIs are served, when not AWS itself (`AWS_ENDPOINT_URL`).
    pub endpoint_url: Option<String>,
    pub tables: Tables,
    pub event_bus: String,
    /// The queues the event rules deliver to, standing in for the notifier and balance-view
    /// Lambdas. When given, the server plays the event wiring itself (for emulators); when
    /// not, deployed functions are expected to.
    pub queues: Option<EventQueues>,
    /// Create the tables, bus, rules and queues first (on an emulator), and play the event
    /// wiring with those queues.
    pub create_resources: bool,
    /// The crew's SNS topic (`CREW_TOPIC_ARN`), where low-battery alerts go.
    pub crew_topic: Option<String>,
    /// The platform applications push endpoints are made in (`PUSH_PLATFORM_APPLICATION_*_ARN`).
    pub push_applications: PushApplications,
}

impl AwsStorage {
    /// From `KICKBOARD_STATE_TABLE`, `KICKBOARD_VIEW_TABLE`, `KICKBOARD_EVENT_BUS` and, all or
    /// none, `KICKBOARD_NOTIFIER_QUEUE_URL`, `KICKBOARD_BALANCE_VIEW_QUEUE_URL` and
    /// `KICKBOARD_MDS_VIEW_QUEUE_URL`, and `CREW_TOPIC_ARN` and
    /// `PUSH_PLATFORM_APPLICATION_FCM_ARN` / `_APNS_ARN` if set.
    pub fn from_env(settings: &AwsSettings) -> Result<Self, String> {
        let optional = |name: &str| std::env::var(name).ok().filter(|value| !value.is_empty());
        let queues = match (
            optional("KICKBOARD_NOTIFIER_QUEUE_URL"),
            optional("KICKBOARD_BALANCE_VIEW_QUEUE_URL"),
            optional("KICKBOARD_MDS_VIEW_QUEUE_URL"),
        ) {
            (Some(notifier), Some(balance_view), Some(mds_view)) => {
                Some(EventQueues { notifier, balance_view, mds_view })
            }
            (None, None, None) => None,
            _ => return Err("set all three queue URLs or none".into()),
        };
        Ok(Self {
            endpoint_url: optional("AWS_ENDPOINT_URL"),
            tables: settings.tables()?,
            event_bus: settings.event_bus()?,
            queues,
            create_resources: false,
            crew_topic: optional("CREW_TOPIC_ARN"),
            push_applications: settings.push_applications.clone(),
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct LocalConfig {
    pub addr: SocketAddr,
    pub storage: Storage,
    /// The in-process payment simulator, used when there is no `payment_url`.
    pub payment: SimulatorSettings,
    /// A payment provider API to call instead (e.g. the `payment-simulator` binary).
    pub payment_url: Option<String>,
    pub payment_timeouts: PaymentTimeouts,
    pub breaker: BreakerPolicy,
    /// Whether the outbox relay runs. Off only to test a crash between a write and its relay.
    pub relay: bool,
    /// `KICKBOARD_MIN_BATTERY_PCT` and `KICKBOARD_LOW_BATTERY_PCT`, as on AWS.
    pub rules: BatteryRules,
    /// The GBFS feed's settings (`GBFS_*`, as on AWS), with its own `ttl`.
    pub gbfs: GbfsSettings,
    /// How long a vehicle has to acknowledge a command.
    pub command_timeout: std::time::Duration,
    /// The fleet's speed cap (`KICKBOARD_MAX_SPEED_KPH`).
    pub max_speed: SpeedCap,
    /// Whether the MQTT broker and the simulated vehicles run (on either store; with `--store
    /// aws` the broker stands in for IoT Core, which moto does not relay): off, no command
    /// reaches a board and rents do not wait for an unlock.
    pub vehicles: bool,
    /// Licences: required or not, re-check and grace periods (`KICKBOARD_LICENCE_*`), and
    /// the provider: the in-process simulator, or `--licence-url`. The hash key is kept in the
    /// data dir.
    pub licence: LicenceSettings,
    /// The MDS ids (`KICKBOARD_MDS_PROVIDER_ID`).
    pub mds: MdsIds,
    /// The city's time zone (`KICKBOARD_CITY_TIME_ZONE`).
    pub city_time_zone: chrono_tz::Tz,
    /// The operator console's map tiles.
    pub console: ConsoleSettings,
}

/// The embedded server reads the fleet from its own file: its feed is read afresh each time
/// unless a `ttl` is asked for.
pub const LOCAL_GBFS_TTL_SECS: u32 = 0;

impl Default for LocalConfig {
    fn default() -> Self {
        let defaults = Settings::default();
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 3000)),
            storage: Storage::DataDir(PathBuf::from(".kickboard")),
            payment: SimulatorSettings::default(),
            payment_url: None,
            payment_timeouts: defaults.payments.timeouts,
            breaker: defaults.payments.breaker,
            relay: true,
            rules: defaults.battery,
            gbfs: GbfsSettings { ttl_secs: LOCAL_GBFS_TTL_SECS, ..defaults.gbfs },
            command_timeout: defaults.command_timeout,
            max_speed: defaults.max_speed,
            vehicles: true,
            licence: LicenceSettings { provider: LicenceProviderSetting::Simulator, ..defaults.licence },
            mds: defaults.mds,
            city_time_zone: defaults.city_time_zone,
            console: ConsoleSettings::default(),
        }
    }
}

impl LocalConfig {
    /// The settings the handlers read, as this configuration gives them.
    pub fn settings(&self) -> Settings {
        let provider = match &self.payment_url {
            Some(url) => PaymentProviderSetting::Url(url.clone()),
            None => PaymentProviderSetting::Simulator(self.payment),
        };
        let aws = match &self.storage {
            Storage::Aws(aws) => AwsSettings {
                tables: Some(aws.tables.clone()),
                push_applications: aws.push_applications.clone(),
                event_bus: Some(aws.event_bus.clone()),
                // The local broker carries the commands (moto does not relay MQTT).
                iot_data_endpoint: None,
            },
            Storage::DataDir(_) | Storage::InMemory => AwsSettings {
                tables: None,
                push_applications: PushApplications::default(),
                event_bus: None,
                iot_data_endpoint: None,
            },
        };
        Settings {
            battery: self.rules,
            gbfs: self.gbfs.clone(),
            payments: PaymentSettings { provider, timeouts: self.payment_timeouts, breaker: self.breaker },
            // The store is on this machine: a zone change holds at the next ride.
            zone_check_interval: std::time::Duration::ZERO,
            // The server keeps its own cursor key with its data (`CURSOR_KEY_FILE`).
            cursor_secret: None,
            command_timeout: self.command_timeout,
            max_speed: self.max_speed,
            licence: self.licence.clone(),
            mds: self.mds,
            city_time_zone: self.city_time_zone,
            aws,
        }
    }
}

/// What the command line asked for.
#[derive(Debug, PartialEq)]
pub enum Command {
    Run(Box<LocalConfig>),
    Help,
}

fn value<T: std::str::FromStr>(flag: &str, value: Option<String>) -> Result<T, String> {
    let value = value.ok_or_else(|| format!("{flag} needs a value"))?;
    value.parse().map_err(|_| format!("{flag}: cannot use {value:?}"))
}

pub fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Command, String> {
    let settings = Settings::from_env()?;
    let mut config = LocalConfig {
        rules: settings.battery,
        payment_timeouts: settings.payments.timeouts,
        breaker: settings.payments.breaker,
        command_timeout: settings.command_timeout,
        max_speed: settings.max_speed,
        mds: settings.mds,
        city_time_zone: settings.city_time_zone,
        licence: LicenceSettings {
            provider: match settings.licence.provider {
                LicenceProviderSetting::Url(url) => LicenceProviderSetting::Url(url),
                LicenceProviderSetting::NotConfigured | LicenceProviderSetting::Simulator => {
                    LicenceProviderSetting::Simulator
                }
            },
            ..settings.licence
        },
        ..LocalConfig::default()
    };
    let ttl_secs = match std::env::var_os("GBFS_TTL_SECONDS") {
        Some(_) => settings.gbfs.ttl_secs,
        None => LOCAL_GBFS_TTL_SECS,
    };
    config.gbfs = GbfsSettings { ttl_secs, ..settings.gbfs };
    let from_env = |name: &str| std::env::var(name).ok().filter(|value| !value.is_empty());
    if let Some(url) = from_env("KICKBOARD_TILE_URL") {
        config.console.tile_url = ConsoleSettings::checked_tile_url(&url)?;
    }
    if let Some(attribution) = from_env("KICKBOARD_TILE_ATTRIBUTION") {
        config.console.tile_attribution = attribution;
    }
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-h" | "--help" => return Ok(Command::Help),
            "--addr" => config.addr = value(&arg, args.next())?,
            "--data-dir" => config.storage = Storage::DataDir(value(&arg, args.next())?),
            "--in-memory" => config.storage = Storage::InMemory,
            "--store" => match args.next().as_deref() {
                Some("sqlite") => {}
                Some("aws") => config.storage = Storage::Aws(Box::new(AwsStorage::from_env(&settings.aws)?)),
                _ => return Err("--store takes sqlite or aws".into()),
            },
            "--create-aws-resources" => match &mut config.storage {
                Storage::Aws(aws) => aws.create_resources = true,
                _ => return Err("--create-aws-resources comes after --store aws".into()),
            },
            "--payment-latency-ms" => config.payment.latency_ms = value(&arg, args.next())?,
            "--payment-failure-rate" => config.payment.failure_rate = value(&arg, args.next())?,
            "--payment-decline-rate" => config.payment.decline_rate = value(&arg, args.next())?,
            "--payment-url" => config.payment_url = Some(value(&arg, args.next())?),
            "--without-vehicles" => config.vehicles = false,
            "--tile-url" => {
                config.console.tile_url = ConsoleSettings::checked_tile_url(&value::<String>(&arg, args.next())?)?
            }
            "--tile-attribution" => config.console.tile_attribution = value(&arg, args.next())?,
            "--licence-required" => config.licence.policy.required = value(&arg, args.next())?,
            flag if flag.starts_with("--licence-required=") => {
                config.licence.policy.required = value(&arg, flag.split_once('=').map(|(_, value)| value.to_owned()))?;
            }
            "--licence-url" => config.licence.provider = LicenceProviderSetting::Url(value(&arg, args.next())?),
            "--command-timeout-ms" => match value::<u64>(&arg, args.next())? {
                ms @ 100..=60_000 => config.command_timeout = std::time::Duration::from_millis(ms),
                _ => return Err("--command-timeout-ms takes 100 to 60000 milliseconds".into()),
            },
            "--gbfs-ttl" => match value::<u32>(&arg, args.next())? {
                secs @ 0..=300 => config.gbfs.ttl_secs = secs,
                _ => return Err("--gbfs-ttl takes 0 to 300 seconds".into()),
            },
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    config.payment = config.payment.validated().map_err(|error| error.to_string())?;
    Ok(Command::Run(Box::new(config)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> Vec<String> {
        line.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn parses_every_flag() {
        let Ok(Command::Run(config)) =
            parse_args(args("--addr 127.0.0.1:0 --in-memory --payment-latency-ms 20 --payment-decline-rate 0.5"))
        else {
            panic!("did not parse");
        };
        assert_eq!(config.addr.port(), 0);
        assert_eq!(config.storage, Storage::InMemory);
        assert_eq!(config.payment.latency_ms, 20);
        assert_eq!(config.payment.decline_rate, 0.5);
        assert!(config.licence.policy.required, "the law where the service runs");
        let Ok(Command::Run(config)) = parse_args(args("--licence-required=false")) else { panic!("did not parse") };
        assert!(!config.licence.policy.required);
        assert_eq!(parse_args(args("--help")), Ok(Command::Help));
        let Ok(Command::Run(config)) = parse_args(args("--tile-url https://tiles.example/{z}/{x}/{y}.png")) else {
            panic!("did not parse");
        };
        assert_eq!(config.console.tile_url, "https://tiles.example/{z}/{x}/{y}.png");
        assert_eq!(config.console.tile_attribution, crate::console::DEFAULT_TILE_ATTRIBUTION);
    }

    #[test]
    fn refuses_bad_flags() {
        assert!(parse_args(args("--addr")).is_err());
        assert!(parse_args(args("--bogus")).is_err());
        assert!(parse_args(args("--payment-failure-rate 2")).is_err());
        assert!(parse_args(args("--licence-required=maybe")).is_err());
        assert!(parse_args(args("--tile-url https://tiles.example/{z}/{x}.png")).is_err());
    }
}
