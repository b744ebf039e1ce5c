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

/// The route `path` takes: where two match (`/mds/vehicles/status` and
/// `/mds/vehicles/{device_id}`), the one with fewer parameters, as API Gateway picks the most
/// specific route.
pub fn match_route<'a>(routes: impl IntoIterator<Item = &'a Route>, method: &Method, path: &str) -> RouteMatch {
    let mut path_known = false;
    let mut found: Option<(usize, Vec<(String, String)>)> = None;
    for (index, route) in routes.into_iter().enumerate() {
        if let Some(params) = match_path(route.path, path) {
            path_known = true;
            let more_specific = found.as_ref().is_none_or(|(_, best)| params.len() < best.len());
            if route.method == method && more_specific {
                found = Some((index, params));
            }
        }
    }
    match found {
        Some((index, params)) => RouteMatch::Found { index, params },
        None if path_known => RouteMatch::MethodNotAllowed,
        None => RouteMatch::NotFound,
    }
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

    #[test]
    fn a_literal_segment_wins_over_a_parameter_in_any_order() {
        let routes = [
            route(Method::GET, "/mds/vehicles/{device_id}", "mds-vehicle"),
            route(Method::GET, "/mds/vehicles/status", "mds-vehicles-status"),
        ];
        assert_eq!(
            match_route(&routes, &Method::GET, "/mds/vehicles/status"),
            RouteMatch::Found { index: 1, params: vec![] }
        );
        assert!(matches!(match_route(&routes, &Method::GET, "/mds/vehicles/d-1"), RouteMatch::Found { index: 0, .. }));
    }
}
