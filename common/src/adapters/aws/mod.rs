//! The AWS adapters: DynamoDB for state and views, EventBridge for events, SNS for alerts,
//! IoT Core for commands to vehicles.
//! Clients are built once per cold start from one `aws-config` load and reused.

mod dynamo;
mod eventbridge;
mod iot;
pub mod items;
mod sns;

pub use dynamo::{DynamoStore, Tables};
pub use eventbridge::EventBridgePublisher;
pub use iot::IotVehicleLink;
pub use sns::{PushApplications, SnsAlertSender, SnsPushRegistry};

use crate::ports::PortError;
use aws_sdk_dynamodb::config::SharedHttpClient;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_http_client::tls::{self, TlsContext, TrustStore};

/// Error codes by which DynamoDB, EventBridge and SNS say "not now": the request was
/// throttled or the service failed before doing anything, so trying again can succeed.
const TRANSIENT_CODES: [&str; 12] = [
    "ThrottlingException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "TransactionInProgressException",
    "InternalServerError",
    "InternalFailure",
    "InternalException",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "Throttling",
    "Throttled",
    "KMSThrottlingException",
];

/// Whether a cancelled transaction's reason code (or any error code) means "not now".
pub fn is_transient_code(code: &str) -> bool {
    TRANSIENT_CODES.contains(&code) || code == "TransactionConflict" || code == "ThrottlingError"
}

/// Error codes by which DynamoDB and EventBridge (`AccessDeniedException`), SNS
/// (`AuthorizationError`) and IoT Core's data plane (`ForbiddenException`) say the function's
/// role does not allow the call.
const DENIED_CODES: [&str; 4] = ["AccessDeniedException", "AccessDenied", "AuthorizationError", "ForbiddenException"];

/// An SDK call's failure, with its whole cause chain for the logs: transient (a `503` with
/// `Retry-After` to an API caller, a retry for an event function) when the service throttled,
/// timed out or answered 5xx, or when the role lacks a permission (a deploy must mend it: see
/// [`permission_denied`]); otherwise unavailable.
pub fn sdk_error<E>(error: SdkError<E>) -> PortError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let detail = aws_sdk_dynamodb::error::DisplayErrorContext(&error).to_string();
    let transient = match &error {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) => true,
        SdkError::ResponseError(response) => response.raw().status().is_server_error(),
        SdkError::ServiceError(service) => match service.err().code() {
            Some(code) if DENIED_CODES.contains(&code) => {
                permission_denied(service.err().message().unwrap_or(code));
                true
            }
            code => service.raw().status().is_server_error() || code.is_some_and(is_transient_code),
        },
        _ => false,
    };
    if transient { PortError::Transient(detail) } else { PortError::Unavailable(detail) }
}

/// Distinct denials a process logs; past them it only counts (a text's resource is the phone
/// number, so a denied SMS grant would otherwise keep one line per customer in memory).
const DENIALS_LOGGED: usize = 32;

/// A call the role does not allow: a deploy that left a permission out. Counted every time,
/// so the alarm on `PermissionsDenied` pages; logged once per message (the action and the
/// resource AWS names), so a busy function does not flood its log with the same line.
fn permission_denied(message: &str) {
    static LOGGED: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
    crate::metrics::record(crate::metrics::Metric::PermissionsDenied, 1.0);
    let mut logged = LOGGED.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if logged.len() < DENIALS_LOGGED && !logged.iter().any(|seen| seen == message) {
        tracing::error!(denied = message, "the function's role does not allow an AWS call: fix the template's policy");
        logged.push(message.to_owned());
    }
}

/// Whether a conditional write was applied: `false` when its condition failed (an answer,
/// not an error), the SDK's error otherwise.
pub fn applied<T, E>(result: Result<T, SdkError<E>>) -> Result<bool, PortError>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match result {
        Ok(_) => Ok(true),
        Err(error) if error.as_service_error().and_then(|e| e.code()) == Some("ConditionalCheckFailedException") => {
            Ok(false)
        }
        Err(error) => Err(sdk_error(error)),
    }
}

/// The roots every AWS service endpoint's certificate chains to: Amazon Trust Services'
/// four, and the Starfield root that cross-signs them.
const AWS_TRUST_ROOTS: [&str; 5] = [
    include_str!("roots/Amazon_Root_CA_1.pem"),
    include_str!("roots/Amazon_Root_CA_2.pem"),
    include_str!("roots/Amazon_Root_CA_3.pem"),
    include_str!("roots/Amazon_Root_CA_4.pem"),
    include_str!("roots/Starfield_Services_Root_Certificate_Authority_-_G2.pem"),
];

/// An HTTPS client that trusts only [`AWS_TRUST_ROOTS`]. The SDK's default client reads and
/// parses the whole system store (about 140 roots) at every cold start, which is most of a
/// function's start-up work (BENCHMARKS.md, "cold start"); AWS endpoints need five of them.
fn aws_endpoints_client() -> SharedHttpClient {
    let roots = AWS_TRUST_ROOTS.iter().fold(TrustStore::empty(), |roots, pem| roots.with_pem_certificate(*pem));
    let context =
        TlsContext::builder().with_trust_store(roots).build().expect("a trust store of certificates is valid");
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(tls::rustls_provider::CryptoMode::AwsLc))
        .tls_context(context)
        .build_https()
}

/// Whether the APIs are reached somewhere other than AWS (`AWS_ENDPOINT_URL` or a service's
/// `AWS_ENDPOINT_URL_*`): an emulator or a proxy, whose certificate may come from any CA.
fn custom_endpoint_in_environment() -> bool {
    std::env::vars_os().any(|(name, _)| name.to_string_lossy().starts_with("AWS_ENDPOINT_URL"))
}

/// Loads region and credentials from the environment (the Lambda role on AWS); `endpoint`
/// overrides where the APIs are reached, as `AWS_ENDPOINT_URL` does when it is not given.
/// AWS itself is reached trusting only the roots AWS certificates chain to; anywhere else,
/// trusting the system's roots.
pub async fn load_config(endpoint: Option<&str>) -> aws_config::SdkConfig {
    let loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
    match endpoint {
        Some(endpoint) => loader.endpoint_url(endpoint).load().await,
        None if custom_endpoint_in_environment() => loader.load().await,
        None => loader.http_client(aws_endpoints_client()).load().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject;

    #[test]
    fn the_aws_roots_are_certificates_the_system_trusts_too() {
        let system = std::fs::read("/etc/ssl/certs/ca-certificates.crt").expect("the system's CA bundle");
        let system: Vec<CertificateDer> = CertificateDer::pem_slice_iter(&system).collect::<Result<_, _>>().unwrap();
        for pem in AWS_TRUST_ROOTS {
            let roots: Vec<CertificateDer> =
                CertificateDer::pem_slice_iter(pem.as_bytes()).collect::<Result<_, _>>().unwrap();
            assert_eq!(roots.len(), 1, "one certificate per file");
            assert!(system.contains(&roots[0]), "a root the system trusts");
        }
    }
}
