//! Local sign-in: the local server signs and verifies its own JWTs, standing in for the
//! Cognito user pool and API Gateway's JWT authorizer.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, encode, get_current_timestamp};
use serde::{Deserialize, Serialize};
use std::path::Path;

pub const ISSUER: &str = "kickboard-local";
pub const AUDIENCE: &str = "kickboard";
const KEY_FILE: &str = "local-signing.key";
const KEY_BYTES: usize = 32;
/// How long a minted token stays valid.
pub const TOKEN_TTL_SECS: u64 = 12 * 60 * 60;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub iss: String,
    pub aud: String,
    pub iat: u64,
    pub exp: u64,
    #[serde(rename = "cognito:groups", default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
}

/// Why a token was refused. Never shown to the caller beyond "401".
#[derive(Debug, thiserror::Error)]
#[error("invalid token: {0}")]
pub struct InvalidToken(String);

pub struct TokenAuthority {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

fn random_key() -> Vec<u8> {
    // Two v4 UUIDs are 244 random bits from the OS generator.
    let mut key = Vec::with_capacity(KEY_BYTES);
    key.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
    key.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
    key
}

impl TokenAuthority {
    /// Uses the key kept in `data_dir`, creating it on first start so tokens survive restarts.
    pub fn from_data_dir(data_dir: &Path) -> std::io::Result<Self> {
        let path = data_dir.join(KEY_FILE);
        let key = match std::fs::read(&path) {
            Ok(key) if key.len() == KEY_BYTES => key,
            _ => {
                let key = random_key();
                write_private(&path, &key)?;
                key
            }
        };
        Ok(Self::with_key(&key))
    }

    /// A key for this process only.
    pub fn ephemeral() -> Self {
        Self::with_key(&random_key())
    }

    fn with_key(key: &[u8]) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = 5;
        Self { encoding: EncodingKey::from_secret(key), decoding: DecodingKey::from_secret(key), validation }
    }

    pub fn mint(&self, sub: &str, groups: &[String]) -> String {
        let now = get_current_timestamp();
        let claims = Claims {
            sub: sub.to_owned(),
            iss: ISSUER.to_owned(),
            aud: AUDIENCE.to_owned(),
            iat: now,
            exp: now + TOKEN_TTL_SECS,
            groups: groups.to_vec(),
        };
        encode(&Header::new(Algorithm::HS256), &claims, &self.encoding).expect("HS256 signing cannot fail")
    }

    pub fn verify(&self, token: &str) -> Result<Claims, InvalidToken> {
        decode::<Claims>(token, &self.decoding, &self.validation)
            .map(|data| data.claims)
            .map_err(|error| InvalidToken(error.to_string()))
    }
}

fn write_private(path: &Path, key: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verifies_its_own_tokens_only() {
        let authority = TokenAuthority::ephemeral();
        let token = authority.mint("alice", &["admin".to_owned()]);
        let claims = authority.verify(&token).unwrap();
        assert_eq!(claims.sub, "alice");
        assert_eq!(claims.groups, ["admin"]);
        assert!(TokenAuthority::ephemeral().verify(&token).is_err(), "another key must not verify");
        assert!(authority.verify("not.a.token").is_err());
    }
}
