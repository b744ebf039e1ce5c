//! The language a request is answered in (`Accept-Language`): a city's message in a refusal is
//! given in it. Problems are made far from the request, so the language rides with the task.

use lambda_http::Request;
use lambda_http::http::header;
use std::future::Future;

/// Korean: the riders' language unless they ask for another.
pub const DEFAULT_LANGUAGE: &str = "ko";

tokio::task_local! {
    static LANGUAGE: String;
}

/// The caller's first choice in `Accept-Language` (quality weights aside), else Korean.
pub fn of(request: &Request) -> String {
    let first = request
        .headers()
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(',').next())
        .map(|tag| tag.split(';').next().unwrap_or_default().trim())
        .filter(|tag| !tag.is_empty() && *tag != "*");
    first.unwrap_or(DEFAULT_LANGUAGE).to_owned()
}

/// Runs `work` answering in `language`.
pub async fn answering_in<F: Future>(language: String, work: F) -> F::Output {
    LANGUAGE.scope(language, work).await
}

/// The language the current request is answered in.
pub fn current() -> String {
    LANGUAGE.try_with(Clone::clone).unwrap_or_else(|_| DEFAULT_LANGUAGE.to_owned())
}
