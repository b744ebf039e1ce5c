//! What a handler may use: the ports, the clock, the settings and this instance's caches,
//! behind one trait. The local server implements it on its chosen adapters, each Lambda
//! function on the AWS ones. Handlers are generic over it, so a function links only the
//! adapters its handler calls: list-plans links no AWS SDK at all.

use crate::domain::commands::{Command, CommandStatus, SentCommand};
use crate::domain::ids::{CommandId, KickboardId};
use crate::handlers::gbfs::FleetSnapshots;
use crate::http::Problem;
use crate::http::cursor::CursorKey;
use crate::licences::GuardedLicenceChecks;
use crate::metrics::{self, Metric};
use crate::payments::GuardedPayments;
use crate::ports::{
    BalanceView, BreakerStore, Clock, CommandStore, CommandedRides, ContactStore, CrewLog, DayLedger, FleetStore,
    IdempotencyStore, LicenceStore, MdsView, PassStore, PortResult, PushRegistry, RentalStore, RideWatch, VehicleLink,
    ZoneStore,
};
use crate::settings::Settings;
use crate::zone_cache::{Geofence, ZoneCache};

/// Commands to vehicles: the link that carries them, the store that keeps what became of
/// each, and the writes of the rides that wait for them.
#[derive(Clone, Copy)]
pub struct Vehicles<'a> {
    pub link: &'a dyn VehicleLink,
    pub commands: &'a dyn CommandStore,
    pub rides: &'a dyn CommandedRides,
}

impl Vehicles<'_> {
    /// Sends `command` to `board`, due by `settings`' deadline: recorded, then published.
    pub async fn send(
        &self,
        settings: &Settings,
        clock: &dyn Clock,
        board: &KickboardId,
        command: Command,
    ) -> PortResult<SentCommand> {
        let timeout = chrono::Duration::from_std(settings.command_timeout).expect("settings keep it within a minute");
        let sent = SentCommand::send(CommandId::random(), board.clone(), command, clock.now(), timeout);
        self.commands.record_command(&sent).await?;
        self.link.publish(&sent).await?;
        metrics::record_by(Metric::CommandsSent, command.name(), 1.0);
        Ok(sent)
    }

    /// [`Vehicles::send`], then waits until the command is settled or its deadline passes.
    pub async fn send_and_wait(
        &self,
        settings: &Settings,
        clock: &dyn Clock,
        board: &KickboardId,
        command: Command,
    ) -> PortResult<SentCommand> {
        let sent = self.send(settings, clock, board, command).await?;
        let settled = self.link.settled(&sent).await?;
        if settled.status_at(clock.now()) != CommandStatus::Acked && settled.error.is_none() {
            metrics::record_by(Metric::CommandsTimedOut, command.name(), 1.0);
        }
        Ok(settled)
    }
}

pub trait Services: Send + Sync {
    fn settings(&self) -> &Settings;
    fn clock(&self) -> &dyn Clock;
    fn passes(&self) -> &dyn PassStore;
    /// Stored answers of requests sent with an `Idempotency-Key`.
    fn answers(&self) -> &dyn IdempotencyStore;
    fn rentals(&self) -> &dyn RentalStore;
    fn fleet(&self) -> &dyn FleetStore;
    fn zones(&self) -> &dyn ZoneStore;
    fn contacts(&self) -> &dyn ContactStore;
    fn licences(&self) -> &dyn LicenceStore;
    /// The balance read model.
    fn balances(&self) -> &dyn BalanceView;
    /// The cities' view (MDS).
    fn mds(&self) -> &dyn MdsView;
    /// The crew's alerts, as the notifier logged them.
    fn crew_log(&self) -> &dyn CrewLog;
    /// The operators' figures of each city day.
    fn days(&self) -> &dyn DayLedger;
    /// The shared circuit breakers' states.
    fn breakers(&self) -> &dyn BreakerStore;
    /// The boards being ridden.
    fn ride_watch(&self) -> &dyn RideWatch;
    /// Where push endpoints are made for customers' devices.
    fn push(&self) -> &dyn PushRegistry;
    /// Payments through the breaker; a problem when no provider is configured.
    fn payments(&self) -> Result<&GuardedPayments, Problem>;
    /// Licence verification through its breaker, and the key numbers are hashed with; a
    /// problem when no provider is configured.
    fn licence_checks(&self) -> Result<&GuardedLicenceChecks, Problem>;
    /// This instance's zones, kept between requests.
    fn zone_cache(&self) -> &ZoneCache;
    /// This instance's fleet snapshot for the GBFS feed.
    fn snapshots(&self) -> &FleetSnapshots;
    /// The key page cursors are signed with; a problem when none is configured.
    fn cursor_key(&self) -> Result<&CursorKey, Problem>;
    /// The way commands reach the vehicles, where this deployment has one.
    fn vehicles(&self) -> Option<Vehicles<'_>>;

    /// The zones a rent or return is checked against.
    fn geofence(&self) -> Geofence<'_> {
        Geofence { store: self.zones(), cache: self.zone_cache() }
    }
}
