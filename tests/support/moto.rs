//! The AWS side of the tests: a `moto_server` started on a free loopback port, and the
//! tables, bus, rules and queues of a Kickboard deployment created in it.
//!
//! The emulator plays IAM (`tests/iam_check.py`): once a deployment is named to it, every
//! request a function signs is checked against the role `template.yaml` gives that function,
//! and a request outside it is denied as AWS would deny it. A test that ends with a denial it
//! did not ask for fails, naming the function, the action and the resource.

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
use std::sync::atomic::{AtomicBool, Ordering};
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
    /// The test looked at the denials itself (it expected some).
    denials_taken: AtomicBool,
}

/// A request the emulator denied: the function that signed it, the IAM action and the
/// resource it was asked on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denial {
    pub function: String,
    pub action: String,
    pub resource: String,
}

impl Moto {
    pub fn start() -> Self {
        Self::start_without_grants(&[])
    }

    /// An emulator whose roles lack the `(function, action)` pairs in `removed`: the template
    /// as it would be deployed with those actions taken out of those functions' policies.
    pub fn start_without_grants(removed: &[(&str, &str)]) -> Self {
        emulator_environment();
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("moto_server.py");
        let removed: Vec<String> = removed.iter().map(|(function, action)| format!("{function}={action}")).collect();
        let child = Command::new(python_with_moto())
            .arg(script)
            .args(["127.0.0.1", &port.to_string()])
            .env("KICKBOARD_IAM_REMOVE", removed.join(","))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("moto_server starts");
        let moto = Self { child, endpoint: format!("http://127.0.0.1:{port}"), denials_taken: AtomicBool::new(false) };
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

    /// The push endpoints SNS holds for a customer (deleted ones too: moto keeps every endpoint it made in
    /// this record), with the messages each took.
    pub async fn push_endpoints(&self, customer: &str) -> Vec<Value> {
        let endpoints = self.data().await["sns"]["PlatformEndpoint"].as_array().cloned().unwrap_or_default();
        endpoints.into_iter().filter(|endpoint| endpoint["custom_user_data"] == customer).collect()
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

impl Moto {
    /// What the emulator's IAM saw: `{"denied": [...], "used": [...]}`. A plain blocking
    /// request, so it also works from `drop`.
    fn iam_journal(&self) -> Value {
        use std::io::{Read, Write};
        let address = self.endpoint.trim_start_matches("http://");
        let mut stream = std::net::TcpStream::connect(address).expect("moto answers");
        write!(stream, "GET /kickboard-iam/journal HTTP/1.0\r\nHost: {address}\r\n\r\n").unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        let body = answer.split_once("\r\n\r\n").map_or("", |(_, body)| body);
        serde_json::from_str(body).unwrap_or_else(|_| panic!("moto's IAM journal is JSON: {answer}"))
    }

    /// The requests denied so far, for a test that expects some: the rest of the test's
    /// denials are then its own business, not a failure at the end.
    pub fn denials(&self) -> Vec<Denial> {
        self.denials_taken.store(true, Ordering::SeqCst);
        self.iam_journal()["denied"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|denied| Denial {
                function: denied["function"].as_str().unwrap_or_default().to_owned(),
                action: denied["action"].as_str().unwrap_or_default().to_owned(),
                resource: denied["resource"].as_str().unwrap_or_default().to_owned(),
            })
            .collect()
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let unexpected = if std::thread::panicking() || self.denials_taken.load(Ordering::SeqCst) {
            Vec::new()
        } else {
            self.denials()
        };
        let _ = self.child.kill();
        let _ = self.child.wait();
        assert!(
            unexpected.is_empty(),
            "AWS requests outside the role template.yaml gives their function (add the grant, or stop the call):\n{}",
            unexpected
                .iter()
                .map(|denial| format!("  {}: {} on {}", denial.function, denial.action, denial.resource))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}

/// `config` signing each request as the function the request is made for: the access key id
/// is the function's name (what the local server runs it as), or the local server's own
/// wiring outside any function. The emulator checks each against that function's role.
pub fn signed_per_function(config: SdkConfig) -> SdkConfig {
    use aws_sdk_dynamodb::config::{IdentityCache, SharedCredentialsProvider};
    config
        .to_builder()
        .credentials_provider(SharedCredentialsProvider::new(FunctionCredentials))
        // Credentials are chosen per request, by the function it is made for: none is kept.
        .identity_cache(IdentityCache::no_cache())
        .build()
}

/// The local server's own requests that stand in for Lambda's event source mappings.
const LOCAL_WIRING: &str = "kickboard-local-wiring";

#[derive(Debug)]
struct FunctionCredentials;

impl aws_credential_types::provider::ProvideCredentials for FunctionCredentials {
    fn provide_credentials<'a>(&'a self) -> aws_credential_types::provider::future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        let function = kickboard_common::invocation::current().unwrap_or(LOCAL_WIRING);
        let credentials = aws_credential_types::Credentials::new(function, "testing", None, None, "per-function");
        aws_credential_types::provider::future::ProvideCredentials::ready(Ok(credentials))
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
    let deployment = Deployment { tables, bus, queues, crew_topic, push_applications };
    name_to_iam(config, &deployment).await;
    deployment
}

/// Tells the emulator's IAM what the template's resources are called in this deployment.
async fn name_to_iam(config: &SdkConfig, deployment: &Deployment) {
    use http_body_util::BodyExt;
    let endpoint = config.endpoint_url().expect("the emulator's endpoint");
    let names = serde_json::json!({
        "region": config.region().map_or("us-east-1", |region| region.as_ref()),
        "tables": {"StateTable": deployment.tables.state, "ViewTable": deployment.tables.views},
        "buses": {"EventBus": deployment.bus},
        "topics": {"CrewTopic": deployment.crew_topic},
        "parameters": {
            "PushPlatformApplicationFcmArn": deployment.push_applications.fcm.as_deref().unwrap_or_default(),
            "PushPlatformApplicationApnsArn": deployment.push_applications.apns.as_deref().unwrap_or_default(),
        },
    });
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<http_body_util::Full<bytes::Bytes>>();
    let request = hyper::Request::post(format!("{endpoint}/kickboard-iam/deployment"))
        .body(http_body_util::Full::new(bytes::Bytes::from(names.to_string())))
        .unwrap();
    let response = client.request(request).await.expect("moto answers");
    assert!(response.status().is_success(), "moto took the deployment's names");
    response.into_body().collect().await.unwrap();
}
