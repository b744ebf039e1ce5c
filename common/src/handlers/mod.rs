//! The handlers: each route declared with its handler (`http::endpoint`), and the event
//! handlers, plain async functions from an event and the ports they use. Lambda `main`s, the
//! local server and the tests all call these same handlers.

pub mod balance_view;
pub mod city_rules;
pub mod commands;
pub mod customers;
pub mod events;
pub mod fleet;
pub mod gbfs;
pub mod geofencing;
pub mod licences;
pub mod mds;
pub mod notifier;
pub mod operations;
pub mod passes;
#[cfg(feature = "aws")]
pub mod relay;
pub mod rentals;
pub mod views;

use crate::http::endpoint::{Routed, routed};
use crate::http::routes::Route;
use crate::services::Services;

/// Declares the route table once: the routes, and the same endpoints as a dispatch table.
macro_rules! endpoints {
    ($($endpoint:ty),* $(,)?) => {
        /// Every public route. The local server, the SAM template and the OpenAPI document
        /// follow this table (tests hold them to it).
        pub const ROUTES: &[Route] = &[$(<$endpoint as crate::http::endpoint::Endpoint>::ROUTE),*];

        /// Every route with its contract: what the OpenAPI document is generated from.
        pub fn contracts() -> Vec<(Route, crate::http::contract::Contract)> {
            use crate::http::endpoint::Endpoint;
            vec![$((<$endpoint>::ROUTE, <$endpoint>::contract())),*]
        }

        /// Every route with its handler, on services `S`: what the local server dispatches.
        pub fn table<S: Services>() -> Vec<Routed<S>> {
            vec![$(routed::<S, $endpoint>()),*]
        }
    };
}

endpoints!(
    passes::ListPlans,
    passes::PurchasePass,
    passes::PayPass,
    passes::GetPass,
    customers::GetBalance,
    customers::ListBalances,
    fleet::ListKickboards,
    fleet::RegisterKickboard,
    fleet::DeleteKickboard,
    rentals::RentKickboard,
    rentals::ReturnKickboard,
    rentals::GetRental,
    rentals::ListRentals,
    customers::PutContact,
    customers::GetContact,
    licences::PutLicence,
    licences::GetLicence,
    licences::DeleteLicence,
    fleet::ListVehicleTypes,
    fleet::ReportTelemetry,
    fleet::SetKickboardStatus,
    commands::SendCommand,
    commands::GetCommand,
    gbfs::GbfsFeed,
    geofencing::PutZone,
    geofencing::ListZones,
    geofencing::DeleteZone,
    geofencing::PutGlobalRules,
    geofencing::GetGlobalRules,
    mds::MdsTrips,
    mds::MdsEventsHistorical,
    mds::MdsEventsRecent,
    mds::MdsTelemetryOfHour,
    mds::MdsVehicles,
    mds::MdsVehicleOne,
    mds::MdsVehiclesStatus,
    mds::MdsVehicleStatusOne,
    mds::MdsReport,
    operations::ListFleet,
    operations::ListActiveRentals,
    operations::ListCrewAlerts,
    operations::GetSummary,
    city_rules::PutGeography,
    city_rules::ListGeographies,
    city_rules::PutPolicy,
    city_rules::ListPolicies,
    city_rules::GetCompliance,
);

/// The OpenAPI 3.1 document of every route, generated from the table.
pub fn openapi() -> serde_json::Value {
    crate::http::openapi::document(contracts())
}

/// `openapi.yaml` as it is checked in: the document as JSON (which YAML reads as it is) under
/// a header saying where it comes from.
pub fn openapi_file() -> String {
    let json = serde_json::to_string_pretty(&openapi()).expect("a JSON value serializes");
    format!(
        "# OpenAPI 3.1 of the HTTP contract, generated from the route table (kickboard_common::handlers).\n\
         # Do not edit: change the endpoints' contracts, then rewrite this file with\n\
         #   KICKBOARD_WRITE_OPENAPI=1 cargo nextest run -p kickboard-tests -E 'test(openapi::)'\n\
         # tests/e2e/openapi.rs fails while it differs from what the code generates.\n{json}\n"
    )
}

#[cfg(test)]
mod tests {
    use super::ROUTES;

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
