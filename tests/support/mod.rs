//! Test support: a Kickboard server started in-process on a free loopback port, a clock the
//! test moves, and a small JSON client.

use bytes::Bytes;
use chrono::{DateTime, Duration, TimeZone, Utc};
use http_body_util::{BodyExt, Full};
use hyper::{Method, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use kickboard_common::domain::contact::PushPlatform;
use kickboard_common::ports::Clock;
use kickboard_local::config::{LocalConfig, Storage};
use kickboard_local::{RunningServer, start_with_aws_config};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

pub mod faults;
pub mod moto;
pub mod sqlite;
pub mod tap;
pub mod under_sdk;

use kickboard_common::domain::events::EventEnvelope;
use moto::{Deployment, Moto};

/// The adapter set a server runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// The embedded SQLite store, in memory.
    Sqlite,
    /// The AWS adapters against moto on loopback, events pumped through stream, bus and queues.
    Moto,
}

/// The emulator behind a [`Backend::Moto`] server.
pub struct AwsSide {
    pub moto: Moto,
    pub deployment: Deployment,
    pub config: aws_config::SdkConfig,
}

/// A clock that only moves when the test says so.
pub struct ManualClock(Mutex<DateTime<Utc>>);

impl ManualClock {
    pub fn new() -> Arc<Self> {
        Arc::new(Self(Mutex::new(Utc.with_ymd_and_hms(2026, 11, 25, 9, 0, 0).unwrap())))
    }

    pub fn advance(&self, by: Duration) {
        *self.0.lock().unwrap() += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap()
    }
}

/// A response: status, the headers the tests look at and the JSON body (`Null` when empty),
/// decoded as a client decodes it when it came gzipped.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub content_type: Option<String>,
    /// `Retry-After`, in seconds.
    pub retry_after: Option<u64>,
    pub cache_control: Option<String>,
    pub content_encoding: Option<String>,
    pub vary: Option<String>,
    pub body: Value,
}

impl Reply {
    /// The problem `type` slug, for problem responses.
    pub fn problem(&self) -> &str {
        self.body["type"].as_str().and_then(|uri| uri.strip_prefix("urn:kickboard:problem:")).unwrap_or("")
    }

    pub fn text(&self, field: &str) -> String {
        self.body[field].as_str().unwrap_or_else(|| panic!("no string {field} in {}", self.body)).to_owned()
    }
}

/// A temporary data dir, removed on drop.
pub struct TempDir(pub PathBuf);

impl Default for TempDir {
    fn default() -> Self {
        let dir = std::env::temp_dir().join(format!("kickboard-test-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Every log line this test process wrote so far (each nextest test is a process of its own).
pub fn logs() -> String {
    String::from_utf8_lossy(&LOGGED.lock().unwrap()).into_owned()
}

static LOGGED: std::sync::Mutex<Vec<u8>> = std::sync::Mutex::new(Vec::new());

/// Writes log lines to stdout, as the tests always did, and keeps them for `logs()`.
struct LogTee;

impl std::io::Write for LogTee {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        LOGGED.lock().unwrap().extend_from_slice(bytes);
        std::io::stdout().write(bytes)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stdout().flush()
    }
}

/// A licence the simulator accepts: a rider born in 2001.
pub static LICENCE: std::sync::LazyLock<serde_json::Value> = std::sync::LazyLock::new(
    || json!({ "licenceNumber": "11-22-333333-44", "name": "홍길동", "birthDate": "2001-02-03" }),
);

pub struct TestServer {
    pub server: RunningServer,
    pub clock: Arc<ManualClock>,
    pub aws: Option<AwsSide>,
    /// How the server was started, to start it again on the same state.
    config: LocalConfig,
    /// The SDK configuration the AWS adapters use, when not the environment's.
    aws_config: Option<aws_config::SdkConfig>,
    /// The SQLite data dir of a durable server, removed when the test ends.
    data_dir: Option<Arc<TempDir>>,
    base: String,
    client: Client<HttpConnector, Full<Bytes>>,
    /// The phone each customer set, to find their SMS in moto's record.
    phones: Mutex<HashMap<String, String>>,
}

impl TestServer {
    /// In memory, relaying events.
    pub async fn start() -> Self {
        Self::start_on(Backend::Sqlite).await
    }

    /// On `backend`, relaying events.
    pub async fn start_on(backend: Backend) -> Self {
        match backend {
            Backend::Sqlite => Self::start_with(Storage::InMemory, true, ManualClock::new()).await,
            Backend::Moto => Self::start_on_moto(true).await,
        }
    }

    /// On `backend`, relaying events, with the server's settings as `adjust` changes them.
    pub async fn start_on_with(backend: Backend, adjust: impl FnOnce(&mut LocalConfig)) -> Self {
        match backend {
            Backend::Sqlite => {
                let mut config = LocalConfig {
                    addr: "127.0.0.1:0".parse().unwrap(),
                    storage: Storage::InMemory,
                    ..LocalConfig::default()
                };
                adjust(&mut config);
                Self::start_configured(config, ManualClock::new()).await
            }
            Backend::Moto => Self::start_on_this_moto(Moto::start(), true, adjust, |config| config).await,
        }
    }

    /// On `backend`, writing events to the outbox but not relaying them, for scenarios that
    /// look only at the write side.
    pub async fn start_without_relay(backend: Backend) -> Self {
        match backend {
            Backend::Sqlite => Self::start_with(Storage::InMemory, false, ManualClock::new()).await,
            Backend::Moto => Self::start_on_moto(false).await,
        }
    }

    /// On `backend`, relaying events, on state that outlives the server: a SQLite data dir,
    /// or moto. [`TestServer::restart`] starts it again on the same state.
    pub async fn start_durable(backend: Backend) -> Self {
        match backend {
            Backend::Sqlite => {
                let dir = Arc::new(TempDir::default());
                let mut server = Self::start_with(Storage::DataDir(dir.0.clone()), true, ManualClock::new()).await;
                server.data_dir = Some(dir);
                server
            }
            Backend::Moto => Self::start_on_moto(true).await,
        }
    }

    /// On a fresh moto; with `pump`, the server plays the event wiring itself.
    pub async fn start_on_moto(pump: bool) -> Self {
        Self::start_on_moto_with(pump, |config| config).await
    }

    /// On a fresh moto, the server's AWS clients built from the emulator's configuration as
    /// `adjust` changes it (its HTTP client, its retries); the test's own clients are not.
    pub async fn start_on_moto_with(
        pump: bool,
        adjust: impl FnOnce(aws_config::SdkConfig) -> aws_config::SdkConfig,
    ) -> Self {
        Self::start_on_this_moto(Moto::start(), pump, |_| {}, adjust).await
    }

    /// [`TestServer::start_on_moto_with`], the local server configured by `configure` too.
    pub async fn start_on_moto_configured(
        pump: bool,
        configure: impl FnOnce(&mut LocalConfig),
        adjust: impl FnOnce(aws_config::SdkConfig) -> aws_config::SdkConfig,
    ) -> Self {
        Self::start_on_this_moto(Moto::start(), pump, configure, adjust).await
    }

    /// On a fresh moto whose roles lack the `(function, action)` pairs in `removed`, relaying
    /// events: a deploy that left those permissions out.
    pub async fn start_on_moto_without_grants(removed: &[(&str, &str)]) -> Self {
        Self::start_on_this_moto(Moto::start_without_grants(removed), true, |_| {}, |config| config).await
    }

    async fn start_on_this_moto(
        moto: Moto,
        pump: bool,
        configure: impl FnOnce(&mut LocalConfig),
        adjust: impl FnOnce(aws_config::SdkConfig) -> aws_config::SdkConfig,
    ) -> Self {
        let config = moto.sdk_config().await;
        let deployment = moto::deploy(&config).await;
        let storage = Storage::Aws(Box::new(deployment.storage(&moto, true)));
        let mut local =
            LocalConfig { addr: "127.0.0.1:0".parse().unwrap(), storage, relay: pump, ..LocalConfig::default() };
        configure(&mut local);
        let server_config = adjust(moto::signed_per_function(config.clone()));
        let mut server = Self::start_configured_on(local, ManualClock::new(), Some(server_config)).await;
        server.aws = Some(AwsSide { moto, deployment, config });
        server
    }

    pub async fn start_with(storage: Storage, relay: bool, clock: Arc<ManualClock>) -> Self {
        let config = LocalConfig { addr: "127.0.0.1:0".parse().unwrap(), storage, relay, ..LocalConfig::default() };
        Self::start_configured(config, clock).await
    }

    pub async fn start_configured(config: LocalConfig, clock: Arc<ManualClock>) -> Self {
        Self::start_configured_on(config, clock, None).await
    }

    async fn start_configured_on(
        config: LocalConfig,
        clock: Arc<ManualClock>,
        aws_config: Option<aws_config::SdkConfig>,
    ) -> Self {
        static LOGS: std::sync::Once = std::sync::Once::new();
        LOGS.call_once(|| {
            use lambda_http::tracing::subscriber::{EnvFilter, fmt};
            let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
            fmt().with_env_filter(filter).with_writer(|| LogTee).init();
        });
        let server =
            start_with_aws_config(config.clone(), clock.clone(), aws_config.clone()).await.expect("server starts");
        let base = format!("http://{}", server.addr);
        let client = Client::builder(TokioExecutor::new()).build_http();
        Self {
            server,
            clock,
            aws: None,
            config,
            aws_config,
            data_dir: None,
            base,
            client,
            phones: Mutex::new(HashMap::new()),
        }
    }

    /// Stops the server and starts a new one on the same state (as after a crash or a
    /// deploy), keeping the emulator, the clock and what the test knows of phones. Tokens
    /// minted before are valid again only where the signing key is kept (a data dir).
    pub async fn restart(self) -> Self {
        let Self { server, clock, aws, config, aws_config, data_dir, phones, .. } = self;
        server.shutdown().await;
        let mut restarted = Self::start_configured_on(config, clock, aws_config).await;
        restarted.aws = aws;
        restarted.data_dir = data_dir;
        restarted.phones = phones;
        restarted
    }

    /// The in-process payment simulator.
    pub fn simulator(&self) -> &kickboard_common::adapters::payment_simulator::PaymentSimulator {
        self.server.app.simulator.as_deref().expect("payments go to the in-process simulator")
    }

    /// The SQLite store, for scenarios that only the embedded store runs.
    pub fn sqlite(&self) -> &kickboard_common::adapters::sqlite::SqliteStore {
        match &self.server.app.backend {
            kickboard_local::Backend::Sqlite { store, .. } => store,
            kickboard_local::Backend::Aws { .. } => panic!("this scenario runs on SQLite only"),
        }
    }

    pub async fn stop(self) {
        self.server.shutdown().await;
    }

    /// The server's address as a URL, `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    pub fn customer_token(&self, sub: &str) -> String {
        self.server.app.tokens.mint(sub, &[])
    }

    /// A vehicle's own token (group `vehicle`), as its firmware would hold.
    pub fn vehicle_token(&self, kickboard_id: &str) -> String {
        self.server.app.tokens.mint(kickboard_id, &["vehicle".to_owned()])
    }

    /// Reports a vehicle's position and battery; answers the board.
    pub async fn report(&self, kickboard_id: &str, report: Value) -> Reply {
        let path = format!("/kickboards/{kickboard_id}/telemetry");
        self.call(Method::PUT, &path, Some(&self.vehicle_token(kickboard_id)), Some(report)).await
    }

    /// A board as stored, read as `set-kickboard-status` reads it (on moto every request is
    /// checked against the role of the function it is made for).
    pub async fn kickboard(&self, id: &str) -> kickboard_common::domain::kickboard::Kickboard {
        let id = id.try_into().expect("a valid kickboard id");
        let read = self.server.app.ports.fleet.find_kickboard(&id);
        let board = kickboard_common::invocation::running_as("set-kickboard-status", read).await;
        board.expect("the store answers").expect("the board exists")
    }

    pub fn admin_token(&self) -> String {
        self.server.app.tokens.mint("admin-1", &["admin".to_owned()])
    }

    /// Sends a raw request; `body` goes as-is with the given content type.
    pub async fn send_raw(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> Reply {
        self.send_with_headers(method, path, token, content_type, body, &[]).await
    }

    /// A JSON request with an `Idempotency-Key`.
    pub async fn call_with_key(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<Value>,
        key: &str,
    ) -> Reply {
        let (content_type, bytes) = json_body(body);
        self.send_with_headers(method, path, Some(token), content_type, bytes, &[("idempotency-key", key)]).await
    }

    pub async fn send_with_headers(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        content_type: Option<&str>,
        body: Vec<u8>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let mut request = hyper::Request::builder().method(method).uri(format!("{}{path}", self.base));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        let response = self.client.request(request.body(Full::new(Bytes::from(body))).unwrap()).await.expect("request");
        let status = response.status();
        let header = |name: &str| response.headers().get(name).and_then(|value| value.to_str().ok()).map(str::to_owned);
        let (content_type, cache_control) = (header("content-type"), header("cache-control"));
        let (content_encoding, vary) = (header("content-encoding"), header("vary"));
        let retry_after = header("retry-after").and_then(|value| value.parse().ok());
        let mut bytes = response.into_body().collect().await.unwrap().to_bytes().to_vec();
        if content_encoding.as_deref() == Some("gzip") {
            let mut decoded = Vec::new();
            flate2::read::GzDecoder::new(&bytes[..]).read_to_end(&mut decoded).expect("a gzip body");
            bytes = decoded;
        }
        let text = content_type.as_deref().is_some_and(|kind| kind.starts_with("text/"));
        let body = if bytes.is_empty() {
            Value::Null
        } else if text {
            Value::String(String::from_utf8_lossy(&bytes).into_owned())
        } else {
            serde_json::from_slice(&bytes).unwrap_or_else(|_| panic!("not JSON: {}", String::from_utf8_lossy(&bytes)))
        };
        Reply { status, content_type, retry_after, cache_control, content_encoding, vary, body }
    }

    pub async fn call(&self, method: Method, path: &str, token: Option<&str>, body: Option<Value>) -> Reply {
        let (content_type, bytes) = json_body(body);
        self.send_raw(method, path, token, content_type, bytes).await
    }

    pub async fn get(&self, path: &str, token: &str) -> Reply {
        self.call(Method::GET, path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> Reply {
        self.call(Method::POST, path, Some(token), Some(body)).await
    }

    /// Sets the customer's phone so alerts have somewhere to go.
    pub async fn set_phone(&self, token: &str, phone: &str) {
        self.set_contact(token, json!({ "phone": phone })).await;
    }

    /// Sets the customer's contact (`PUT /me/contact`), remembering the phone.
    pub async fn set_contact(&self, token: &str, contact: Value) {
        let reply = self.call(Method::PUT, "/me/contact", Some(token), Some(contact.clone())).await;
        assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
        let customer = self.server.app.tokens.verify(token).expect("our own token").sub;
        self.phones.lock().unwrap().insert(customer, contact["phone"].as_str().unwrap_or_default().to_owned());
    }

    /// Buys a pass on `plan` and pays it; returns its id.
    /// A paid pass for a rider: the customer's driving licence is verified first unless it
    /// is already, as the law asks of anyone who rides.
    pub async fn paid_pass(&self, token: &str, plan: &str) -> String {
        if self.get("/me/licence", token).await.status == StatusCode::NOT_FOUND {
            self.verify_licence(token).await;
        }
        let pass_id = self.unpaid_pass(token, plan).await;
        let paid = self.call(Method::POST, &format!("/passes/{pass_id}/payment"), Some(token), None).await;
        assert_eq!(paid.status, StatusCode::OK, "{paid:?}");
        pass_id
    }

    /// Verifies the caller's driving licence (a valid one, unless the simulator was told).
    pub async fn verify_licence(&self, token: &str) -> Reply {
        let verified = self.call(Method::PUT, "/me/licence", Some(token), Some(LICENCE.clone())).await;
        assert_eq!(verified.status, StatusCode::OK, "{verified:?}");
        verified
    }

    pub async fn unpaid_pass(&self, token: &str, plan: &str) -> String {
        let bought = self.post("/passes", token, json!({ "planId": plan })).await;
        assert_eq!(bought.status, StatusCode::CREATED, "{bought:?}");
        bought.text("passId")
    }

    pub async fn register_board(&self, kickboard_id: &str) {
        let body = json!({ "kickboardId": kickboard_id, "model": "Ninebot Max", "lat": 37.5665, "lon": 126.978 });
        let reply = self.post("/kickboards", &self.admin_token(), body).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{reply:?}");
    }

    pub async fn rent(&self, token: &str, pass_id: &str, kickboard_id: &str) -> Reply {
        self.post("/rentals", token, json!({ "passId": pass_id, "kickboardId": kickboard_id })).await
    }

    pub async fn give_back(&self, token: &str, rental_id: &str) -> Reply {
        self.call(Method::POST, &format!("/rentals/{rental_id}/return"), Some(token), None).await
    }

    /// Waits (at most 10 s) until the relays have delivered every event written so far.
    pub async fn settle(&self) {
        self.settle_within(std::time::Duration::from_secs(10)).await;
    }

    /// Waits (at most `limit`) until the relays have delivered every event written so far.
    pub async fn settle_within(&self, limit: std::time::Duration) {
        tokio::time::timeout(limit, self.server.app.relayed())
            .await
            .unwrap_or_else(|_| panic!("relays caught up within {limit:?}"))
            .expect("relays running");
    }

    /// The alerts sent to a customer, oldest first: from the local alert log, or from moto's
    /// record of SMS sent to the customer's phone.
    /// The crew's alerts so far, oldest first, once every event written has been relayed: the
    /// local alert list, or what the notifier published to the crew topic (listed as sent).
    pub async fn crew_alerts(&self) -> Vec<String> {
        self.settle().await;
        let path = format!("/local/alerts?customerId={}", kickboard_common::domain::alerts::OPERATORS);
        let reply = self.call(Method::GET, &path, None, None).await;
        reply.body.as_array().unwrap().iter().map(|alert| alert["message"].as_str().unwrap().to_owned()).collect()
    }

    pub async fn alerts(&self, customer: &str) -> Vec<Value> {
        if let Some(aws) = &self.aws {
            let phone = self.phones.lock().unwrap().get(customer).cloned();
            let sent = aws.moto.sms().await;
            return sent
                .into_iter()
                .filter(|(to, _)| Some(to) == phone.as_ref())
                .map(|(_, message)| json!({ "channel": "sms", "message": message }))
                .collect();
        }
        let reply = self.call(Method::GET, &format!("/local/alerts?customerId={customer}"), None, None).await;
        assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
        reply.body.as_array().unwrap().clone()
    }

    /// The platform application push endpoints are made in: moto's, or the local platform's.
    pub fn push_application(&self, platform: PushPlatform) -> String {
        match &self.aws {
            Some(aws) => {
                aws.deployment.push_applications.arn(platform).expect("an application per platform").to_owned()
            }
            None => kickboard_local::local_push::local_application(platform),
        }
    }

    /// The push endpoints made for a customer (on moto, deleted ones too), oldest first.
    pub async fn push_endpoints(&self, customer: &str) -> Vec<String> {
        match &self.aws {
            Some(aws) => aws
                .moto
                .push_endpoints(customer)
                .await
                .into_iter()
                .map(|endpoint| endpoint["arn"].as_str().unwrap().to_owned())
                .collect(),
            None => {
                let path = format!("/local/push-endpoints?customerId={customer}");
                let reply = self.call(Method::GET, &path, None, None).await;
                assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
                let endpoints = reply.body.as_array().unwrap().iter();
                endpoints.map(|endpoint| endpoint["endpointArn"].as_str().unwrap().to_owned()).collect()
            }
        }
    }

    /// The messages pushed to a customer's devices: what moto's endpoints took, or the local
    /// alert log's pushes.
    pub async fn pushes(&self, customer: &str) -> Vec<String> {
        match &self.aws {
            Some(aws) => aws
                .moto
                .push_endpoints(customer)
                .await
                .into_iter()
                .flat_map(|endpoint| {
                    let messages = endpoint["messages"].as_object().cloned().unwrap_or_default();
                    messages.into_values().map(|message| message.as_str().unwrap_or_default().to_owned())
                })
                .collect(),
            None => self.messages(customer, "push").await,
        }
    }

    /// The SMS sent to a customer's phone.
    pub async fn texts(&self, customer: &str) -> Vec<String> {
        match &self.aws {
            Some(_) => {
                self.alerts(customer).await.iter().map(|alert| alert["message"].as_str().unwrap().to_owned()).collect()
            }
            None => self.messages(customer, "sms").await,
        }
    }

    async fn messages(&self, customer: &str, channel: &str) -> Vec<String> {
        let alerts = self.alerts(customer).await;
        let on_channel = alerts.iter().filter(|alert| alert["channel"] == channel);
        on_channel.map(|alert| alert["message"].as_str().unwrap().to_owned()).collect()
    }

    /// Disables an endpoint as a push service refusing its token makes SNS do: on moto with
    /// SNS's own `SetEndpointAttributes`, locally through the loopback route.
    pub async fn disable_push_endpoint(&self, endpoint: &str) {
        match &self.aws {
            Some(aws) => {
                let sns = aws_sdk_sns::Client::new(&aws.config);
                let disabled = sns.set_endpoint_attributes().endpoint_arn(endpoint).attributes("Enabled", "false");
                disabled.send().await.expect("endpoint disabled");
            }
            None => {
                let body = json!({ "endpointArn": endpoint });
                let reply = self.call(Method::POST, "/local/push-endpoints/disable", None, Some(body)).await;
                assert_eq!(reply.status, StatusCode::NO_CONTENT, "{reply:?}");
            }
        }
    }

    /// Row counts of every table once the relays are idle: equal before and after a request
    /// means it wrote nothing, not even an event.
    pub async fn row_counts(&self) -> BTreeMap<String, i64> {
        self.settle().await;
        match &self.aws {
            None => sqlite::row_counts(self.sqlite()).await,
            Some(aws) => {
                let mut counts = BTreeMap::new();
                for table in [&aws.deployment.tables.state, &aws.deployment.tables.views] {
                    for item in scan(&aws.config, table).await {
                        let kind = item.get("sk").and_then(|sk| sk.as_s().ok()).cloned().unwrap_or_default();
                        *counts.entry(format!("{table}/{kind}")).or_default() += 1;
                    }
                }
                counts
            }
        }
    }

    /// Every row or item of every table, as text: what a search for a secret goes through.
    pub async fn store_dump(&self) -> String {
        self.settle().await;
        match &self.aws {
            None => sqlite::dump(self.sqlite()).await,
            Some(aws) => {
                let mut text = String::new();
                for table in [&aws.deployment.tables.state, &aws.deployment.tables.views] {
                    for item in scan(&aws.config, table).await {
                        text.push_str(&format!("{item:?}\n"));
                    }
                }
                text
            }
        }
    }

    /// Every event in the outbox.
    pub async fn outbox_events(&self) -> Vec<EventEnvelope> {
        match &self.aws {
            None => sqlite::outbox_events(self.sqlite()).await,
            Some(aws) => {
                let mut events: Vec<EventEnvelope> = scan(&aws.config, &aws.deployment.tables.state)
                    .await
                    .into_iter()
                    .filter(|item| item.get("sk").and_then(|sk| sk.as_s().ok()).is_some_and(|sk| sk == "EVENT"))
                    .map(|item| {
                        serde_dynamo::from_item::<_, kickboard_common::adapters::aws::items::OutboxItem>(item)
                            .unwrap()
                            .event
                    })
                    .collect();
                events.sort_by_key(|event| event.occurred_at);
                events
            }
        }
    }
}

/// A JSON body and its content type; no body at all for `None`.
fn json_body(body: Option<Value>) -> (Option<&'static str>, Vec<u8>) {
    match body {
        Some(body) => (Some("application/json"), body.to_string().into_bytes()),
        None => (None, Vec::new()),
    }
}

/// xorshift64 pseudo-random numbers: a fixed seed keeps a failure reproducible.
pub struct Xorshift(pub u64);

impl Xorshift {
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// A number in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Fisher–Yates, seeded.
pub fn shuffle<T>(items: &mut [T], seed: u64) {
    let mut random = Xorshift(seed);
    for i in (1..items.len()).rev() {
        items.swap(i, (random.next_u64() % (i as u64 + 1)) as usize);
    }
}

/// Every item of a table (test inspection only; the service never scans).
pub async fn scan(
    config: &aws_config::SdkConfig,
    table: &str,
) -> Vec<std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>> {
    let client = aws_sdk_dynamodb::Client::new(config);
    let mut items = Vec::new();
    let mut start = None;
    loop {
        let output =
            client.scan().table_name(table).consistent_read(true).set_exclusive_start_key(start).send().await.unwrap();
        items.extend(output.items.unwrap_or_default());
        match output.last_evaluated_key {
            Some(key) if !key.is_empty() => start = Some(key),
            _ => return items,
        }
    }
}

/// Runs the project's Python check `tests/<script>` (in the venv `./scripts/test` makes).
fn run_check(script: &str, args: &[&std::ffi::OsStr]) -> std::process::Output {
    let workspace = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    std::process::Command::new(workspace.join(".venv/bin/python"))
        .arg(workspace.join("tests").join(script))
        .args(args)
        .output()
        .unwrap_or_else(|error| panic!("{script} runs (./scripts/test creates .venv): {error}"))
}

/// Fails the test with a check's report, headed by `fault`, unless the check passed.
fn assert_passed(output: &std::process::Output, fault: &str) {
    assert!(
        output.status.success(),
        "{fault}:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Runs the Python check `tests/<script>` with `args`; fails the test unless it passes.
pub fn assert_check_passes(script: &str, args: &[&str], fault: &str) {
    let args: Vec<&std::ffi::OsStr> = args.iter().map(std::ffi::OsStr::new).collect();
    assert_passed(&run_check(script, &args), fault);
}

/// The same, for a check that reads `documents` from a JSON file given after `flags`.
pub fn assert_check_passes_on(script: &str, flags: &[&str], documents: &[Value], fault: &str) {
    let file = std::env::temp_dir().join(format!("kickboard-check-{}.json", uuid::Uuid::new_v4()));
    std::fs::write(&file, serde_json::to_vec(documents).unwrap()).unwrap();
    let mut args: Vec<&std::ffi::OsStr> = flags.iter().map(std::ffi::OsStr::new).collect();
    args.push(file.as_os_str());
    let output = run_check(script, &args);
    let _ = std::fs::remove_file(&file);
    assert_passed(&output, fault);
}
