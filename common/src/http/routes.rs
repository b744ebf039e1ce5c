//! Every public route in one table: method, path template, who may call it, and the
//! Lambda function that serves it. The local server and the SAM template follow this table.

use lambda_http::http::Method;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RouteId {
    ListPlans,
    PurchasePass,
    PayPass,
    GetPass,
    GetBalance,
    ListBalances,
    ListKickboards,
    RegisterKickboard,
    DeleteKickboard,
    RentKickboard,
    ReturnKickboard,
    GetRental,
    PutContact,
    GetContact,
    ListVehicleTypes,
    ReportTelemetry,
    SetKickboardStatus,
    GbfsFeed,
    PutZone,
    ListZones,
    DeleteZone,
    PutGlobalRules,
    GetGlobalRules,
}

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Anyone,
    /// Any signed-in customer; owner-only data is checked by the handler.
    Customer,
    /// A vehicle's own credentials (group `vehicle`), or an admin.
    Vehicle,
    Admin,
}

#[derive(Debug)]
pub struct Route {
    pub id: RouteId,
    pub method: Method,
    /// Path template; `{name}` segments become path parameters.
    pub path: &'static str,
    pub access: Access,
    /// The Lambda function (crate under `functions/`) that serves this route.
    pub function: &'static str,
}

const fn route(id: RouteId, method: Method, path: &'static str, access: Access, function: &'static str) -> Route {
    Route { id, method, path, access, function }
}

pub const ROUTES: &[Route] = &[
    route(RouteId::ListPlans, Method::GET, "/plans", Access::Anyone, "list-plans"),
    route(RouteId::PurchasePass, Method::POST, "/passes", Access::Customer, "purchase-pass"),
    route(RouteId::PayPass, Method::POST, "/passes/{passId}/payment", Access::Customer, "pay-pass"),
    route(RouteId::GetPass, Method::GET, "/passes/{passId}", Access::Customer, "get-pass"),
    route(RouteId::GetBalance, Method::GET, "/passes/{passId}/balance", Access::Customer, "get-balance"),
    route(RouteId::ListBalances, Method::GET, "/me/passes", Access::Customer, "list-balances"),
    route(RouteId::ListKickboards, Method::GET, "/kickboards", Access::Customer, "list-kickboards"),
    route(RouteId::RegisterKickboard, Method::POST, "/kickboards", Access::Admin, "register-kickboard"),
    route(RouteId::DeleteKickboard, Method::DELETE, "/kickboards/{kickboardId}", Access::Admin, "delete-kickboard"),
    route(RouteId::RentKickboard, Method::POST, "/rentals", Access::Customer, "rent-kickboard"),
    route(RouteId::ReturnKickboard, Method::POST, "/rentals/{rentalId}/return", Access::Customer, "return-kickboard"),
    route(RouteId::GetRental, Method::GET, "/rentals/{rentalId}", Access::Customer, "get-rental"),
    route(RouteId::PutContact, Method::PUT, "/me/contact", Access::Customer, "put-contact"),
    route(RouteId::GetContact, Method::GET, "/me/contact", Access::Customer, "get-contact"),
    route(RouteId::ListVehicleTypes, Method::GET, "/vehicle-types", Access::Anyone, "list-vehicle-types"),
    route(
        RouteId::ReportTelemetry,
        Method::PUT,
        "/kickboards/{kickboardId}/telemetry",
        Access::Vehicle,
        "report-telemetry",
    ),
    route(
        RouteId::SetKickboardStatus,
        Method::PUT,
        "/kickboards/{kickboardId}/status",
        Access::Admin,
        "set-kickboard-status",
    ),
    route(RouteId::GbfsFeed, Method::GET, "/gbfs/v3/{feed}", Access::Anyone, "gbfs-feed"),
    route(RouteId::PutZone, Method::PUT, "/geofencing/zones/{zoneId}", Access::Admin, "put-zone"),
    route(RouteId::ListZones, Method::GET, "/geofencing/zones", Access::Anyone, "list-zones"),
    route(RouteId::DeleteZone, Method::DELETE, "/geofencing/zones/{zoneId}", Access::Admin, "delete-zone"),
    route(RouteId::PutGlobalRules, Method::PUT, "/geofencing/global-rules", Access::Admin, "put-global-rules"),
    route(RouteId::GetGlobalRules, Method::GET, "/geofencing/global-rules", Access::Anyone, "get-global-rules"),
];

/// The outcome of matching a request line against [`ROUTES`].
#[derive(Debug, PartialEq)]
pub enum RouteMatch {
    Found {
        route: &'static Route,
        params: Vec<(String, String)>,
    },
    /// The path exists, but not with this method.
    MethodNotAllowed,
    NotFound,
}

impl PartialEq for Route {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
    }
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

pub fn match_route(method: &Method, path: &str) -> RouteMatch {
    let mut path_known = false;
    for route in ROUTES {
        if let Some(params) = match_path(route.path, path) {
            if route.method == method {
                return RouteMatch::Found { route, params };
            }
            path_known = true;
        }
    }
    if path_known { RouteMatch::MethodNotAllowed } else { RouteMatch::NotFound }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_templates_and_extracts_params() {
        let RouteMatch::Found { route, params } = match_route(&Method::POST, "/passes/p-1/payment") else {
            panic!("no match");
        };
        assert_eq!(route.id, RouteId::PayPass);
        assert_eq!(params, [("passId".to_owned(), "p-1".to_owned())]);
        assert_eq!(match_route(&Method::GET, "/passes/p-1/payment"), RouteMatch::MethodNotAllowed);
        assert_eq!(match_route(&Method::GET, "/passes/p-1/payment/x"), RouteMatch::NotFound);
        assert_eq!(match_route(&Method::GET, "/passes//balance"), RouteMatch::NotFound);
    }

    #[test]
    fn every_route_is_unique() {
        for (i, a) in ROUTES.iter().enumerate() {
            for b in &ROUTES[i + 1..] {
                assert!(!(a.method == b.method && a.path == b.path), "{} {} twice", a.method, a.path);
                assert_ne!(a.function, b.function);
            }
        }
    }
}
