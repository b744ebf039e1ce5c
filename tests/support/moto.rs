//! The AWS side of the tests: a `moto_server` started on a free loopback port, and the
//! tables, bus, rules and queues of a Kickboard deployment created in it.

use aws_config::SdkConfig;
use kickboard_common::adapters::aws::{PushApplications, Tables};
use kickboard_local::aws_flow::EventQueues;
use kickboard_local::aws_setup::{create_crew_topic, create_push_applications, create_resources};
use kickboard_local::config::AwsStorage;
use serde_json::Value;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Once;
use std::time::{Duration, Instant};

/// The Python that has moto: the venv `scripts/test` creates, or `KICKBOARD_PYTHON`.
fn python_with_moto() -> PathBuf {
    if let Some(path) = std::env::var_os("KICKBOARD_PYTHON") {
        return PathBuf::from(path);
    }
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/python");
    assert!(path.exists(), "no Python with moto at {}: run ./scripts/test, which installs it", path.display());
    path
}

/// Dummy credentials and a region for the SDK: moto accepts any. Set once, before any
/// client is built.
fn emulator_environment() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        for (name, value) in
            [("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing"), ("AWS_REGION", "us-east-1")]
        {
            if std::env::var_os(name).is_none() {
                // SAFETY: set once, before this process builds any AWS client or reads these.
                unsafe { std::env::set_var(name, value) };
            }
        }
    });
}

/// A running moto server, stopped on drop.
pub struct Moto {
    child: Child,
    pub endpoint: String,
}

impl Moto {
    pub fn start() -> Self {
        emulator_environment();
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("moto_server.py");
        let child = Command::new(python_with_moto())
            .arg(script)
            .args(["127.0.0.1", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("moto_server starts");
        let moto = Self { child, endpoint: format!("http://127.0.0.1:{port}") };
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "moto did not answer within 30 s");
            std::thread::sleep(Duration::from_millis(50));
        }
        moto
    }

    pub async fn sdk_config(&self) -> SdkConfig {
        kickboard_common::adapters::aws::load_config(Some(&self.endpoint)).await
    }

    /// moto's record of everything it holds, e.g. `["sns"]["SMS"]`.
    pub async fn data(&self) -> Value {
        use http_body_util::BodyExt;
        let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
            .build_http::<http_body_util::Empty<bytes::Bytes>>();
        let uri = format!("{}/moto-api/data.json", self.endpoint).parse().unwrap();
        let response = client.get(uri).await.expect("moto answers");
        let body = response.into_body().collect().await.unwrap().to_bytes();
        serde_json::from_slice(&body).expect("moto data is JSON")
    }

    /// The push endpoints SNS holds (deleted ones too: moto keeps every endpoint it made in
    /// this record), with the messages each took.
    pub async fn push_endpoints(&self) -> Vec<Value> {
        self.data().await["sns"]["PlatformEndpoint"].as_array().cloned().unwrap_or_default()
    }

    /// The SMS messages SNS sent: `(phone number, message)`, oldest first.
    pub async fn sms(&self) -> Vec<(String, String)> {
        let data = self.data().await;
        data["sns"]["SMS"]
            .as_array()
            .map(|sent| {
                sent.iter()
                    .map(|sms| {
                        (
                            sms["phone_number"].as_str().unwrap_or("").to_owned(),
                            sms["message"].as_str().unwrap_or("").to_owned(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The resources of one deployment, named uniquely.
pub struct Deployment {
    pub tables: Tables,
    pub bus: String,
    pub queues: EventQueues,
    pub crew_topic: String,
    pub push_applications: PushApplications,
}

impl Deployment {
    pub fn storage(&self, moto: &Moto, with_queues: bool) -> AwsStorage {
        AwsStorage {
            endpoint_url: Some(moto.endpoint.clone()),
            tables: self.tables.clone(),
            event_bus: self.bus.clone(),
            queues: with_queues.then(|| self.queues.clone()),
            create_resources: false,
            crew_topic: Some(self.crew_topic.clone()),
            push_applications: self.push_applications.clone(),
        }
    }
}

/// A uniquely named deployment in the emulator.
pub async fn deploy(config: &SdkConfig) -> Deployment {
    let suffix = &uuid::Uuid::new_v4().simple().to_string()[..8];
    let tables = Tables { state: format!("kickboard-state-{suffix}"), views: format!("kickboard-views-{suffix}") };
    let bus = format!("kickboard-{suffix}");
    let queues = create_resources(config, &tables, &bus).await.expect("resources created");
    let crew_topic = create_crew_topic(config).await.expect("crew topic created");
    let push_applications = create_push_applications(config).await.expect("platform applications created");
    Deployment { tables, bus, queues, crew_topic, push_applications }
}
