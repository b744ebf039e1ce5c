//! What an endpoint takes and answers, declared beside its handler from the Rust types it
//! reads and writes; `http::openapi` turns every endpoint's contract into the OpenAPI
//! document. The refusals that follow from the contract itself (a body can be too large, a
//! signed-in route refuses a missing token, a stored route can be busy) are added there, so an
//! endpoint lists only its own.

use super::ProblemType;
use super::response::JSON;
use lambda_http::http::StatusCode;
use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde_json::Value;

/// Makes a type's schema, registering what it refers to.
pub type SchemaFn = fn(&mut SchemaGenerator) -> Schema;

fn schema_of<T: JsonSchema>(generator: &mut SchemaGenerator) -> Schema {
    generator.subschema_for::<T>()
}

fn inline_schema_of<T: JsonSchema>(generator: &mut SchemaGenerator) -> Schema {
    T::json_schema(generator)
}

/// A response header and what it says.
pub struct Header {
    pub name: &'static str,
    pub description: &'static str,
    pub schema: fn() -> Value,
}

/// The answer to a call that succeeded.
pub struct Answer {
    pub status: StatusCode,
    pub description: &'static str,
    /// `None`: no body.
    pub schema: Option<SchemaFn>,
    /// The body's media type.
    pub media_type: &'static str,
    pub headers: Vec<Header>,
}

/// An endpoint's contract; see [`Contract::new`].
pub struct Contract {
    pub summary: &'static str,
    /// The request body's schema, and whether it is required.
    pub body: Option<(SchemaFn, bool)>,
    /// The path parameters' schemas, in the order the path names them.
    pub path: Vec<SchemaFn>,
    /// An object whose properties are the query parameters.
    pub query: Option<SchemaFn>,
    pub idempotent: bool,
    /// Whether it reads or writes the stores (and so can answer busy).
    pub stored: bool,
    pub answer: Answer,
    pub refusals: &'static [ProblemType],
}

impl Contract {
    /// A contract answering 200 with no body yet; the builders below say the rest.
    pub fn new(summary: &'static str) -> Self {
        Self {
            summary,
            body: None,
            path: Vec::new(),
            query: None,
            idempotent: false,
            stored: true,
            answer: Answer {
                status: StatusCode::OK,
                description: "",
                schema: None,
                media_type: JSON,
                headers: Vec::new(),
            },
            refusals: &[],
        }
    }

    /// The request body it requires.
    pub fn body<T: JsonSchema>(mut self) -> Self {
        self.body = Some((schema_of::<T>, true));
        self
    }

    /// The request body it takes when one is given.
    pub fn optional_body<T: JsonSchema>(mut self) -> Self {
        self.body = Some((schema_of::<T>, false));
        self
    }

    /// The type its next path parameter is parsed into.
    pub fn path<T: JsonSchema>(mut self) -> Self {
        self.path.push(schema_of::<T>);
        self
    }

    /// The struct its query parameters are read as (each field a parameter).
    pub fn query<T: JsonSchema>(mut self) -> Self {
        self.query = Some(inline_schema_of::<T>);
        self
    }

    /// It honours `Idempotency-Key`.
    pub fn idempotent(mut self) -> Self {
        self.idempotent = true;
        self
    }

    /// It touches no store: its answer is built from the code alone.
    pub fn stateless(mut self) -> Self {
        self.stored = false;
        self
    }

    /// It answers `status` with a `T`.
    pub fn answers<T: JsonSchema>(mut self, status: StatusCode, description: &'static str) -> Self {
        self.answer =
            Answer { status, description, schema: Some(schema_of::<T>), media_type: JSON, headers: Vec::new() };
        self
    }

    /// Its answer's body is of `media_type`, not plain JSON.
    pub fn answers_in(mut self, media_type: &'static str) -> Self {
        self.answer.media_type = media_type;
        self
    }

    /// It answers `status` with no body.
    pub fn answers_nothing(mut self, status: StatusCode, description: &'static str) -> Self {
        self.answer = Answer { status, description, schema: None, media_type: JSON, headers: Vec::new() };
        self
    }

    /// Its answer carries this header.
    pub fn answer_header(mut self, name: &'static str, description: &'static str, schema: fn() -> Value) -> Self {
        self.answer.headers.push(Header { name, description, schema });
        self
    }

    /// A large answer is gzipped for a client that accepts it ([`crate::http::encoding`]).
    pub fn gzipped_when_large(self) -> Self {
        self.answer_header(
            "Vary",
            "Accept-Encoding: the answer depends on it",
            || serde_json::json!({"type": "string"}),
        )
        .answer_header(
            "Content-Encoding",
            "gzip when the client accepts it and the answer is large enough",
            || serde_json::json!({"type": "string", "enum": ["gzip"]}),
        )
    }

    /// The refusals of its own rules (the ones its shape implies are added by the document).
    pub fn refuses(mut self, refusals: &'static [ProblemType]) -> Self {
        self.refusals = refusals;
        self
    }
}
