//! The Lambda build: what `sam build` runs is the build BENCHMARKS.md measures. SAM's Rust
//! builder runs `cargo lambda build --release` in the function's folder and passes no other
//! flag from the template (only `Metadata.BuildProperties.Binary`), so the settings live in the
//! workspace's `[workspace.metadata.lambda.build]`, which cargo-lambda reads for every build.

use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A Cargo.toml as JSON, read by Python's tomllib (no TOML crate in the workspace).
fn manifest(path: &Path) -> Value {
    let output = Command::new(workspace().join(".venv/bin/python"))
        .args(["-c", "import json, sys, tomllib; print(json.dumps(tomllib.load(open(sys.argv[1], 'rb'))))"])
        .arg(path)
        .output()
        .expect("python runs (./scripts/test creates .venv)");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).unwrap()
}

/// The `profile.release.*` settings among cargo `--config` overrides, by key.
fn release_overrides(config: &Value) -> Result<BTreeMap<String, String>, String> {
    let entries = config.as_array().ok_or("`config` is a list of cargo --config overrides")?;
    let mut settings = BTreeMap::new();
    for entry in entries {
        let entry = entry.as_str().ok_or("each override is a string")?;
        let (key, value) = entry.split_once('=').ok_or(format!("`{entry}` is KEY=VALUE"))?;
        if let Some(key) = key.trim().strip_prefix("profile.release.") {
            settings.insert(key.to_owned(), value.trim().trim_matches(['"', '\'']).to_owned());
        }
    }
    Ok(settings)
}

/// What must hold of the workspace's cargo-lambda build settings for the deployed build to be
/// the measured one, with unwinding panics.
fn lambda_build_settings(build: &Value) -> Result<(), String> {
    if build["disable_optimizations"] != Value::Bool(true) {
        return Err("disable_optimizations must be true: otherwise cargo-lambda adds panic=abort, thin LTO and a target-cpu to every --release build".into());
    }
    let settings = release_overrides(&build["config"])?;
    let expect = |key: &str, allowed: &[&str]| match settings.get(key) {
        Some(value) if allowed.contains(&value.as_str()) => Ok(()),
        other => Err(format!("profile.release.{key} is {other:?}, expected one of {allowed:?}")),
    };
    expect("opt-level", &["s", "z"])?;
    expect("lto", &["true", "fat"])?;
    expect("codegen-units", &["1"])?;
    expect("strip", &["true", "symbols"])?;
    if settings.get("panic").is_some_and(|panic| panic != "unwind") {
        return Err("panics unwind in the Lambda build (the runtime reports a failed invocation)".into());
    }
    if build.get("profile").is_some_and(|profile| profile != "release") {
        return Err("SAM passes --release, which cargo refuses beside another --profile".into());
    }
    Ok(())
}

#[test]
fn sam_build_builds_the_measured_profile() {
    let root = manifest(&workspace().join("Cargo.toml"));
    let build = &root["workspace"]["metadata"]["lambda"]["build"];
    lambda_build_settings(build).unwrap();
    // A package's own cargo-lambda settings would replace the workspace's for its functions.
    for package in ["functions", "bench/hello-lambda"] {
        let own = manifest(&workspace().join(package).join("Cargo.toml"));
        assert!(own["package"]["metadata"]["lambda"]["build"].is_null(), "{package} sets its own cargo-lambda build");
    }
    // Plain `cargo build --release` (the local server) does not abort on panic either.
    assert_ne!(root["profile"]["release"]["panic"], "abort");

    // The check catches what it is for.
    let mut weakened = build.clone();
    weakened["disable_optimizations"] = Value::Bool(false);
    assert!(lambda_build_settings(&weakened).is_err());
    let without = |dropped: &str| {
        let mut weakened = build.clone();
        let kept: Vec<Value> = build["config"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|entry| !entry.as_str().unwrap().starts_with(&format!("profile.release.{dropped}")))
            .cloned()
            .collect();
        weakened["config"] = Value::Array(kept);
        weakened
    };
    for dropped in ["opt-level", "lto", "codegen-units", "strip"] {
        assert!(lambda_build_settings(&without(dropped)).is_err(), "{dropped}");
    }
    let mut aborting = build.clone();
    aborting["config"].as_array_mut().unwrap().push(Value::from("profile.release.panic=\"abort\""));
    assert!(lambda_build_settings(&aborting).is_err());
    let mut other_profile = build.clone();
    other_profile["profile"] = Value::from("lambda");
    assert!(lambda_build_settings(&other_profile).is_err());
}
