//! Reading requests the same way on Lambda and on the local server: identity from the
//! authorizer's claims, ids from path parameters, strict JSON bodies.

use super::problem::{Problem, ProblemType};
use crate::domain::ids::CustomerId;
use lambda_http::http::header;
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt};
use serde::de::DeserializeOwned;

/// The largest body a route accepts, but a zone's.
pub const MAX_BODY_BYTES: usize = 16 * 1024;
/// The largest zone definition: a zone of 10,000 positions is about 250 KiB of JSON.
pub const MAX_ZONE_BODY_BYTES: usize = 512 * 1024;
/// The group whose members manage the fleet.
pub const ADMIN_GROUP: &str = "admin";
/// The group of the vehicles' own credentials: they report where they are.
pub const VEHICLE_GROUP: &str = "vehicle";
/// The group of the city agencies that audit the fleet through the MDS Provider API.
pub const AGENCY_GROUP: &str = "agency";

/// Who is calling, as the JWT authorizer verified it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub customer_id: CustomerId,
    pub groups: Vec<String>,
}

impl Identity {
    pub fn is_admin(&self) -> bool {
        self.groups.iter().any(|group| group == ADMIN_GROUP)
    }

    pub fn is_vehicle(&self) -> bool {
        self.groups.iter().any(|group| group == VEHICLE_GROUP)
    }

    pub fn is_agency(&self) -> bool {
        self.groups.iter().any(|group| group == AGENCY_GROUP)
    }
}

/// Reads `cognito:groups` as API Gateway passes it: `[a b]`, `["a","b"]` or `a,b`.
fn parse_groups(claim: &str) -> Vec<String> {
    claim
        .trim()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .split(|c: char| c == ',' || c.is_whitespace())
        .map(|group| group.trim_matches('"'))
        .filter(|group| !group.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The caller, from the JWT authorizer's claims in the request context. Headers are never
/// trusted for this: without verified claims the request is 401.
pub fn identity(request: &Request) -> Result<Identity, Problem> {
    let unauthorized = || Problem::new(ProblemType::Unauthorized);
    let Some(RequestContext::ApiGatewayV2(context)) = request.request_context_ref() else {
        return Err(unauthorized());
    };
    let claims =
        &context.authorizer.as_ref().and_then(|authorizer| authorizer.jwt.as_ref()).ok_or_else(unauthorized)?.claims;
    let sub = claims.get("sub").ok_or_else(unauthorized)?;
    let customer_id = CustomerId::try_from(sub.as_str()).map_err(|_| unauthorized())?;
    let groups = claims.get("cognito:groups").map(|claim| parse_groups(claim)).unwrap_or_default();
    Ok(Identity { customer_id, groups })
}

/// A path parameter parsed into its id type.
pub fn path_id<T>(request: &Request, name: &str) -> Result<T, Problem>
where
    T: TryFrom<String>,
    T::Error: std::fmt::Display,
{
    let value = request
        .path_parameters_ref()
        .and_then(|params| params.first(name))
        .ok_or_else(|| Problem::new(ProblemType::NotFound))?;
    T::try_from(value.to_owned()).map_err(|error| Problem::invalid_field(name, error.to_string()))
}

/// A query parameter, if present.
pub fn query_param(request: &Request, name: &str) -> Option<String> {
    request.query_string_parameters_ref().and_then(|params| params.first(name)).map(str::to_owned)
}

fn body_bytes(request: &Request) -> &[u8] {
    match request.body() {
        Body::Empty => &[],
        Body::Text(text) => text.as_bytes(),
        Body::Binary(bytes) => bytes,
        _ => &[],
    }
}

/// The body parsed strictly (unknown fields and wrong types refused), or `None` when
/// there is none. Size and content type are checked first.
pub fn optional_json_body<T: DeserializeOwned>(request: &Request) -> Result<Option<T>, Problem> {
    json_body_within(request, MAX_BODY_BYTES)
}

/// [`optional_json_body`] for a route whose bodies may be up to `limit` bytes.
fn json_body_within<T: DeserializeOwned>(request: &Request, limit: usize) -> Result<Option<T>, Problem> {
    let bytes = body_bytes(request);
    if bytes.len() > limit {
        return Err(
            Problem::new(ProblemType::PayloadTooLarge).with_detail(format!("bodies are limited to {limit} bytes"))
        );
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let content_type = request.headers().get(header::CONTENT_TYPE).and_then(|value| value.to_str().ok()).unwrap_or("");
    let media_type = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    if media_type != "application/json" && !media_type.ends_with("+json") {
        return Err(Problem::new(ProblemType::UnsupportedMediaType));
    }
    // Every body is an object: serde would also fill a struct from an array.
    if bytes.iter().find(|byte| !byte.is_ascii_whitespace()) != Some(&b'{') {
        return Err(Problem::new(ProblemType::InvalidRequest).with_detail("the body must be a JSON object"));
    }
    let deserializer = &mut serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(deserializer).map_err(|error| {
        let field = error.path().to_string();
        let detail = error.inner().to_string();
        if field == "." {
            Problem::new(ProblemType::InvalidRequest).with_detail(detail)
        } else {
            Problem::invalid_field(field, detail)
        }
    })?;
    Ok(Some(value))
}

/// A zone definition's body, which may be larger than others.
pub fn zone_body<T: DeserializeOwned>(request: &Request) -> Result<T, Problem> {
    json_body_within(request, MAX_ZONE_BODY_BYTES)?
        .ok_or_else(|| Problem::new(ProblemType::InvalidRequest).with_detail("a JSON body is required"))
}

/// The body, which this route requires.
pub fn json_body<T: DeserializeOwned>(request: &Request) -> Result<T, Problem> {
    optional_json_body(request)?
        .ok_or_else(|| Problem::new(ProblemType::InvalidRequest).with_detail("a JSON body is required"))
}

#[cfg(test)]
mod tests {
    use super::parse_groups;

    #[test]
    fn reads_every_group_claim_format() {
        assert_eq!(parse_groups("[admin customer]"), ["admin", "customer"]);
        assert_eq!(parse_groups(r#"["admin","ops"]"#), ["admin", "ops"]);
        assert_eq!(parse_groups("admin"), ["admin"]);
        assert!(parse_groups("[]").is_empty());
    }
}
