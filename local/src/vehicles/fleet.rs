//! The fleet as the local server stores it, with each board's simulated vehicle connected
//! when it is registered and disconnected when it is retired.

use super::simulator::VehicleSimulator;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use kickboard_common::domain::events::EventEnvelope;
use kickboard_common::domain::geo::Area;
use kickboard_common::domain::ids::KickboardId;
use kickboard_common::domain::kickboard::{Kickboard, ServiceStatus};
use kickboard_common::domain::vehicle::{BatteryRules, Telemetry};
use kickboard_common::domain::zones::ZoneMap;
use kickboard_common::ports::{FleetStore, PortResult, ReportOutcome};
use std::sync::Arc;

pub struct SimulatedFleet {
    pub store: Arc<dyn FleetStore>,
    pub simulator: Arc<VehicleSimulator>,
}

#[async_trait]
impl FleetStore for SimulatedFleet {
    async fn register_kickboard(&self, board: &Kickboard, event: &EventEnvelope) -> PortResult<()> {
        self.store.register_kickboard(board, event).await?;
        self.simulator.connect(&board.kickboard_id).await;
        Ok(())
    }

    async fn retire_kickboard(&self, kickboard_id: &KickboardId, now: DateTime<Utc>) -> PortResult<Kickboard> {
        let retired = self.store.retire_kickboard(kickboard_id, now).await?;
        self.simulator.disconnect(kickboard_id);
        Ok(retired)
    }

    async fn available_kickboards(
        &self,
        area: Option<Area>,
        rules: &BatteryRules,
        limit: usize,
    ) -> PortResult<Vec<Kickboard>> {
        self.store.available_kickboards(area, rules, limit).await
    }

    async fn report_telemetry(
        &self,
        kickboard_id: &KickboardId,
        telemetry: &Telemetry,
        rules: &BatteryRules,
        zones: &Arc<ZoneMap>,
    ) -> PortResult<ReportOutcome> {
        self.store.report_telemetry(kickboard_id, telemetry, rules, zones).await
    }

    async fn set_service(
        &self,
        kickboard_id: &KickboardId,
        target: ServiceStatus,
        now: DateTime<Utc>,
    ) -> PortResult<Kickboard> {
        self.store.set_service(kickboard_id, target, now).await
    }

    async fn parked_kickboards(&self) -> PortResult<Vec<Kickboard>> {
        self.store.parked_kickboards().await
    }

    async fn find_kickboard(&self, kickboard_id: &KickboardId) -> PortResult<Option<Kickboard>> {
        self.store.find_kickboard(kickboard_id).await
    }
}
