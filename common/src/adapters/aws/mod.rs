//! The AWS adapters: DynamoDB for state and views, EventBridge for events, SNS for alerts.
//! Clients are built once per cold start from one `aws-config` load and reused.

mod dynamo;
mod eventbridge;
pub mod items;
mod sns;

pub use dynamo::{DynamoStore, Tables};
pub use eventbridge::EventBridgePublisher;
pub use sns::SnsAlertSender;

use aws_sdk_dynamodb::config::SharedHttpClient;
use aws_smithy_http_client::tls::{self, TlsContext, TrustStore};

/// An SDK call's failure, with its whole cause chain, as an unavailable backend (for logs).
pub fn sdk_error(error: impl std::error::Error) -> crate::ports::PortError {
    crate::ports::PortError::Unavailable(aws_sdk_dynamodb::error::DisplayErrorContext(error).to_string())
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
