//! Business metrics: what an on-call engineer watches. Handlers count as they go; a Lambda
//! function writes what one invocation counted as CloudWatch Embedded Metric Format lines on
//! stdout when it ends (CloudWatch turns them into metrics; no API call), and every process
//! keeps running totals, which the local server shows at `GET /local/metrics` in the
//! Prometheus text format.

use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::sync::Mutex;

/// The CloudWatch namespace of every metric.
pub const NAMESPACE: &str = "Kickboard";

/// Every metric the code writes; the template's alarms may name only these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Metric {
    RentalsStarted,
    /// By `Reason`: the problem type a rent was refused with.
    RentsRefused,
    Returns,
    MinutesBilled,
    PaymentsApproved,
    PaymentsDeclined,
    /// The provider failed (timeout, 5xx) while the breaker let the call through.
    PaymentsFailed,
    /// Answered "pay later" at once because the breaker is open.
    PaymentsFallback,
    /// By `Channel`.
    AlertsSent,
    /// By `Reason`.
    AlertsNotSent,
    EventsRelayed,
    /// Now minus the event's `occurredAt`, as the notifier and the balance view see it.
    EventLag,
    BreakerOpened,
    BreakerHalfOpened,
    BreakerClosed,
    /// An AWS call the function's role does not allow (a permission left out of a deploy).
    PermissionsDenied,
    /// By `Command`: commands published to vehicles.
    CommandsSent,
    /// By `Command`: commands their vehicle acknowledged in time.
    CommandsAcked,
    /// By `Command`: commands a rent or a return waited for in vain.
    CommandsTimedOut,
    /// By `Outcome`: licence verifications and re-checks (verified, rechecked, invalid,
    /// too-young, too-many-attempts, unavailable).
    LicenceChecks,
    /// Rents let through on a verification within its grace period while the provider could
    /// not re-check it.
    LicenceGraceRides,
}

impl Metric {
    pub const ALL: [Metric; 21] = [
        Metric::RentalsStarted,
        Metric::RentsRefused,
        Metric::Returns,
        Metric::MinutesBilled,
        Metric::PaymentsApproved,
        Metric::PaymentsDeclined,
        Metric::PaymentsFailed,
        Metric::PaymentsFallback,
        Metric::AlertsSent,
        Metric::AlertsNotSent,
        Metric::EventsRelayed,
        Metric::EventLag,
        Metric::BreakerOpened,
        Metric::BreakerHalfOpened,
        Metric::BreakerClosed,
        Metric::PermissionsDenied,
        Metric::CommandsSent,
        Metric::CommandsAcked,
        Metric::CommandsTimedOut,
        Metric::LicenceChecks,
        Metric::LicenceGraceRides,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Metric::RentalsStarted => "RentalsStarted",
            Metric::RentsRefused => "RentsRefused",
            Metric::Returns => "Returns",
            Metric::MinutesBilled => "MinutesBilled",
            Metric::PaymentsApproved => "PaymentsApproved",
            Metric::PaymentsDeclined => "PaymentsDeclined",
            Metric::PaymentsFailed => "PaymentsFailed",
            Metric::PaymentsFallback => "PaymentsFallback",
            Metric::AlertsSent => "AlertsSent",
            Metric::AlertsNotSent => "AlertsNotSent",
            Metric::EventsRelayed => "EventsRelayed",
            Metric::EventLag => "EventLag",
            Metric::BreakerOpened => "BreakerOpened",
            Metric::BreakerHalfOpened => "BreakerHalfOpened",
            Metric::BreakerClosed => "BreakerClosed",
            Metric::PermissionsDenied => "PermissionsDenied",
            Metric::CommandsSent => "CommandsSent",
            Metric::CommandsAcked => "CommandsAcked",
            Metric::CommandsTimedOut => "CommandsTimedOut",
            Metric::LicenceChecks => "LicenceChecks",
            Metric::LicenceGraceRides => "LicenceGraceRides",
        }
    }

    /// The CloudWatch unit.
    pub fn unit(self) -> &'static str {
        match self {
            Metric::EventLag => "Milliseconds",
            _ => "Count",
        }
    }

    /// The dimension besides `Function` that tells its samples apart, if any.
    pub fn detail(self) -> Option<&'static str> {
        match self {
            Metric::RentsRefused | Metric::AlertsNotSent => Some("Reason"),
            Metric::AlertsSent => Some("Channel"),
            Metric::CommandsSent | Metric::CommandsAcked | Metric::CommandsTimedOut => Some("Command"),
            Metric::LicenceChecks => Some("Outcome"),
            _ => None,
        }
    }

    /// The dimension sets it is published under: by function, and also by its detail. Denied
    /// calls are also published with no dimension, so one alarm watches every function.
    pub fn dimension_sets(self) -> Vec<Vec<&'static str>> {
        match (self, self.detail()) {
            (Metric::PermissionsDenied, _) => vec![vec![FUNCTION], vec![]],
            (_, None) => vec![vec![FUNCTION]],
            (_, Some(detail)) => vec![vec![FUNCTION], vec![FUNCTION, detail]],
        }
    }

    /// The Prometheus name: `kickboard_<snake case>` plus `_total` or `_milliseconds`.
    fn prometheus_name(self) -> String {
        let mut snake = String::from("kickboard");
        for c in self.name().chars() {
            if c.is_ascii_uppercase() {
                snake.push('_');
            }
            snake.push(c.to_ascii_lowercase());
        }
        match self.unit() {
            "Milliseconds" => snake + "_milliseconds",
            _ => snake + "_total",
        }
    }
}

/// The dimension every metric has: the Lambda function's name.
pub const FUNCTION: &str = "Function";

/// One metric's samples under one detail value.
type Key = (Metric, Option<String>);

#[derive(Default)]
struct Recorder {
    /// Whether invocations are flushed as EMF lines (a Lambda function); else only totals.
    per_invocation: bool,
    pending: BTreeMap<Key, Vec<f64>>,
    /// Sum and number of samples since the process started.
    totals: BTreeMap<Key, (f64, u64)>,
}

static RECORDER: Mutex<Recorder> =
    Mutex::new(Recorder { per_invocation: false, pending: BTreeMap::new(), totals: BTreeMap::new() });

fn recorder() -> std::sync::MutexGuard<'static, Recorder> {
    RECORDER.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Keeps what each invocation counts until [`flush_invocation`] writes it (Lambda functions).
pub fn emit_per_invocation() {
    recorder().per_invocation = true;
}

/// Counts `value` of `metric` (1 for a count, milliseconds for a lag).
pub fn record(metric: Metric, value: f64) {
    record_with(metric, None, value);
}

/// Counts `value` of `metric` for one value of its detail dimension (a reason, a channel).
pub fn record_by(metric: Metric, detail: &str, value: f64) {
    record_with(metric, Some(detail.to_owned()), value);
}

fn record_with(metric: Metric, detail: Option<String>, value: f64) {
    let mut recorder = recorder();
    let total = recorder.totals.entry((metric, detail.clone())).or_default();
    total.0 += value;
    total.1 += 1;
    if recorder.per_invocation {
        recorder.pending.entry((metric, detail)).or_default().push(value);
    }
}

/// The EMF lines of what this invocation counted, emptied: one line, unless two samples
/// need different values of one dimension (an SMS and a push), which take a line each.
pub fn take_invocation_lines(function: &str, now_ms: i64) -> Vec<String> {
    let pending = std::mem::take(&mut recorder().pending);
    let mut lines: Vec<Map<String, Value>> = Vec::new();
    for ((metric, detail), samples) in pending {
        let fits = |line: &Map<String, Value>| match (metric.detail(), &detail) {
            (Some(dimension), Some(value)) => line.get(dimension).is_none_or(|held| held == value),
            _ => true,
        };
        let index = match lines.iter().position(fits) {
            Some(index) => index,
            None => {
                lines.push(Map::new());
                lines.len() - 1
            }
        };
        let line = &mut lines[index];
        if let (Some(dimension), Some(value)) = (metric.detail(), detail) {
            line.insert(dimension.to_owned(), json!(value));
        }
        let value = match metric.unit() {
            "Count" => json!(samples.iter().sum::<f64>()),
            _ => json!(samples),
        };
        line.insert(metric.name().to_owned(), value);
        let directive = json!({
            "Namespace": NAMESPACE,
            "Dimensions": metric.dimension_sets(),
            "Metrics": [{"Name": metric.name(), "Unit": metric.unit()}],
        });
        let aws = line.entry("_aws").or_insert_with(|| json!({"Timestamp": now_ms, "CloudWatchMetrics": []}));
        if let Some(directives) = aws["CloudWatchMetrics"].as_array_mut() {
            directives.push(directive);
        }
    }
    lines
        .into_iter()
        .map(|mut line| {
            line.insert(FUNCTION.to_owned(), json!(function));
            Value::Object(line).to_string()
        })
        .collect()
}

/// Writes what this invocation counted to stdout, where CloudWatch reads EMF lines.
pub fn flush_invocation(function: &str) {
    for line in take_invocation_lines(function, chrono::Utc::now().timestamp_millis()) {
        println!("{line}");
    }
}

/// The running totals in the Prometheus text format (counters; lags as a sum and a count).
pub fn prometheus_text() -> String {
    let totals = recorder().totals.clone();
    let mut text = String::new();
    for metric in Metric::ALL {
        let name = metric.prometheus_name();
        let kind = if metric.unit() == "Count" { "counter" } else { "summary" };
        text.push_str(&format!("# TYPE {name} {kind}\n"));
        for ((_, detail), (sum, count)) in totals.iter().filter(|((recorded, _), _)| *recorded == metric) {
            let labels = match (metric.detail(), detail) {
                (Some(dimension), Some(value)) => {
                    format!("{{{}=\"{}\"}}", dimension.to_ascii_lowercase(), value.replace(['"', '\\', '\n'], "_"))
                }
                _ => String::new(),
            };
            match kind {
                "counter" => text.push_str(&format!("{name}{labels} {sum}\n")),
                _ => text.push_str(&format!("{name}_sum{labels} {sum}\n{name}_count{labels} {count}\n")),
            }
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_invocation_is_one_emf_line_unless_a_dimension_takes_two_values() {
        emit_per_invocation();
        take_invocation_lines("f", 0);
        record(Metric::Returns, 1.0);
        record(Metric::MinutesBilled, 7.0);
        record(Metric::MinutesBilled, 3.0);
        record_by(Metric::AlertsSent, "sms", 1.0);
        record_by(Metric::AlertsSent, "push", 1.0);
        record(Metric::EventLag, 120.0);
        let lines: Vec<Value> =
            take_invocation_lines("notifier", 42).iter().map(|line| serde_json::from_str(line).unwrap()).collect();
        assert_eq!(lines.len(), 2, "{lines:?}");
        let first = &lines[0];
        assert_eq!(first["Function"], "notifier");
        assert_eq!(first["_aws"]["Timestamp"], 42);
        assert_eq!(first["MinutesBilled"], 10.0, "counts add up");
        assert_eq!(first["EventLag"], json!([120.0]), "lags are samples");
        let channels: Vec<&Value> = lines.iter().map(|line| &line["Channel"]).collect();
        assert!(channels.contains(&&json!("sms")) && channels.contains(&&json!("push")), "{lines:?}");
        let directive = first["_aws"]["CloudWatchMetrics"]
            .as_array()
            .unwrap()
            .iter()
            .find(|directive| directive["Metrics"][0]["Name"] == "AlertsSent")
            .unwrap();
        assert_eq!(directive["Dimensions"], json!([["Function"], ["Function", "Channel"]]));
        assert!(take_invocation_lines("notifier", 43).is_empty(), "taken once");
        assert!(prometheus_text().contains("kickboard_alerts_sent_total{channel=\"sms\"}"));
        assert!(prometheus_text().contains("kickboard_event_lag_milliseconds_count"));
    }
}
