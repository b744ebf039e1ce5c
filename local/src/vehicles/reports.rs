//! Vehicles' reports over MQTT, taken as the AWS IoT topic rule's function takes them, then
//! followed as an HTTP report is: a rented board crossing a zone's speed limit gets its cap.

use crate::App;
use kickboard_common::domain::ids::KickboardId;
use kickboard_common::handlers::fleet::ingest_telemetry;
use kickboard_common::invocation;
use std::sync::Arc;
use tokio::sync::{mpsc, watch};

/// How many reports may wait to be taken; beyond it the link drops them.
pub const QUEUE: usize = 10_000;

/// Takes reports until `shutdown` turns true.
pub async fn run(
    app: Arc<App>,
    mut reports: mpsc::Receiver<(KickboardId, serde_json::Value)>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        let (board, report) = tokio::select! {
            next = reports.recv() => match next {
                Some(next) => next,
                None => return,
            },
            _ = shutdown.changed() => return,
        };
        let taken = invocation::running_as("ingest-telemetry", ingest_telemetry(app.as_ref(), report)).await;
        if let Err(error) = taken {
            tracing::warn!(%board, %error, "a vehicle's report was not taken");
        }
    }
}
