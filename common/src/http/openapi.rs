//! The OpenAPI 3.1 document, generated from the route table: each endpoint's route and
//! [`Contract`], the JSON Schemas (2020-12, OpenAPI 3.1's dialect) of the Rust types it reads
//! and writes, and its refusals from the problem types. The local server serves it and
//! `openapi.yaml` is this document written out (a test fails when that copy is stale).

use super::ProblemType;
use super::contract::Contract;
use super::problem::ProblemBody;
use super::routes::{Access, Route};
use crate::domain::ids::EventId;
use lambda_http::http::StatusCode;
use schemars::SchemaGenerator;
use schemars::generate::SchemaSettings;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

/// Where the document puts shared schemas; `$ref`s point there.
const SCHEMAS_PATH: &str = "/components/schemas";

/// The schemas of what the API reads (as serde deserializes it) and of what it writes (as
/// serde serializes it: an `Option` always written is required, one skipped when empty is not).
struct Generators {
    requests: SchemaGenerator,
    answers: SchemaGenerator,
}

impl Generators {
    fn new() -> Self {
        let settings = SchemaSettings::draft2020_12().with(|s| s.definitions_path = SCHEMAS_PATH.into());
        Self {
            requests: settings.clone().for_deserialize().into_generator(),
            answers: settings.for_serialize().into_generator(),
        }
    }

    /// Both sets of shared schemas as one; a type both read and written must have one schema.
    fn into_definitions(mut self) -> Map<String, Value> {
        let mut definitions = self.answers.take_definitions(true);
        for (name, schema) in self.requests.take_definitions(true) {
            match definitions.get(&name) {
                Some(written) if *written != schema => {
                    panic!("{name} is read and written in different shapes: give one of them another name")
                }
                _ => definitions.insert(name, schema),
            };
        }
        definitions
    }
}

/// The document for these routes and their contracts.
pub fn document(endpoints: Vec<(Route, Contract)>) -> Value {
    let mut generators = Generators::new();
    let problem = Value::from(generators.answers.subschema_for::<ProblemBody>());
    let mut paths = Map::new();
    for (route, contract) in endpoints {
        let operation = operation(&route, &contract, &mut generators, &problem);
        let item = paths.entry(route.path).or_insert_with(|| json!({}));
        item[route.method.as_str().to_ascii_lowercase()] = operation;
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Kickboard",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Shared kickboard rental. Every error is application/problem+json with a stable type \
                (urn:kickboard:problem:<slug>). Money in integer won; times RFC 3339 UTC. Generated from the \
                route table (kickboard_common::handlers); do not edit by hand.",
        },
        "servers": [{"url": "http://127.0.0.1:3000", "description": "kickboard-local"}],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
            "schemas": generators.into_definitions(),
        },
    })
}

fn operation(route: &Route, contract: &Contract, generators: &mut Generators, problem: &Value) -> Value {
    let generator = &mut generators.requests;
    let mut operation = json!({"operationId": route.function, "summary": contract.summary});
    if route.access == Access::Anyone {
        operation["security"] = json!([]);
    }
    let mut parameters = Vec::new();
    let names = path_parameters(route.path);
    assert_eq!(names.len(), contract.path.len(), "{} {}: a schema for each path parameter", route.method, route.path);
    for (name, schema) in names.into_iter().zip(&contract.path) {
        parameters.push(json!({"name": name, "in": "path", "required": true, "schema": schema(generator)}));
    }
    if let Some(schema) = contract.query {
        parameters.extend(query_parameters(&Value::from(schema(generator))));
    }
    if contract.idempotent {
        parameters.push(json!({
            "name": "Idempotency-Key", "in": "header", "required": false,
            "description": "The same key and body get the first answer again; another body gets 422.",
            "schema": generator.subschema_for::<EventId>(),
        }));
    }
    if !parameters.is_empty() {
        operation["parameters"] = Value::Array(parameters);
    }
    if let Some((schema, required)) = contract.body {
        operation["requestBody"] = json!({
            "required": required,
            "content": {"application/json": {"schema": schema(generator)}},
        });
    }
    let answer = &contract.answer;
    let mut success = json!({"description": answer.description});
    if let Some(schema) = answer.schema {
        success["content"] = json!({answer.media_type: {"schema": schema(&mut generators.answers)}});
    }
    if !answer.headers.is_empty() {
        let headers: Map<String, Value> = answer
            .headers
            .iter()
            .map(|header| {
                (header.name.to_owned(), json!({"description": header.description, "schema": (header.schema)()}))
            })
            .collect();
        success["headers"] = Value::Object(headers);
    }
    let mut responses = Map::new();
    responses.insert(answer.status.as_u16().to_string(), success);
    for (status, kinds) in refusals(route, contract) {
        responses.insert(status.as_u16().to_string(), refusal(status, &kinds, problem));
    }
    operation["responses"] = Value::Object(responses);
    operation
}

/// The `{name}`s of a path template, in order.
fn path_parameters(path: &str) -> Vec<&str> {
    path.split('/').filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}')).collect()
}

/// Each property of a query struct's schema as a query parameter.
fn query_parameters(schema: &Value) -> Vec<Value> {
    let required: Vec<&str> = schema["required"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
    let properties = schema["properties"].as_object().expect("a query is a struct with named fields");
    properties
        .iter()
        .map(|(name, property)| {
            let mut property = property.clone();
            let description = property.as_object_mut().and_then(|object| object.remove("description"));
            let mut parameter =
                json!({"name": name, "in": "query", "required": required.contains(&name.as_str()), "schema": property});
            if let Some(description) = description {
                parameter["description"] = description;
            }
            parameter
        })
        .collect()
}

/// Every refusal the endpoint can answer, by status: its own and those its shape implies.
fn refusals(route: &Route, contract: &Contract) -> BTreeMap<StatusCode, Vec<ProblemType>> {
    let mut kinds: Vec<ProblemType> = contract.refusals.to_vec();
    match route.access {
        Access::Anyone => {}
        Access::Customer => kinds.push(ProblemType::Unauthorized),
        Access::Admin | Access::Vehicle | Access::Agency => {
            kinds.extend([ProblemType::Unauthorized, ProblemType::Forbidden])
        }
    }
    if !contract.path.is_empty() {
        // A parameter that is not an id is refused; an empty or dot segment matches no route.
        kinds.extend([ProblemType::InvalidRequest, ProblemType::NotFound]);
    }
    if contract.query.is_some() {
        kinds.push(ProblemType::InvalidRequest);
    }
    if contract.body.is_some() || contract.idempotent {
        // Idempotency keys hash the body, so reading it can refuse it too.
        kinds.extend([ProblemType::InvalidRequest, ProblemType::PayloadTooLarge, ProblemType::UnsupportedMediaType]);
    }
    if contract.idempotent {
        kinds.extend([ProblemType::RequestInProgress, ProblemType::IdempotencyKeyReused]);
    }
    if contract.stored {
        kinds.push(ProblemType::ServiceUnavailable);
    }
    kinds.push(ProblemType::Internal);
    let mut by_status: BTreeMap<StatusCode, Vec<ProblemType>> = BTreeMap::new();
    for kind in kinds {
        let same = by_status.entry(kind.status()).or_default();
        if !same.contains(&kind) {
            same.push(kind);
        }
    }
    by_status
}

/// The response of one status: the problem schema narrowed to the types that status can be.
fn refusal(status: StatusCode, kinds: &[ProblemType], problem: &Value) -> Value {
    let description =
        kinds.iter().map(|kind| format!("{}: {}", kind.slug(), kind.title())).collect::<Vec<_>>().join("; ");
    let types: Vec<String> = kinds.iter().map(|kind| kind.uri()).collect();
    let schema = json!({
        "allOf": [problem, {"properties": {"type": {"enum": types}, "status": {"const": status.as_u16()}}}],
    });
    let mut response = json!({"description": description, "content": {"application/problem+json": {"schema": schema}}});
    if kinds.iter().any(|kind| kind.asks_to_retry()) {
        response["headers"] = json!({"Retry-After": {
            "description": "Seconds to wait before trying again",
            "schema": {"type": "integer", "minimum": 1},
        }});
    }
    response
}
