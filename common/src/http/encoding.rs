//! Content coding of large answers: gzip when the client accepts it (RFC 9110 §12.5.3). A
//! Lambda answer is at most 6 MB, and a city's GBFS files are megabytes of JSON.

use flate2::Compression;
use flate2::write::GzEncoder;
use lambda_http::http::{HeaderValue, header};
use lambda_http::{Body, Request, Response};
use serde::Serialize;
use std::io::Write;

/// Answers smaller than this go as they are: compressing them saves about what the header costs.
pub const MIN_GZIP_BYTES: usize = 1024;

/// Whether the request's `Accept-Encoding` admits gzip: named (or `x-gzip`), else through `*`,
/// with a weight above zero. No header means identity only, as clients that decode send one.
pub fn accepts_gzip(request: &Request) -> bool {
    let (mut gzip, mut any) = (None, None);
    let items = request.headers().get_all(header::ACCEPT_ENCODING).into_iter().filter_map(|value| value.to_str().ok());
    for item in items.flat_map(|value| value.split(',')) {
        let mut parts = item.split(';').map(str::trim);
        let coding = parts.next().unwrap_or_default();
        // A weight that does not parse is read as 0: never send what the client may not decode.
        let weight = parts
            .find_map(|param| param.strip_prefix("q=").or_else(|| param.strip_prefix("Q=")))
            .map_or(1.0, |q| q.parse::<f32>().unwrap_or(0.0));
        if coding.eq_ignore_ascii_case("gzip") || coding.eq_ignore_ascii_case("x-gzip") {
            gzip = Some(weight > 0.0);
        } else if coding == "*" {
            any = Some(weight > 0.0);
        }
    }
    gzip.or(any).unwrap_or(false)
}

/// A `200` of `value` as JSON of `media_type`, gzipped when the client accepts it and it is
/// large enough (`Vary` says the answer depends on that).
pub fn gzipped_json(request: &Request, value: &impl Serialize, media_type: &'static str) -> Response<Body> {
    let text = serde_json::to_string(value).expect("answers always serialize");
    let gzipped = text.len() >= MIN_GZIP_BYTES && accepts_gzip(request);
    let body = if gzipped { Body::Binary(gzip(text.as_bytes())) } else { Body::Text(text) };
    let mut response = Response::new(body);
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(media_type));
    headers.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    if gzipped {
        headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    response
}

/// `bytes` gzipped at the default level.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::with_capacity(bytes.len() / 4), Compression::default());
    encoder.write_all(bytes).expect("writing to memory does not fail");
    encoder.finish().expect("writing to memory does not fail")
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::read::GzDecoder;
    use std::io::Read;

    fn accepting(values: &[&str]) -> bool {
        let mut request = lambda_http::http::Request::builder();
        for value in values {
            request = request.header(header::ACCEPT_ENCODING, *value);
        }
        accepts_gzip(&request.body(lambda_http::Body::Empty).unwrap())
    }

    #[test]
    fn gzip_is_sent_only_where_the_client_takes_it() {
        for taken in [&["gzip"][..], &["br, gzip, deflate"], &["GZIP;q=0.5"], &["x-gzip"], &["*"], &["br", "gzip"]] {
            assert!(accepting(taken), "{taken:?}");
        }
        let refused = [
            &[][..],
            &["identity"],
            &["br, deflate"],
            &["gzip;q=0"],
            &["*, gzip;q=0"],
            &["gzip; q=0.0"],
            &["gzip;q=x"],
        ];
        for refused in refused {
            assert!(!accepting(refused), "{refused:?}");
        }
    }

    #[test]
    fn gzip_round_trips() {
        let json = r#"{"vehicles":[]}"#.repeat(100);
        let mut unzipped = String::new();
        GzDecoder::new(&gzip(json.as_bytes())[..]).read_to_string(&mut unzipped).unwrap();
        assert_eq!(unzipped, json);
    }
}
