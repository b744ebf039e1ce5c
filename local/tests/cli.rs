//! The `kickboard-local` binary as a person runs it: it prints where it listens and two
//! tokens, serves, and stops cleanly on SIGTERM.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};

fn get(addr: &str, path: &str, token: Option<&str>) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    let auth = token.map(|token| format!("Authorization: Bearer {token}\r\n")).unwrap_or_default();
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}Connection: close\r\n\r\n").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}

#[test]
fn runs_prints_tokens_serves_and_stops_on_sigterm() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_kickboard-local"))
        .args(["--in-memory", "--addr", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines().map(Result::unwrap);
    let banner = lines.next().unwrap();
    let addr = banner.split("http://").nth(1).unwrap().split_whitespace().next().unwrap().to_owned();
    let (_, customer_token) = (lines.next(), lines.next().unwrap());
    let (_, admin_token) = (lines.next(), lines.next().unwrap());
    let payments = lines.next().unwrap();
    assert!(payments.contains("built-in simulator"), "it says who approves payments: {payments}");

    assert!(get(&addr, "/plans", None).contains("basic-60"));
    assert!(get(&addr, "/me/passes", Some(customer_token.trim())).starts_with("HTTP/1.1 200"));
    assert!(get(&addr, "/me/passes", None).starts_with("HTTP/1.1 401"));
    assert!(admin_token.trim().len() > 20);

    let killed = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    assert!(status.success(), "exit after SIGTERM: {status:?}");
}

#[test]
fn help_lists_the_flags() {
    let output = Command::new(env!("CARGO_BIN_EXE_kickboard-local")).arg("--help").output().unwrap();
    let help = String::from_utf8(output.stdout).unwrap();
    for flag in ["--addr", "--data-dir", "--in-memory", "--payment-latency-ms", "--help"] {
        assert!(help.contains(flag), "{flag} missing from --help");
    }
    let bad = Command::new(env!("CARGO_BIN_EXE_kickboard-local")).arg("--nope").output().unwrap();
    assert_eq!(bad.status.code(), Some(2));
}
