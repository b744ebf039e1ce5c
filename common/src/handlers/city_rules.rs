//! The city's rules as it publishes them (MDS 2.0 Geography and Policy), imported by an admin
//! and compiled into the zones rides obey (`domain::mds_policy`). A document is refused whole,
//! naming the JSON path at fault; a published one never changes (a city publishes a new policy
//! naming the old in `prev_policies`). The fleet caps a policy sets are counted on request.

use crate::domain::mds_policy::{
    CityDocument, CityDocumentKind, CityRules, Enforced, Geography, MdsDocumentError, Policy, check_references,
    compile, parse_documents,
};
use crate::domain::zones::ZoneRules;
use crate::http::contract::Contract;
use crate::http::endpoint::{Admin, Endpoint, Handle};
use crate::http::request::{json_body, path_id};
use crate::http::response::json;
use crate::http::{HandlerResult, Problem, ProblemType};
use crate::ports::{CapMarks, FleetStore, PortError, PortResult, ZoneStore};
use crate::services::Services;
use crate::zone_cache::CityContext;
use lambda_http::Request;
use lambda_http::http::{Method, StatusCode};
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

/// The MDS version of the documents imported.
const MDS_VERSION: &str = "2.0";

/// An MDS 2.0 document as a city publishes it (the Open Mobility Foundation's models
/// `geography.yaml` and `policy.yaml`); checked field by field when imported.
#[derive(JsonSchema)]
#[schemars(extend("type" = "object"))]
struct MdsDocument(#[allow(dead_code)] serde_json::Map<String, Value>);

/// The document refused, at its path.
fn refused(error: MdsDocumentError) -> Problem {
    Problem::invalid_field(error.path, error.reason)
}

/// The path's id, which must be the document's own.
fn path_uuid(request: &Request, name: &str) -> Result<Uuid, Problem> {
    let given: String = path_id(request, name)?;
    Uuid::parse_str(&given).map_err(|_| Problem::invalid_field(name, "must be a UUID"))
}

fn same_id(name: &str, path: Uuid, document: Uuid) -> Result<(), Problem> {
    match path == document {
        true => Ok(()),
        false => Err(Problem::invalid_field(name, format!("is {document} in the document, {path} in the path"))),
    }
}

/// The stored documents of `kind`, as given.
async fn stored(app: &impl Services, kind: CityDocumentKind) -> Result<Vec<CityDocument>, Problem> {
    Ok(app.zones().zone_set().await?.city.into_iter().filter(|document| document.kind == kind).collect())
}

/// Keeps `document`: `201` when new, `200` when the same was kept already.
async fn import(app: &impl Services, document: &CityDocument) -> Result<StatusCode, Problem> {
    let event = document.imported(app.clock().now());
    Ok(match app.zones().import_city_document(document, &event).await? {
        true => StatusCode::CREATED,
        false => StatusCode::OK,
    })
}

#[derive(Serialize, JsonSchema)]
struct GeographyAnswer {
    version: &'static str,
    #[schemars(with = "MdsDocument")]
    geography: Value,
}

#[derive(Serialize, JsonSchema)]
struct GeographiesAnswer {
    version: &'static str,
    #[schemars(with = "Vec<MdsDocument>")]
    geographies: Vec<Value>,
}

/// `PUT /mds/geographies/{geography_id}` (admin): imports a city's Geography.
pub struct PutGeography;

impl Endpoint for PutGeography {
    const METHOD: Method = Method::PUT;
    const PATH: &'static str = "/mds/geographies/{geography_id}";
    const FUNCTION: &'static str = "put-geography";
    fn contract() -> Contract {
        Contract::new("Import a city's MDS 2.0 Geography (admin)")
            .path::<Uuid>()
            .body::<MdsDocument>()
            .answers::<GeographyAnswer>(StatusCode::CREATED, "Imported (200: the same was imported already)")
            .refuses(&[ProblemType::MdsDocumentPublished])
    }
    type Caller = Admin;
}

impl<S: Services> Handle<S> for PutGeography {
    async fn handle(app: &S, _: Admin, request: Request) -> HandlerResult {
        let id = path_uuid(&request, "geography_id")?;
        let body: Value = json_body(&request)?;
        let geography = Geography::parse(body.clone()).map_err(refused)?;
        same_id("geography_id", id, geography.geography_id)?;
        let document = CityDocument { kind: CityDocumentKind::Geography, id, document: body };
        let status = import(app, &document).await?;
        Ok(json(status, &GeographyAnswer { version: MDS_VERSION, geography: document.document }))
    }
}

/// `GET /mds/geographies` (admin): the Geographies imported.
pub struct ListGeographies;

impl Endpoint for ListGeographies {
    const METHOD: Method = Method::GET;
    const PATH: &'static str = "/mds/geographies";
    const FUNCTION: &'static str = "list-geographies";
    fn contract() -> Contract {
        Contract::new("The city's MDS Geographies imported (admin)")
            .answers::<GeographiesAnswer>(StatusCode::OK, "As imported")
    }
    type Caller = Admin;
}

impl<S: Services> Handle<S> for ListGeographies {
    async fn handle(app: &S, _: Admin, _: Request) -> HandlerResult {
        let geographies = stored(app, CityDocumentKind::Geography).await?;
        let geographies = geographies.into_iter().map(|stored| stored.document).collect();
        Ok(json(StatusCode::OK, &GeographiesAnswer { version: MDS_VERSION, geographies }))
    }
}

/// What one rule of an imported policy became.
#[derive(Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
struct RuleOutcome {
    rule_id: Uuid,
    rule_name: String,
    /// The zone rules it became, when it became one.
    #[serde(skip_serializing_if = "Option::is_none")]
    zone_rules: Option<ZoneRules>,
    /// The most available boards it allows in its geographies, when it is a cap.
    #[serde(skip_serializing_if = "Option::is_none")]
    fleet_cap: Option<u64>,
    /// Why it, or part of it, is not enforced.
    not_enforced: Vec<String>,
}

#[derive(Serialize, JsonSchema)]
struct PolicyAnswer {
    version: &'static str,
    #[schemars(with = "MdsDocument")]
    policy: Value,
    /// How each rule is enforced, or why it is not.
    rules: Vec<RuleOutcome>,
}

#[derive(Serialize, JsonSchema)]
struct PoliciesAnswer {
    version: &'static str,
    #[schemars(with = "Vec<MdsDocument>")]
    policies: Vec<Value>,
    /// How each policy's rules are enforced, or why they are not, in the order of `policies`.
    enforcement: Vec<PolicyEnforcement>,
}

#[derive(Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
struct PolicyEnforcement {
    policy_id: Uuid,
    rules: Vec<RuleOutcome>,
}

/// What each rule of `policy` became for this provider, or why it is not enforced.
fn outcomes(policy: &Policy, provider_id: Uuid) -> Vec<RuleOutcome> {
    compile(policy, provider_id)
        .into_iter()
        .map(|compiled| RuleOutcome {
            rule_id: compiled.rule_id,
            rule_name: compiled.rule_name,
            zone_rules: match compiled.enforced {
                Some(Enforced::Zone(rules)) => Some(rules),
                _ => None,
            },
            fleet_cap: match compiled.enforced {
                Some(Enforced::Cap { limit }) => Some(limit),
                _ => None,
            },
            not_enforced: compiled.not_enforced.iter().map(ToString::to_string).collect(),
        })
        .collect()
}

/// `PUT /mds/policies/{policy_id}` (admin): imports a city's Policy over Geographies imported
/// before it, and says how each rule is enforced.
pub struct PutPolicy;

impl Endpoint for PutPolicy {
    const METHOD: Method = Method::PUT;
    const PATH: &'static str = "/mds/policies/{policy_id}";
    const FUNCTION: &'static str = "put-policy";
    fn contract() -> Contract {
        Contract::new("Import a city's MDS 2.0 Policy (admin): its rules compiled into zones and caps")
            .path::<Uuid>()
            .body::<MdsDocument>()
            .answers::<PolicyAnswer>(StatusCode::CREATED, "Imported (200: the same was imported already)")
            .refuses(&[ProblemType::MdsDocumentPublished])
    }
    type Caller = Admin;
}

impl<S: Services> Handle<S> for PutPolicy {
    async fn handle(app: &S, _: Admin, request: Request) -> HandlerResult {
        let id = path_uuid(&request, "policy_id")?;
        let body: Value = json_body(&request)?;
        let policy = Policy::parse(body.clone()).map_err(refused)?;
        same_id("policy_id", id, policy.policy_id)?;
        let set = app.zones().zone_set().await?;
        let (mut policies, geographies) =
            parse_documents(&set.city).map_err(|error| Problem::from(PortError::Unavailable(error.to_string())))?;
        check_references(&policy, &geographies).map_err(refused)?;
        let context = app.settings().city_context();
        let rules = outcomes(&policy, context.provider_id);
        policies.push(policy);
        // The city's rules with this one must compile together (what the zones will do).
        CityRules::new(&policies, &geographies, context.time_zone, context.provider_id).map_err(refused)?;
        let document = CityDocument { kind: CityDocumentKind::Policy, id, document: body };
        let status = import(app, &document).await?;
        Ok(json(status, &PolicyAnswer { version: MDS_VERSION, policy: document.document, rules }))
    }
}

/// `GET /mds/policies` (admin): the Policies imported, and how each rule is enforced or why
/// it is not.
pub struct ListPolicies;

impl Endpoint for ListPolicies {
    const METHOD: Method = Method::GET;
    const PATH: &'static str = "/mds/policies";
    const FUNCTION: &'static str = "list-policies";
    fn contract() -> Contract {
        Contract::new("The city's MDS Policies imported (admin)")
            .answers::<PoliciesAnswer>(StatusCode::OK, "As imported")
    }
    type Caller = Admin;
}

impl<S: Services> Handle<S> for ListPolicies {
    async fn handle(app: &S, _: Admin, _: Request) -> HandlerResult {
        let stored = stored(app, CityDocumentKind::Policy).await?;
        let provider_id = app.settings().city_context().provider_id;
        let enforcement = stored
            .iter()
            .map(|stored| {
                let policy = Policy::parse(stored.document.clone())
                    .map_err(|error| Problem::from(PortError::Unavailable(error.to_string())))?;
                Ok(PolicyEnforcement { policy_id: policy.policy_id, rules: outcomes(&policy, provider_id) })
            })
            .collect::<Result<_, Problem>>()?;
        let policies = stored.into_iter().map(|stored| stored.document).collect();
        Ok(json(StatusCode::OK, &PoliciesAnswer { version: MDS_VERSION, policies, enforcement }))
    }
}

/// A fleet cap in force and how the fleet stands against it.
#[derive(Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
struct CapCompliance {
    policy_id: Uuid,
    rule_id: Uuid,
    rule_name: String,
    geography_id: Uuid,
    /// The most available boards the city allows there.
    limit: u64,
    /// The available boards there now.
    count: u64,
    met: bool,
}

#[derive(Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
struct Compliance {
    read_at: chrono::DateTime<chrono::Utc>,
    caps: Vec<CapCompliance>,
}

/// `GET /mds/compliance` (admin): each fleet cap of the city's policies in force now, the
/// available boards it counts, and whether the fleet keeps within it.
pub struct GetCompliance;

impl Endpoint for GetCompliance {
    const METHOD: Method = Method::GET;
    const PATH: &'static str = "/mds/compliance";
    const FUNCTION: &'static str = "mds-compliance";
    fn contract() -> Contract {
        Contract::new("The city's fleet caps in force and the fleet against them (admin)")
            .answers::<Compliance>(StatusCode::OK, "Each cap, its count now and whether it is met")
    }
    type Caller = Admin;
}

impl<S: Services> Handle<S> for GetCompliance {
    async fn handle(app: &S, _: Admin, _: Request) -> HandlerResult {
        let read_at = app.clock().now();
        let context = app.settings().city_context();
        let (set, fleet) = tokio::try_join!(app.zones().zone_set(), app.fleet().parked_kickboards())?;
        let city = CityRules::of_documents(&set.city, context.time_zone, context.provider_id)
            .map_err(|error| Problem::from(PortError::Unavailable(error.to_string())))?;
        let caps = city
            .cap_standings(read_at, &fleet)
            .into_iter()
            .map(|standing| CapCompliance {
                policy_id: standing.cap.policy_id,
                rule_id: standing.cap.rule_id,
                rule_name: standing.cap.rule_name.clone(),
                geography_id: standing.cap.geography_id,
                limit: standing.cap.limit,
                count: standing.count,
                met: standing.met(),
            })
            .collect();
        Ok(json(StatusCode::OK, &Compliance { read_at, caps }))
    }
}

/// What the watch over the city's fleet caps reads and writes.
pub struct CapWatch<'a> {
    pub zones: &'a dyn ZoneStore,
    pub fleet: &'a dyn FleetStore,
    pub marks: &'a dyn CapMarks,
    pub city: CityContext,
}

/// Tells the crew once each time a fleet cap of the city's rules in force goes over (a board
/// registered or returned into a full geography is allowed: the city caps the fleet, not the
/// rider). Counting a cap reads the parked fleet, which no rent or return could afford, so the
/// minute's watch does it, and only while a cap is in force. Returns how many caps went over.
pub async fn watch_caps(deps: &CapWatch<'_>, now: chrono::DateTime<chrono::Utc>) -> PortResult<usize> {
    let set = deps.zones.zone_set().await?;
    let city = CityRules::of_documents(&set.city, deps.city.time_zone, deps.city.provider_id)
        .map_err(|error| PortError::Unavailable(format!("a stored city document: {error}")))?;
    if city.caps_at(now).is_empty() {
        return Ok(0);
    }
    let fleet = deps.fleet.parked_kickboards().await?;
    let mut over = 0;
    for standing in city.cap_standings(now, &fleet) {
        let exceeded = standing.exceeded(now);
        if deps.marks.mark_cap(&standing.key(), !standing.met(), exceeded.as_ref()).await? && exceeded.is_some() {
            tracing::warn!(cap = standing.key(), count = standing.count, limit = standing.cap.limit, "a cap went over");
            over += 1;
        }
    }
    Ok(over)
}
