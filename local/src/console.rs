//! The operator console (`console/`), served at `/console/`: its files are compiled into the
//! binary so `cargo run` serves them from any directory, with a policy that lets the page run
//! only its own scripts, and its `config.json` generated from the command line.

use kickboard_common::http::{Problem, ProblemType};
use lambda_http::http::{HeaderValue, Method, StatusCode, header, request::Parts};
use lambda_http::{Body, Response};

/// OpenStreetMap's tiles: fine for a console's light use under their tile policy; a busy
/// operator points `--tile-url` at a tile service of their own.
pub const DEFAULT_TILE_URL: &str = "https://tile.openstreetmap.org/{z}/{x}/{y}.png";
pub const DEFAULT_TILE_ATTRIBUTION: &str = "© OpenStreetMap contributors";

/// The map tiles the page shows under the fleet.
#[derive(Debug, Clone, PartialEq)]
pub struct ConsoleSettings {
    /// A Leaflet tile URL template: `{z}`, `{x}` and `{y}` (and `{s}` for subdomains).
    pub tile_url: String,
    pub tile_attribution: String,
}

impl Default for ConsoleSettings {
    fn default() -> Self {
        Self { tile_url: DEFAULT_TILE_URL.to_owned(), tile_attribution: DEFAULT_TILE_ATTRIBUTION.to_owned() }
    }
}

impl ConsoleSettings {
    /// A tile URL the page and its policy can use: http(s), with the three placeholders.
    pub fn checked_tile_url(url: &str) -> Result<String, String> {
        let well_formed = (url.starts_with("https://") || url.starts_with("http://"))
            && ["{z}", "{x}", "{y}"].iter().all(|placeholder| url.contains(placeholder))
            && !url.contains(|c: char| c.is_whitespace() || c == ';' || c == '\'' || c == '"');
        match well_formed {
            true => Ok(url.to_owned()),
            false => Err(format!("--tile-url: {url:?} is not an http(s) URL with {{z}}, {{x}} and {{y}}")),
        }
    }

    /// The tiles' origin as a CSP source: a `{s}` subdomain becomes a wildcard.
    fn tile_source(&self) -> String {
        let after_scheme = self.tile_url.find("://").map_or(0, |at| at + 3);
        let end = self.tile_url[after_scheme..].find('/').map_or(self.tile_url.len(), |at| after_scheme + at);
        self.tile_url[..end].replace("{s}", "*")
    }

    fn content_security_policy(&self) -> String {
        format!(
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: {}; connect-src 'self'; \
             frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
            self.tile_source()
        )
    }

    /// What the page reads first: locally, tokens come from `/local/tokens` and the API is
    /// this server.
    fn config_json(&self) -> String {
        serde_json::json!({
            "auth": "local",
            "apiUrl": "",
            "tileUrl": self.tile_url,
            "tileAttribution": self.tile_attribution,
        })
        .to_string()
    }
}

const HTML: &str = "text/html; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";

macro_rules! files {
    ($($path:literal => $type:expr),* $(,)?) => {
        /// Every file of the page, under `/console/`, with its content type.
        pub const FILES: &[(&str, &[u8], &str)] =
            &[$(($path, include_bytes!(concat!("../../console/", $path)), $type)),*];
    };
}

files! {
    "index.html" => HTML,
    "style.css" => CSS,
    "src/api.js" => JS,
    "src/auth.js" => JS,
    "src/i18n.js" => JS,
    "src/live.js" => JS,
    "src/main.js" => JS,
    "src/map.js" => JS,
    "src/panel.js" => JS,
    "src/zones.js" => JS,
    "vendor/leaflet.js" => JS,
    "vendor/leaflet.css" => CSS,
    "vendor/leaflet.markercluster.js" => JS,
    "vendor/MarkerCluster.css" => CSS,
    "vendor/MarkerCluster.Default.css" => CSS,
}

/// Answers `GET /console` and everything under `/console/`.
pub fn handle(settings: &ConsoleSettings, parts: &Parts) -> Response<Body> {
    if parts.method != Method::GET && parts.method != Method::HEAD {
        return Problem::new(ProblemType::MethodNotAllowed).into_response();
    }
    let path = parts.uri.path();
    // The page's relative URLs need the trailing slash.
    let Some(file) = path.strip_prefix("/console/") else {
        return Response::builder()
            .status(StatusCode::PERMANENT_REDIRECT)
            .header(header::LOCATION, "/console/")
            .body(Body::Empty)
            .unwrap_or_default();
    };
    let (body, content_type) = match file {
        "" | "index.html" => (FILES[0].1.to_vec(), HTML),
        "config.json" => (settings.config_json().into_bytes(), "application/json"),
        _ => match FILES.iter().find(|(name, ..)| *name == file) {
            Some((_, bytes, content_type)) => (bytes.to_vec(), *content_type),
            None => return Problem::new(ProblemType::NotFound).into_response(),
        },
    };
    let body = if parts.method == Method::HEAD { Body::Empty } else { Body::Binary(body) };
    let mut response = Response::new(body);
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    // Always revalidated: a new binary serves new files under the same names.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    if let Ok(policy) = HeaderValue::from_str(&settings.content_security_policy()) {
        headers.insert(header::CONTENT_SECURITY_POLICY, policy);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_http::http::Request;

    fn get(settings: &ConsoleSettings, path: &str) -> Response<Body> {
        let (parts, ()) = Request::get(path).body(()).unwrap_or_default().into_parts();
        handle(settings, &parts)
    }

    #[test]
    fn serves_the_page_with_its_policy() {
        let settings = ConsoleSettings::default();
        let page = get(&settings, "/console/");
        assert_eq!(page.status(), StatusCode::OK);
        assert_eq!(page.headers()[header::CONTENT_TYPE], HTML);
        let policy = page.headers()[header::CONTENT_SECURITY_POLICY].to_str().unwrap_or_default();
        assert!(policy.contains("script-src 'self';"), "{policy}");
        assert!(policy.contains("img-src 'self' data: https://tile.openstreetmap.org;"), "{policy}");
        assert_eq!(get(&settings, "/console/vendor/leaflet.js").headers()[header::CONTENT_TYPE], JS);
        assert_eq!(get(&settings, "/console/nope.js").status(), StatusCode::NOT_FOUND);
        assert_eq!(get(&settings, "/console").status(), StatusCode::PERMANENT_REDIRECT);
    }

    #[test]
    fn config_and_tile_source_follow_the_setting() {
        let settings = ConsoleSettings {
            tile_url: "https://{s}.tiles.example:8443/a/{z}/{x}/{y}.png".to_owned(),
            tile_attribution: "© Example".to_owned(),
        };
        assert_eq!(settings.tile_source(), "https://*.tiles.example:8443");
        let Body::Binary(config) = get(&settings, "/console/config.json").into_body() else { panic!("no body") };
        let config: serde_json::Value = serde_json::from_slice(&config).unwrap_or_default();
        assert_eq!(config["auth"], "local");
        assert_eq!(config["tileUrl"], settings.tile_url);
        assert!(ConsoleSettings::checked_tile_url("ftp://x/{z}/{x}/{y}").is_err());
        assert!(ConsoleSettings::checked_tile_url("https://x/{z}/{x}.png").is_err());
        assert!(ConsoleSettings::checked_tile_url("https://x/{z}/{x}/{y}.png; script-src *").is_err());
    }
}
