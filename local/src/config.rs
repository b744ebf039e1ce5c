//! Command-line configuration of the local server.

use kickboard_common::adapters::payment_simulator::SimulatorSettings;
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
    --payment-latency-ms MS        simulated payment provider latency [default: 0]
    --payment-failure-rate RATE    share of payments that fail as unavailable, 0..1 [default: 0]
    --payment-decline-rate RATE    share of payments that are declined, 0..1 [default: 0]
    -h, --help                     print this help
";

/// Where the local server keeps its state.
#[derive(Debug, Clone, PartialEq)]
pub enum Storage {
    DataDir(PathBuf),
    InMemory,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LocalConfig {
    pub addr: SocketAddr,
    pub storage: Storage,
    pub payment: SimulatorSettings,
    /// Whether the outbox relay runs. Off only to test a crash between a write and its relay.
    pub relay: bool,
}

impl Default for LocalConfig {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 3000)),
            storage: Storage::DataDir(PathBuf::from(".kickboard")),
            payment: SimulatorSettings::default(),
            relay: true,
        }
    }
}

/// What the command line asked for.
#[derive(Debug, PartialEq)]
pub enum Command {
    Run(LocalConfig),
    Help,
}

fn value<T: std::str::FromStr>(flag: &str, value: Option<String>) -> Result<T, String> {
    let value = value.ok_or_else(|| format!("{flag} needs a value"))?;
    value.parse().map_err(|_| format!("{flag}: cannot use {value:?}"))
}

pub fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Command, String> {
    let mut config = LocalConfig::default();
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-h" | "--help" => return Ok(Command::Help),
            "--addr" => config.addr = value(&arg, args.next())?,
            "--data-dir" => config.storage = Storage::DataDir(value(&arg, args.next())?),
            "--in-memory" => config.storage = Storage::InMemory,
            "--payment-latency-ms" => config.payment.latency_ms = value(&arg, args.next())?,
            "--payment-failure-rate" => config.payment.failure_rate = value(&arg, args.next())?,
            "--payment-decline-rate" => config.payment.decline_rate = value(&arg, args.next())?,
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    config.payment = config.payment.validated().map_err(|error| error.to_string())?;
    Ok(Command::Run(config))
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
        assert_eq!(parse_args(args("--help")), Ok(Command::Help));
    }

    #[test]
    fn refuses_bad_flags() {
        assert!(parse_args(args("--addr")).is_err());
        assert!(parse_args(args("--bogus")).is_err());
        assert!(parse_args(args("--payment-failure-rate 2")).is_err());
    }
}
