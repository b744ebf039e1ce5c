//! `kickboard-ops provision-thing`: makes a board's AWS IoT Core identity. Its thing is named
//! after the board, so the vehicle policy's `${iot:Connection.Thing.ThingName}` is the board's
//! id and its certificate reaches only `kickboard/<id>/…`; the certificate is made active,
//! given the stack's vehicle policy and attached to the thing. The certificate and its private
//! key are written for the board's firmware (the key is never kept elsewhere: IoT Core does
//! not store it).
//!
//! Five control-plane calls, signed here with SigV4 rather than through `aws-sdk-iot`, whose
//! 383,000 generated lines would be the largest compile of the workspace for them.

use aws_config::SdkConfig;
use aws_credential_types::provider::ProvideCredentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Method, Request};
use kickboard_common::adapters::https::{HttpsClient, https_client};
use kickboard_common::domain::ids::KickboardId;
use kickboard_common::vehicle_topics::Channel;
use serde::Deserialize;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// IoT Core's signing name.
const SERVICE: &str = "iot";

#[derive(Debug, thiserror::Error)]
pub enum ProvisionError {
    #[error("no AWS credentials: {0}")]
    Credentials(String),
    #[error("no AWS region is configured")]
    NoRegion,
    #[error("IoT Core refused {call}: {status} {body}")]
    Refused { call: &'static str, status: u16, body: String },
    #[error("IoT Core could not be reached for {call}: {error}")]
    Unreachable { call: &'static str, error: String },
    #[error("the files could not be written: {0}")]
    Files(#[from] std::io::Error),
}

/// What was made for one board.
#[derive(Debug)]
pub struct Provisioned {
    pub thing_arn: String,
    pub certificate_arn: String,
    pub certificate_file: PathBuf,
    pub private_key_file: PathBuf,
    /// Where the board connects: the account's `iot:Data-ATS` endpoint, port 8883.
    pub endpoint: String,
}

impl Provisioned {
    /// What the board's firmware is told.
    pub fn report(&self, board: &KickboardId) -> String {
        format!(
            "thing {} with certificate {} (policy attached)\n\
             certificate: {}\nprivate key: {}\n\
             the board connects to mqtts://{}:8883 as client id {board}, publishes on {} and {}, \
             and subscribes to {}",
            self.thing_arn,
            self.certificate_arn,
            self.certificate_file.display(),
            self.private_key_file.display(),
            self.endpoint,
            Channel::Telemetry.topic(board),
            Channel::Acks.topic(board),
            Channel::Commands.topic(board),
        )
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Thing {
    thing_arn: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Keys {
    certificate_arn: String,
    certificate_pem: String,
    key_pair: KeyPair,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct KeyPair {
    private_key: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Endpoint {
    endpoint_address: String,
}

/// IoT Core's control plane, as `config` reaches it (its region, credentials and endpoint).
struct ControlPlane<'a> {
    config: &'a SdkConfig,
    base: String,
    client: HttpsClient,
}

impl ControlPlane<'_> {
    /// Sends one signed request and reads its answer.
    async fn call<T: for<'de> Deserialize<'de>>(
        &self,
        call: &'static str,
        method: Method,
        path_and_query: &str,
        headers: &[(&str, &str)],
        body: Value,
    ) -> Result<T, ProvisionError> {
        let answer = self.call_unless(call, method, path_and_query, headers, body, None).await?;
        answer.ok_or_else(|| ProvisionError::Unreachable { call, error: "no answer".into() })
    }

    /// [`ControlPlane::call`], with `Ok(None)` for a refusal of status `tolerated`.
    async fn call_unless<T: for<'de> Deserialize<'de>>(
        &self,
        call: &'static str,
        method: Method,
        path_and_query: &str,
        headers: &[(&str, &str)],
        body: Value,
        tolerated: Option<u16>,
    ) -> Result<Option<T>, ProvisionError> {
        let unreachable = |error: String| ProvisionError::Unreachable { call, error };
        let credentials = match self.config.credentials_provider() {
            Some(provider) => {
                provider.provide_credentials().await.map_err(|e| ProvisionError::Credentials(e.to_string()))?
            }
            None => return Err(ProvisionError::Credentials("no credentials provider".into())),
        };
        let region = self.config.region().ok_or(ProvisionError::NoRegion)?;
        let url = format!("{}{path_and_query}", self.base);
        let body = body.to_string().into_bytes();
        let mut request =
            Request::builder().method(method.clone()).uri(&url).header("content-type", "application/json");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let mut request = request.body(Full::new(Bytes::from(body.clone()))).map_err(|e| unreachable(e.to_string()))?;
        let identity = credentials.into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(region.as_ref())
            .name(SERVICE)
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()
            .map_err(|e| unreachable(e.to_string()))?
            .into();
        let signed_headers =
            request.headers().iter().map(|(name, value)| (name.as_str(), value.to_str().unwrap_or("")));
        let signable = SignableRequest::new(method.as_str(), &url, signed_headers, SignableBody::Bytes(&body))
            .map_err(|e| unreachable(e.to_string()))?;
        let (instructions, _) = sign(signable, &params).map_err(|e| unreachable(e.to_string()))?.into_parts();
        instructions.apply_to_request_http1x(&mut request);
        let response = self.client.request(request).await.map_err(|e| unreachable(e.to_string()))?;
        let status = response.status().as_u16();
        let bytes = response.into_body().collect().await.map_err(|e| unreachable(e.to_string()))?.to_bytes();
        if status >= 300 {
            if Some(status) == tolerated {
                return Ok(None);
            }
            return Err(ProvisionError::Refused { call, status, body: String::from_utf8_lossy(&bytes).into_owned() });
        }
        // Attaching answers 200 with no body.
        let bytes = if bytes.is_empty() { Bytes::from_static(b"null") } else { bytes };
        serde_json::from_slice(&bytes).map(Some).map_err(|e| unreachable(format!("an answer not understood: {e}")))
    }
}

/// Makes `board`'s thing (or finds it made), a new active certificate for it with `policy`
/// attached, and writes the certificate and key into `out_dir`.
pub async fn provision_thing(
    config: &SdkConfig,
    policy: &str,
    board: &KickboardId,
    out_dir: &Path,
) -> Result<Provisioned, ProvisionError> {
    let region = config.region().ok_or(ProvisionError::NoRegion)?;
    let base = match config.endpoint_url() {
        Some(url) => url.trim_end_matches('/').to_owned(),
        None => format!("https://iot.{region}.amazonaws.com"),
    };
    let plane = ControlPlane { config, base, client: https_client(None)? };

    // A board provisioned before keeps its thing (409: it exists); it gets a new certificate.
    let thing = format!("/things/{board}");
    let made: Option<Thing> = plane.call_unless("CreateThing", Method::POST, &thing, &[], json!({}), Some(409)).await?;
    let thing_arn = match made {
        Some(made) => made.thing_arn,
        None => plane.call::<Thing>("DescribeThing", Method::GET, &thing, &[], json!({})).await?.thing_arn,
    };
    let keys: Keys = plane
        .call("CreateKeysAndCertificate", Method::POST, "/keys-and-certificate?setAsActive=true", &[], json!({}))
        .await?;
    let target = json!({"target": keys.certificate_arn});
    plane.call::<Value>("AttachPolicy", Method::PUT, &format!("/target-policies/{policy}"), &[], target).await?;
    let principal = [("x-amzn-principal", keys.certificate_arn.as_str())];
    plane
        .call::<Value>("AttachThingPrincipal", Method::PUT, &format!("{thing}/principals"), &principal, json!({}))
        .await?;
    let endpoint: Endpoint =
        plane.call("DescribeEndpoint", Method::GET, "/endpoint?endpointType=iot%3AData-ATS", &[], json!({})).await?;

    std::fs::create_dir_all(out_dir)?;
    let certificate_file = out_dir.join(format!("{board}.cert.pem"));
    let private_key_file = out_dir.join(format!("{board}.private.key"));
    std::fs::write(&certificate_file, &keys.certificate_pem)?;
    write_private(&private_key_file, &keys.key_pair.private_key)?;
    Ok(Provisioned {
        thing_arn,
        certificate_arn: keys.certificate_arn,
        certificate_file,
        private_key_file,
        endpoint: endpoint.endpoint_address,
    })
}

/// Writes `key` readable by its owner only.
fn write_private(path: &Path, key: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(path)?;
    file.write_all(key.as_bytes())
}
