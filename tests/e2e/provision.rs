//! `kickboard-ops provision-thing` as an operator runs it, against moto's IoT Core: the board's
//! thing exists, its certificate is active, carries the stack's vehicle policy and is attached
//! to the thing, and the key is written readable by its owner only. A second run keeps the
//! thing and adds a certificate; a missing policy or a bad id fails saying so.

use kickboard_tests::moto::Moto;
use serde_json::Value;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Command, Output};

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// What boto3 sees in moto's IoT Core: `script` runs with `iot`, a client on `endpoint`, and
/// prints JSON.
fn boto3(endpoint: &str, script: &str) -> Value {
    let program = format!(
        "import boto3, json\niot = boto3.client('iot', endpoint_url={endpoint:?}, region_name='us-east-1', \
         aws_access_key_id='testing', aws_secret_access_key='testing')\n{script}"
    );
    let output = Command::new(workspace().join(".venv/bin/python")).args(["-c", &program]).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).unwrap()
}

fn provision(moto: &Moto, policy: &str, args: &[&str]) -> Output {
    let binary = workspace().join("target/debug/kickboard-ops");
    assert!(binary.exists(), "{} is built with the workspace", binary.display());
    Command::new(binary)
        .arg("provision-thing")
        .args(args)
        .env("AWS_ENDPOINT_URL", &moto.endpoint)
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("KICKBOARD_VEHICLE_POLICY", policy)
        .output()
        .expect("kickboard-ops runs")
}

#[test]
fn a_board_gets_its_thing_and_a_certificate_bound_to_the_vehicle_policy() {
    let moto = Moto::start();
    let policy = "kickboard-vehicle";
    // What the stack's VehiclePolicy resource makes on deploy.
    boto3(
        &moto.endpoint,
        &format!("iot.create_policy(policyName={policy:?}, policyDocument='{{}}')\nprint(json.dumps(None))"),
    );
    let dir = std::env::temp_dir().join(format!("kickboard-provision-{}", std::process::id()));

    let made = provision(&moto, policy, &["kb-7", dir.to_str().unwrap()]);
    assert!(made.status.success(), "{made:?}");
    let report = String::from_utf8_lossy(&made.stdout);
    assert!(report.contains("client id kb-7") && report.contains("kickboard/kb-7/commands"), "{report}");
    let key = dir.join("kb-7.private.key");
    assert_eq!(std::fs::metadata(&key).unwrap().permissions().mode() & 0o777, 0o600);
    assert!(std::fs::read_to_string(&key).unwrap().contains("PRIVATE KEY"));
    assert!(std::fs::read_to_string(dir.join("kb-7.cert.pem")).unwrap().contains("BEGIN CERTIFICATE"));

    let again = provision(&moto, policy, &["kb-7", dir.to_str().unwrap()]);
    assert!(again.status.success(), "a board provisioned again keeps its thing: {again:?}");

    let seen = boto3(
        &moto.endpoint,
        "principals = iot.list_thing_principals(thingName='kb-7')['principals']\n\
         certificates = [iot.describe_certificate(certificateId=p.split('/')[-1])['certificateDescription']['status'] for p in principals]\n\
         policies = [[q['policyName'] for q in iot.list_attached_policies(target=p)['policies']] for p in principals]\n\
         print(json.dumps({'certificates': certificates, 'policies': policies}))",
    );
    assert_eq!(seen["certificates"], serde_json::json!(["ACTIVE", "ACTIVE"]), "{seen}");
    assert_eq!(seen["policies"], serde_json::json!([[policy], [policy]]), "{seen}");

    let no_policy = provision(&moto, "no-such-policy", &["kb-8", dir.to_str().unwrap()]);
    assert_eq!(no_policy.status.code(), Some(1), "{no_policy:?}");
    assert!(String::from_utf8_lossy(&no_policy.stderr).contains("IoT Core refused AttachPolicy"), "{no_policy:?}");
    let bad_id = provision(&moto, policy, &["kb 9"]);
    assert_eq!(bad_id.status.code(), Some(2), "{bad_id:?}");
    let _ = std::fs::remove_dir_all(dir);
}
