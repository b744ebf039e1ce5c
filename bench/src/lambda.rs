//! Figures of the Lambda builds: cold start under the Lambda Runtime Interface Emulator, side
//! by side with a bare `lambda_runtime` function, and the size of each zipped `bootstrap`, of
//! cargo-lambda's builds (`target/lambda`) or of `sam build`'s (`.aws-sam/build`).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The baseline every function is compared with.
pub const BASELINE: &str = "hello-lambda";

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The emulator shipped inside the aws-sam-cli package of the project's venv.
fn rie() -> PathBuf {
    let arch = if cfg!(target_arch = "aarch64") { "arm64" } else { "x86_64" };
    let site = workspace().join(".venv/lib");
    let python = std::fs::read_dir(&site).ok().and_then(|mut dirs| dirs.next()).and_then(Result::ok);
    let python = python.expect("a .venv made by ./scripts/test").path();
    python.join(format!("site-packages/samcli/local/rapid/aws-lambda-rie-{arch}"))
}

/// A function's build: its name (the binary's, as in `functions/src/bin`) and its `bootstrap`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Artifact {
    pub function: String,
    pub bootstrap: PathBuf,
}

/// The functions built in `dir`, sorted by name. Two layouts: cargo-lambda's (`target/lambda`,
/// one folder per binary with its `bootstrap`) and `sam build`'s (`.aws-sam/build`, one folder
/// per function of the template, named by its logical id, with the `template.yaml` it built
/// that names each one's binary in `Metadata.BuildProperties.Binary`).
pub fn artifacts(dir: &Path) -> Vec<Artifact> {
    let binaries =
        std::fs::read_to_string(dir.join("template.yaml")).map(|text| binaries_of(&text)).unwrap_or_default();
    let mut found: Vec<Artifact> = std::fs::read_dir(dir)
        .map(|dirs| {
            dirs.filter_map(Result::ok)
                .filter(|entry| entry.path().join("bootstrap").exists())
                .map(|entry| {
                    let folder = entry.file_name().to_string_lossy().into_owned();
                    let function = binaries.get(&folder).cloned().unwrap_or(folder);
                    Artifact { function, bootstrap: entry.path().join("bootstrap") }
                })
                .collect()
        })
        .unwrap_or_default();
    found.sort_by(|a, b| a.function.cmp(&b.function));
    found
}

/// Each resource's binary in a SAM template (as `sam build` writes it: resources indented two
/// spaces, `Binary: name` under their `Metadata.BuildProperties`).
fn binaries_of(template: &str) -> std::collections::HashMap<String, String> {
    let mut binaries = std::collections::HashMap::new();
    let mut resource = None;
    for line in template.lines() {
        let indent = line.len() - line.trim_start().len();
        let text = line.trim();
        if indent == 2 && text.ends_with(':') && !text.starts_with('#') {
            resource = Some(text.trim_end_matches(':').trim_matches(['"', '\'']).to_owned());
        } else if let (Some(resource), Some(binary)) = (&resource, text.strip_prefix("Binary:")) {
            binaries.insert(resource.clone(), binary.trim().trim_matches(['"', '\'']).to_owned());
        }
    }
    binaries
}

/// Functions that read the store for any request or event (two public routes, and the
/// minute's watch over the rides): they cannot answer without an AWS call.
const ALWAYS_READ: [&str; 3] = ["list-zones", "get-global-rules", "watch-rides"];

/// An event the function answers without any AWS call, so only start-up is measured (but
/// for [`ALWAYS_READ`]).
fn cheap_event(function: &str) -> String {
    match function {
        "event-relay" => r#"{"Records":[]}"#.to_owned(),
        "notifier" | "balance-view" => r#"{"version":"0","id":"1","detail-type":"KickboardRetired","source":"kickboard","account":"1","time":"2026-11-25T09:00:00Z","region":"ap-northeast-2","resources":[],"detail":{"eventId":"e-1","occurredAt":"2026-11-25T09:00:00Z","aggregateId":"kb-1","version":2,"type":"KickboardRetired","payload":{"kickboardId":"kb-1"}}}"#.to_owned(),
        BASELINE => "{}".to_owned(),
        // No authorizer claims: the handler answers 401 (list-plans 200) before any I/O.
        _ => r#"{"version":"2.0","routeKey":"GET /plans","rawPath":"/plans","rawQueryString":"","headers":{},"requestContext":{"accountId":"1","apiId":"a","domainName":"d","domainPrefix":"d","http":{"method":"GET","path":"/plans","protocol":"HTTP/1.1","sourceIp":"127.0.0.1","userAgent":"bench"},"requestId":"r","routeKey":"GET /plans","stage":"$default","time":"25/Nov/2026:09:00:00 +0000","timeEpoch":0},"isBase64Encoded":false}"#.to_owned(),
    }
}

/// Two free ports, distinct: both are held until both are known.
fn free_ports() -> (u16, u16) {
    let bind = || std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    let (first, second) = (bind(), bind());
    let port = |listener: &std::net::TcpListener| listener.local_addr().expect("an address").port();
    (port(&first), port(&second))
}

fn invoke(port: u16, event: &str) -> std::io::Result<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    write!(
        stream,
        "POST /2015-03-31/functions/function/invocations HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{event}",
        event.len()
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    Ok(response)
}

/// The processes `parent` started, from Linux's /proc (each of its threads lists its own).
fn children(parent: u32) -> Vec<libc::pid_t> {
    let threads = std::fs::read_dir(format!("/proc/{parent}/task")).into_iter().flatten().filter_map(Result::ok);
    let lists = threads.filter_map(|thread| std::fs::read_to_string(thread.path().join("children")).ok());
    lists.flat_map(|list| list.split_whitespace().filter_map(|pid| pid.parse().ok()).collect::<Vec<_>>()).collect()
}

/// How often a start the emulator loses to its own race is tried again.
const EMULATOR_ATTEMPTS: usize = 3;

/// A cold start measured, and the starts before it that the emulator lost.
#[derive(Debug, Clone, Copy)]
pub struct ColdStart {
    pub elapsed: Duration,
    pub lost: usize,
}

/// One cold start: from spawning the emulator with the function to its first answer. The
/// emulator now and then starts the function before its runtime API listens (a known race of
/// the emulator, not of Lambda): the function exits at once and the emulator answers 502.
/// Such a start is not measured but tried again, up to [`EMULATOR_ATTEMPTS`] times, so a
/// function that really fails to start still fails here.
pub fn cold_start(artifact: &Artifact) -> ColdStart {
    let function = artifact.function.as_str();
    let mut answers = Vec::new();
    for lost in 0..EMULATOR_ATTEMPTS {
        match start_once(&artifact.bootstrap, function) {
            (elapsed, answer) if answer.starts_with("HTTP/1.1 200") => return ColdStart { elapsed, lost },
            (_, answer) if answer.starts_with("HTTP/1.1 502") => answers.push(answer),
            (_, answer) => panic!("{function}: {answer}"),
        }
    }
    panic!("{function} failed to start {EMULATOR_ATTEMPTS} times: {answers:?}")
}

/// Spawns the emulator with the function and invokes it once: the time to the answer, and
/// the answer.
fn start_once(bootstrap: &Path, function: &str) -> (Duration, String) {
    let (port, runtime_api_port) = free_ports();
    let started = Instant::now();
    let mut child = Command::new(rie())
        .arg("--runtime-interface-emulator-address")
        .arg(format!("127.0.0.1:{port}"))
        // The runtime API on a port of its own: on its default (9001) an emulator running at
        // the same time (a test invoking a function) makes this one fail, and the function of
        // an emulator killed before could take this one's invocation.
        .arg("--runtime-api-address")
        .arg(format!("127.0.0.1:{runtime_api_port}"))
        .arg(bootstrap)
        // Lambda's environment: no endpoint override (the events above make no AWS call).
        .env_remove("AWS_ENDPOINT_URL")
        // Those that must read are sent to a closed loopback port and try once: an upper
        // bound (it also loads the system's trust store, as with any endpoint override).
        .envs(
            ALWAYS_READ
                .contains(&function)
                .then_some([("AWS_ENDPOINT_URL", "http://127.0.0.1:9"), ("AWS_MAX_ATTEMPTS", "1")])
                .into_iter()
                .flatten(),
        )
        .envs([
            ("AWS_REGION", "ap-northeast-2"),
            ("AWS_ACCESS_KEY_ID", "bench"),
            ("AWS_SECRET_ACCESS_KEY", "bench"),
            ("KICKBOARD_STATE_TABLE", "state"),
            ("KICKBOARD_VIEW_TABLE", "views"),
            ("KICKBOARD_EVENT_BUS", "bus"),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the emulator starts");
    let event = cheap_event(function);
    let answer = loop {
        match invoke(port, &event) {
            Ok(response) => break response,
            Err(_) if started.elapsed() < Duration::from_secs(10) => std::thread::sleep(Duration::from_micros(500)),
            Err(error) => panic!("{function} did not answer: {error}"),
        }
    };
    let elapsed = started.elapsed();
    // SIGKILL to the function, then to the emulator: on SIGTERM the emulator takes a second or
    // two to stop the function, and killed alone it leaves the function running (in a process
    // group of its own), retrying its runtime API, where a later emulator may listen.
    for function in children(child.id()) {
        // SAFETY: kill only sends a signal, to a process this emulator started.
        unsafe { libc::kill(function, libc::SIGKILL) };
    }
    let _ = child.kill();
    let _ = child.wait();
    (elapsed, answer)
}

/// One function's cold starts beside the baseline's, measured in turns.
#[derive(Debug, Clone, PartialEq)]
pub struct PairedColdStarts {
    pub function: String,
    /// Median of the function's starts, in milliseconds.
    pub median_ms: f64,
    /// Median of the baseline's starts taken in turn with them, in milliseconds.
    pub baseline_median_ms: f64,
}

impl PairedColdStarts {
    pub fn ratio(&self) -> f64 {
        self.median_ms / self.baseline_median_ms
    }
}

fn median_ms(mut samples: Vec<Duration>) -> f64 {
    samples.sort();
    samples[samples.len() / 2].as_secs_f64() * 1000.0
}

/// `runs` cold starts of each function, each in turn with one of `baseline` (which goes first
/// every other turn), so that both see the same machine: a shared machine's load moves the
/// minimal function itself by 15 % from one minute to the next. Also how many starts the
/// emulator lost on the way.
pub fn paired_cold_starts(functions: &[Artifact], baseline: &Artifact, runs: usize) -> (Vec<PairedColdStarts>, usize) {
    let mut lost = 0;
    let mut start = |artifact: &Artifact| {
        let measured = cold_start(artifact);
        lost += measured.lost;
        measured.elapsed
    };
    let rows = functions
        .iter()
        .map(|function| {
            let (mut own, mut baseline_starts) = (Vec::new(), Vec::new());
            for turn in 0..runs.max(1) {
                if turn % 2 == 0 {
                    baseline_starts.push(start(baseline));
                    own.push(start(function));
                } else {
                    own.push(start(function));
                    baseline_starts.push(start(baseline));
                }
            }
            PairedColdStarts {
                function: function.function.clone(),
                median_ms: median_ms(own),
                baseline_median_ms: median_ms(baseline_starts),
            }
        })
        .collect();
    (rows, lost)
}

/// Each function's `bootstrap` and its zip (deflate, as `sam build` packages it), in bytes.
pub fn artifact_sizes(dir: &Path) -> Vec<(String, u64, u64)> {
    artifacts(dir)
        .into_iter()
        .map(|Artifact { function, bootstrap }| {
            let size = std::fs::metadata(&bootstrap).map(|meta| meta.len()).unwrap_or(0);
            let zipped = Command::new("python3")
                .args([
                    "-c",
                    "import io, sys, zipfile\nbuf = io.BytesIO()\nwith zipfile.ZipFile(buf, 'w', zipfile.ZIP_DEFLATED) as z: z.write(sys.argv[1], 'bootstrap')\nprint(len(buf.getvalue()))",
                ])
                .arg(&bootstrap)
                .output()
                .ok()
                .and_then(|output| String::from_utf8(output.stdout).ok())
                .and_then(|text| text.trim().parse().ok())
                .unwrap_or(0);
            (function, size, zipped)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sam_build_folders_are_named_by_their_binaries() {
        let template = "Resources:\n  RentKickboardFunction:\n    Type: AWS::Serverless::Function\n    Metadata:\n      BuildMethod: rust-cargolambda\n      BuildProperties:\n        Binary: rent-kickboard\n    Properties:\n      CodeUri: RentKickboardFunction\n  StateTable:\n    Type: AWS::DynamoDB::Table\n  NotifierFunction:\n    Metadata:\n      BuildProperties:\n        Binary: 'notifier'\n";
        let binaries = binaries_of(template);
        assert_eq!(binaries.len(), 2, "{binaries:?}");
        assert_eq!(binaries["RentKickboardFunction"], "rent-kickboard");
        assert_eq!(binaries["NotifierFunction"], "notifier");

        let dir = std::env::temp_dir().join(format!("kickboard-sam-layout-{}", std::process::id()));
        for folder in ["RentKickboardFunction", "NotifierFunction", "StateTable"] {
            std::fs::create_dir_all(dir.join(folder)).unwrap();
        }
        std::fs::write(dir.join("template.yaml"), template).unwrap();
        std::fs::write(dir.join("RentKickboardFunction/bootstrap"), "").unwrap();
        std::fs::write(dir.join("NotifierFunction/bootstrap"), "").unwrap();
        let found: Vec<String> = artifacts(&dir).into_iter().map(|artifact| artifact.function).collect();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(found, ["notifier", "rent-kickboard"]);
    }
}
