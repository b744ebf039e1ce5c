//! The HTTP glue every handler shares: problems, request reading, responses, the route table.

pub mod contract;
pub mod cursor;
pub mod encoding;
pub mod endpoint;
pub mod idempotency;
pub mod language;
pub mod openapi;
pub mod problem;
pub mod request;
pub mod response;
pub mod routes;

pub use problem::{Problem, ProblemType};

/// What a handler body produces before it becomes a response.
pub type HandlerResult = Result<lambda_http::Response<lambda_http::Body>, Problem>;

/// Turns a handler body's result into the response, problems included.
pub fn respond(result: HandlerResult) -> lambda_http::Response<lambda_http::Body> {
    result.unwrap_or_else(Problem::into_response)
}
