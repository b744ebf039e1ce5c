//! The handlers: each route declared with its handler (`http::endpoint`), and the event
//! handlers, plain async functions from an event and the ports they use. Lambda `main`s, the
//! local server and the tests all call these same handlers.

pub mod balance_view;
pub mod customers;
pub mod events;
pub mod fleet;
pub mod gbfs;
pub mod geofencing;
pub mod notifier;
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
    fleet::ListVehicleTypes,
    fleet::ReportTelemetry,
    fleet::SetKickboardStatus,
    gbfs::GbfsFeed,
    geofencing::PutZone,
    geofencing::ListZones,
    geofencing::DeleteZone,
    geofencing::PutGlobalRules,
    geofencing::GetGlobalRules,
);

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
