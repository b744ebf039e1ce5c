//! A route: method, path template, who may call it, and the Lambda function that serves it;
//! and matching a request line against a table of them. The table itself is
//! `handlers::ROUTES`, declared with the handlers.

use lambda_http::http::Method;

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Anyone,
    /// Any signed-in customer; owner-only data is checked by the handler.
    Customer,
    /// A vehicle's own credentials (group `vehicle`), or an admin.
    Vehicle,
    Admin,
    /// A city agency (group `agency`) reading the MDS Provider API, or an admin.
    Agency,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub method: Method,
    /// Path template; `{name}` segments become path parameters.
    pub path: &'static str,
    pub access: Access,
    /// The Lambda function (crate under `functions/`) that serves this route.
    pub function: &'static str,
}

/// The outcome of matching a request line against a table of routes.
#[derive(Debug, PartialEq)]
pub enum RouteMatch {
    /// The index of the route in the table, and its path parameters.
    Found {
        index: usize,
        params: Vec<(String, String)>,
    },
    /// The path exists, but not with this method.
    MethodNotAllowed,
    NotFound,
}

fn match_path(template: &str, path: &str) -> Option<Vec<(String, String)>> {
    let mut params = Vec::new();
    let mut segments = path.trim_start_matches('/').split('/');
    for expected in template.trim_start_matches('/').split('/') {
        let actual = segments.next()?;
        match expected.strip_prefix('{').and_then(|name| name.strip_suffix('}')) {
            Some(name) if !actual.is_empty() => params.push((name.to_owned(), actual.to_owned())),
            Some(_) => return None,
            None if expected == actual => {}
            None => return None,
        }
    }
    segments.next().is_none().then_some(params)
}

pub fn match_route<'a>(routes: impl IntoIterator<Item = &'a Route>, method: &Method, path: &str) -> RouteMatch {
    let mut path_known = false;
    for (index, route) in routes.into_iter().enumerate() {
        if let Some(params) = match_path(route.path, path) {
            if route.method == method {
                return RouteMatch::Found { index, params };
            }
            path_known = true;
        }
    }
    if path_known { RouteMatch::MethodNotAllowed } else { RouteMatch::NotFound }
}

#[cfg(test)]
mod tests {
    use super::*;

    const fn route(method: Method, path: &'static str, function: &'static str) -> Route {
        Route { method, path, access: Access::Anyone, function }
    }

    #[test]
    fn matches_templates_and_extracts_params() {
        let routes = [
            route(Method::GET, "/passes/{passId}", "get-pass"),
            route(Method::POST, "/passes/{passId}/payment", "pay-pass"),
        ];
        let matched = |method: &Method, path: &str| match_route(&routes, method, path);
        assert_eq!(
            matched(&Method::POST, "/passes/p-1/payment"),
            RouteMatch::Found { index: 1, params: vec![("passId".to_owned(), "p-1".to_owned())] }
        );
        assert_eq!(matched(&Method::GET, "/passes/p-1/payment"), RouteMatch::MethodNotAllowed);
        assert_eq!(matched(&Method::GET, "/passes/p-1/payment/x"), RouteMatch::NotFound);
        assert_eq!(matched(&Method::GET, "/passes//balance"), RouteMatch::NotFound);
    }
}
