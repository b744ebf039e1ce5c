//! Local sign-in: the local server signs and verifies its own JWTs (ES256), standing in for
//! the Cognito user pool and API Gateway's JWT authorizer. The key pair lives in the data
//! dir; the public key is served as a JWKS at `/.well-known/jwks.json`.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, encode, get_current_timestamp};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Mutex, PoisonError};

pub const ISSUER: &str = "kickboard-local";
pub const AUDIENCE: &str = "kickboard";
/// The PKCS#8 private key, readable by its owner only.
const KEY_FILE: &str = "local-signing-key.p8";
/// How long a minted token stays valid.
pub const TOKEN_TTL_SECS: u64 = 12 * 60 * 60;
/// Clock skew allowed on `exp`, in seconds.
const LEEWAY_SECS: u64 = 5;
/// Tokens remembered as verified; the memory starts over when it is full.
const VERIFIED_CAPACITY: usize = 10_000;

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

impl Claims {
    /// Claims for `sub` valid from now for [`TOKEN_TTL_SECS`].
    pub fn new(sub: &str, groups: &[String]) -> Self {
        let now = get_current_timestamp();
        Self {
            sub: sub.to_owned(),
            iss: ISSUER.to_owned(),
            aud: AUDIENCE.to_owned(),
            iat: now,
            exp: now + TOKEN_TTL_SECS,
            groups: groups.to_vec(),
        }
    }
}

/// Why a token was refused. Never shown to the caller beyond "401".
#[derive(Debug, thiserror::Error)]
#[error("invalid token: {0}")]
pub struct InvalidToken(String);

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("cannot read or write the signing key: {0}")]
    Io(#[from] std::io::Error),
    #[error("the signing key is not a P-256 PKCS#8 key")]
    Invalid,
}

pub struct TokenAuthority {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    key_id: String,
    jwks: Value,
    /// Tokens whose signature and claims checked out, so a client sending the same token
    /// again costs a lookup rather than an ECDSA verification; `exp` is checked every time.
    verified: Mutex<HashMap<String, Claims>>,
}

impl TokenAuthority {
    /// Uses the key pair kept in `data_dir`, creating it on first start so tokens survive restarts.
    pub fn from_data_dir(data_dir: &Path) -> Result<Self, KeyError> {
        Self::with_key(&kept(&data_dir.join(KEY_FILE), generate)?)
    }

    /// A key pair for this process only.
    pub fn ephemeral() -> Result<Self, KeyError> {
        Self::with_key(&generate()?)
    }

    fn with_key(pkcs8: &[u8]) -> Result<Self, KeyError> {
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8).map_err(|_| KeyError::Invalid)?;
        // An uncompressed P-256 point: 0x04, then x and y, 32 bytes each.
        let point = pair.public_key().as_ref();
        if point.len() != 65 {
            return Err(KeyError::Invalid);
        }
        let (x, y) = (URL_SAFE_NO_PAD.encode(&point[1..33]), URL_SAFE_NO_PAD.encode(&point[33..]));
        let key_id = URL_SAFE_NO_PAD.encode(&point[1..9]);
        let mut validation = Validation::new(Algorithm::ES256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = LEEWAY_SECS;
        Ok(Self {
            encoding: EncodingKey::from_ec_der(pkcs8),
            decoding: DecodingKey::from_ec_components(&x, &y).map_err(|_| KeyError::Invalid)?,
            validation,
            jwks: json!({ "keys": [{ "kty": "EC", "crv": "P-256", "x": x, "y": y, "use": "sig", "alg": "ES256", "kid": key_id }] }),
            key_id,
            verified: Mutex::new(HashMap::new()),
        })
    }

    /// A token for `sub` in `groups`, valid for [`TOKEN_TTL_SECS`].
    pub fn mint(&self, sub: &str, groups: &[String]) -> String {
        self.sign(&Claims::new(sub, groups))
    }

    /// A token with exactly these claims (tests use it for expired or foreign tokens).
    pub fn sign(&self, claims: &Claims) -> String {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(self.key_id.clone());
        encode(&header, claims, &self.encoding).expect("signing with a valid P-256 key cannot fail")
    }

    pub fn verify(&self, token: &str) -> Result<Claims, InvalidToken> {
        let mut verified = self.verified.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(claims) = verified.get(token).filter(|claims| unexpired(claims, get_current_timestamp())) {
            return Ok(claims.clone());
        }
        drop(verified);
        let claims = decode::<Claims>(token, &self.decoding, &self.validation)
            .map(|data| data.claims)
            .map_err(|error| InvalidToken(error.to_string()))?;
        verified = self.verified.lock().unwrap_or_else(PoisonError::into_inner);
        if verified.len() >= VERIFIED_CAPACITY {
            verified.clear();
        }
        verified.insert(token.to_owned(), claims.clone());
        Ok(claims)
    }

    /// The public key as a JSON Web Key Set.
    pub fn jwks(&self) -> &Value {
        &self.jwks
    }
}

/// `exp` as the verification checks it, for a token remembered as verified.
fn unexpired(claims: &Claims, now: u64) -> bool {
    claims.exp.saturating_add(LEEWAY_SECS) >= now
}

/// A random secret of the service kept in `data_dir` as `file` (made on first start, so what
/// it signs stays valid across restarts), or for this process only without a data dir.
pub fn kept_secret(data_dir: Option<&Path>, file: &str) -> std::io::Result<Vec<u8>> {
    let fresh = || {
        let mut secret = vec![0; 32];
        aws_lc_rs::rand::fill(&mut secret).map_err(|_| std::io::Error::other("no randomness"))?;
        Ok::<_, std::io::Error>(secret)
    };
    match data_dir {
        Some(data_dir) => kept(&data_dir.join(file), fresh),
        None => fresh(),
    }
}

/// The key kept at `path`, made with `make` and written there (owner only) when there is none.
fn kept<E: From<std::io::Error>>(path: &Path, make: impl FnOnce() -> Result<Vec<u8>, E>) -> Result<Vec<u8>, E> {
    match std::fs::read(path) {
        Ok(key) => Ok(key),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            let key = make()?;
            write_private(path, &key)?;
            Ok(key)
        }
        Err(error) => Err(error.into()),
    }
}

fn generate() -> Result<Vec<u8>, KeyError> {
    let document = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
        .map_err(|_| KeyError::Invalid)?;
    Ok(document.as_ref().to_vec())
}

fn write_private(path: &Path, key: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new_authority() -> TokenAuthority {
        TokenAuthority::ephemeral().unwrap()
    }

    #[test]
    fn verifies_its_own_tokens() {
        let authority = new_authority();
        let claims = authority.verify(&authority.mint("alice", &["admin".to_owned()])).unwrap();
        assert_eq!((claims.sub.as_str(), claims.groups.as_slice()), ("alice", ["admin".to_owned()].as_slice()));
    }

    #[test]
    fn refuses_foreign_expired_unsigned_and_misaddressed_tokens() {
        let authority = new_authority();
        assert!(authority.verify(&new_authority().mint("alice", &[])).is_err(), "another key");
        let expired = Claims { exp: get_current_timestamp() - 60, ..Claims::new("alice", &[]) };
        assert!(authority.verify(&authority.sign(&expired)).is_err(), "expired");
        let elsewhere = Claims { aud: "another-app".into(), ..Claims::new("alice", &[]) };
        assert!(authority.verify(&authority.sign(&elsewhere)).is_err(), "another audience");
        let stranger = Claims { iss: "someone-else".into(), ..Claims::new("alice", &[]) };
        assert!(authority.verify(&authority.sign(&stranger)).is_err(), "another issuer");
        let claims = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&Claims::new("alice", &[])).unwrap());
        let unsigned = format!("{}.{claims}.", URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#));
        assert!(authority.verify(&unsigned).is_err(), "alg none");
        assert!(authority.verify("not.a.token").is_err());
    }

    #[test]
    fn a_remembered_token_is_refused_once_it_expires() {
        let authority = new_authority();
        let claims = Claims { exp: get_current_timestamp() + 60, ..Claims::new("alice", &[]) };
        let token = authority.sign(&claims);
        assert_eq!(authority.verify(&token).unwrap(), claims);
        assert_eq!(authority.verify(&token).unwrap(), claims, "answered from memory");
        assert!(unexpired(&claims, claims.exp + LEEWAY_SECS));
        assert!(!unexpired(&claims, claims.exp + LEEWAY_SECS + 1));
        // Remembered claims past their `exp` are never served: the token is verified again.
        authority.verified.lock().unwrap().get_mut(&token).unwrap().exp = get_current_timestamp() - 60;
        assert_eq!(authority.verify(&token).unwrap(), claims, "the signed claims, not the remembered ones");
    }

    #[test]
    fn the_jwks_holds_the_verifying_key() {
        let authority = new_authority();
        let key = &authority.jwks()["keys"][0];
        let decoding = DecodingKey::from_ec_components(key["x"].as_str().unwrap(), key["y"].as_str().unwrap()).unwrap();
        let token = authority.mint("alice", &[]);
        assert!(decode::<Claims>(&token, &decoding, &authority.validation).is_ok());
    }
}
