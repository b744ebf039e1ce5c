//! The local server: every route of the HTTP contract and both event functions in one
//! process, calling the very handlers the Lambdas call, on the embedded SQLite store by
//! default or on the AWS adapters (`--store aws`, e.g. against the moto emulator).

pub mod aws_flow;
pub mod aws_setup;
pub mod clock;
pub mod config;
pub mod console;
mod gateway;
pub mod local_alerts;
pub mod local_push;
pub mod local_routes;
pub mod migrate;
pub mod provision;
mod recording;
pub mod redrive;
pub mod relay;
pub mod tokens;
pub mod vehicles;

use crate::clock::ShiftedClock;
use aws_config::SdkConfig;
use aws_flow::AwsEventPump;
use config::{AwsStorage, LocalConfig, Storage};
use kickboard_common::adapters::aws::{DynamoStore, SnsAlertSender, SnsPushRegistry, load_config};
use kickboard_common::adapters::http_licences::HttpLicenceVerifier;
use kickboard_common::adapters::http_payments::HttpPaymentProvider;
use kickboard_common::adapters::licence_simulator::LicenceSimulator;
use kickboard_common::adapters::payment_simulator::PaymentSimulator;
use kickboard_common::adapters::sqlite::SqliteStore;
use kickboard_common::domain::events::Subscriber;
use kickboard_common::handlers::city_rules::CapWatch;
use kickboard_common::handlers::fleet::{WatchDeps, WatchedRides, watch_rides};
use kickboard_common::handlers::gbfs::FleetSnapshots;
use kickboard_common::http::Problem;
use kickboard_common::http::cursor::CursorKey;
use kickboard_common::http::request::VEHICLE_GROUP;
use kickboard_common::invocation;
use kickboard_common::licences::{GuardedLicenceChecks, LicenceKey};
use kickboard_common::payments::GuardedPayments;
use kickboard_common::ports::{
    AlertSender, BalanceView, BreakerStore, CapMarks, Clock, CommandStore, CommandedRides, ContactStore, CrewLog,
    DayLedger, FleetStore, IdempotencyStore, LicenceStore, LicenceVerifier, MdsView, NotificationLedger, PassStore,
    PaymentProvider, PortError, PortResult, PushRegistry, RentalStore, RideWatch, ZoneStore,
};
use kickboard_common::services::{Services, Vehicles};
use kickboard_common::settings::{LicenceProviderSetting, Settings};
use kickboard_common::zone_cache::ZoneCache;
use local_alerts::LocalAlertSender;
use local_push::LocalPushPlatform;
use recording::RecordingSender;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use tokens::TokenAuthority;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use vehicles::fleet::SimulatedFleet;
use vehicles::link::{LinkDeps, MqttVehicleLink, SERVER_CLIENT_ID};
use vehicles::simulator::VehicleSimulator;

/// The file in the data dir that keeps the page cursors' signing key.
pub const CURSOR_KEY_FILE: &str = "cursor-key";
/// The secret licence numbers are hashed with, in the data dir.
pub const LICENCE_KEY_FILE: &str = "licence-key";

/// The adapters behind every port, whichever store was chosen.
pub struct Ports {
    pub answers: Arc<dyn IdempotencyStore>,
    pub breakers: Arc<dyn BreakerStore>,
    pub passes: Arc<dyn PassStore>,
    pub rentals: Arc<dyn RentalStore>,
    pub fleet: Arc<dyn FleetStore>,
    pub contacts: Arc<dyn ContactStore>,
    pub licences: Arc<dyn LicenceStore>,
    pub zones: Arc<dyn ZoneStore>,
    pub balances: Arc<dyn BalanceView>,
    pub mds: Arc<dyn MdsView>,
    pub crew_log: Arc<dyn CrewLog>,
    pub days: Arc<dyn DayLedger>,
    pub cap_marks: Arc<dyn CapMarks>,
    pub ledger: Arc<dyn NotificationLedger>,
    pub sender: Arc<dyn AlertSender>,
    pub push: Arc<dyn PushRegistry>,
}

impl Ports {
    fn all_from<S>(store: &Arc<S>, sender: Arc<dyn AlertSender>, push: Arc<dyn PushRegistry>) -> Self
    where
        S: PassStore
            + RentalStore
            + FleetStore
            + ContactStore
            + LicenceStore
            + BalanceView
            + MdsView
            + CrewLog
            + DayLedger
            + CapMarks
            + NotificationLedger
            + BreakerStore
            + IdempotencyStore
            + ZoneStore
            + 'static,
    {
        Self {
            answers: store.clone(),
            breakers: store.clone(),
            passes: store.clone(),
            rentals: store.clone(),
            fleet: store.clone(),
            contacts: store.clone(),
            licences: store.clone(),
            zones: store.clone(),
            balances: store.clone(),
            mds: store.clone(),
            crew_log: store.clone(),
            days: store.clone(),
            cap_marks: store.clone(),
            ledger: store.clone(),
            sender,
            push,
        }
    }
}

/// What carries events from the outbox to the subscribers.
pub enum Backend {
    /// The SQLite outbox, relayed in process; alerts recorded locally, pushes to the local
    /// push platform.
    Sqlite { store: SqliteStore, alerts: LocalAlertSender, push: LocalPushPlatform },
    /// The DynamoDB stream and EventBridge; alerts through SNS, and listed as sent.
    Aws { store: DynamoStore, pump: Option<Arc<AwsEventPump>>, alerts: Arc<RecordingSender> },
}

/// Everything the routes and relays share.
pub struct App {
    pub ports: Ports,
    pub backend: Backend,
    pub clock: Arc<dyn Clock>,
    /// The same clock, as `PUT /local/clock` moves it.
    pub shifted_clock: Arc<ShiftedClock>,
    /// Payments through the shared breaker, to `payment_url` or the in-process simulator.
    pub payments: GuardedPayments,
    /// The in-process simulator, when payments go to it.
    pub simulator: Option<Arc<PaymentSimulator>>,
    /// Licence checks through their breaker, to `--licence-url` or the in-process simulator.
    pub licence_checks: GuardedLicenceChecks,
    /// The in-process licence simulator, when verifications go to it.
    pub licence_simulator: Option<Arc<LicenceSimulator>>,
    pub tokens: Arc<TokenAuthority>,
    /// The vehicles over MQTT: the embedded broker, the server's session and the simulated
    /// boards.
    pub vehicles: Option<LocalVehicles>,
    /// What the handlers read: the command line's choices over the environment's.
    pub settings: Settings,
    pub snapshots: FleetSnapshots,
    /// The zones, read again whenever their version moved (locally the version is checked at
    /// every rent and return: the SQLite store keeps it in memory, DynamoDB is asked).
    pub zones: ZoneCache,
    /// Signs page cursors; kept in the data dir.
    pub cursor_key: CursorKey,
    /// Where crew alerts go: the local alert list, or an SNS topic with `--store aws`.
    pub crew_topic: Option<String>,
    /// The operator console's map tiles.
    pub console: console::ConsoleSettings,
    /// Bumped after every write, so relays wake at once instead of at their next poll.
    outbox_written: watch::Sender<u64>,
    /// Each SQLite relay's cursor, published after every pass over the outbox.
    relayed: HashMap<Subscriber, watch::Sender<u64>>,
    /// Counts the AWS event pump's passes that found nothing to do.
    idle_passes: watch::Sender<u64>,
}

impl Services for App {
    fn settings(&self) -> &Settings {
        &self.settings
    }
    fn clock(&self) -> &dyn Clock {
        self.clock.as_ref()
    }
    fn passes(&self) -> &dyn PassStore {
        self.ports.passes.as_ref()
    }
    fn answers(&self) -> &dyn IdempotencyStore {
        self.ports.answers.as_ref()
    }
    fn rentals(&self) -> &dyn RentalStore {
        self.ports.rentals.as_ref()
    }
    fn fleet(&self) -> &dyn FleetStore {
        self.ports.fleet.as_ref()
    }
    fn zones(&self) -> &dyn ZoneStore {
        self.ports.zones.as_ref()
    }
    fn contacts(&self) -> &dyn ContactStore {
        self.ports.contacts.as_ref()
    }
    fn licences(&self) -> &dyn LicenceStore {
        self.ports.licences.as_ref()
    }
    fn licence_checks(&self) -> Result<&GuardedLicenceChecks, Problem> {
        Ok(&self.licence_checks)
    }
    fn balances(&self) -> &dyn BalanceView {
        self.ports.balances.as_ref()
    }
    fn mds(&self) -> &dyn MdsView {
        self.ports.mds.as_ref()
    }
    fn crew_log(&self) -> &dyn CrewLog {
        self.ports.crew_log.as_ref()
    }
    fn days(&self) -> &dyn DayLedger {
        self.ports.days.as_ref()
    }
    fn breakers(&self) -> &dyn BreakerStore {
        self.ports.breakers.as_ref()
    }
    fn ride_watch(&self) -> &dyn RideWatch {
        match &self.backend {
            Backend::Sqlite { store, .. } => store,
            Backend::Aws { store, .. } => store,
        }
    }
    fn push(&self) -> &dyn PushRegistry {
        self.ports.push.as_ref()
    }
    fn payments(&self) -> Result<&GuardedPayments, Problem> {
        Ok(&self.payments)
    }
    fn zone_cache(&self) -> &ZoneCache {
        &self.zones
    }
    fn snapshots(&self) -> &FleetSnapshots {
        &self.snapshots
    }
    fn cursor_key(&self) -> Result<&CursorKey, Problem> {
        Ok(&self.cursor_key)
    }
    fn vehicles(&self) -> Option<Vehicles<'_>> {
        let local = self.vehicles.as_ref()?;
        Some(Vehicles { link: local.link.as_ref(), commands: local.commands.as_ref(), rides: local.rides.as_ref() })
    }
}

/// The local side of the vehicles' MQTT.
pub struct LocalVehicles {
    /// Where vehicles connect: `mqtt://` this address.
    pub broker: SocketAddr,
    pub link: Arc<MqttVehicleLink>,
    pub commands: Arc<dyn CommandStore>,
    pub rides: Arc<dyn CommandedRides>,
    pub simulator: Arc<VehicleSimulator>,
}

impl App {
    fn outbox_may_have_grown(&self) {
        self.outbox_written.send_modify(|count| *count = count.wrapping_add(1));
    }

    /// One watch over the rides, as `watch-rides` runs it every minute on AWS.
    pub async fn watch_rides(&self) -> PortResult<WatchedRides> {
        let caps = CapWatch {
            zones: self.ports.zones.as_ref(),
            fleet: self.ports.fleet.as_ref(),
            marks: self.ports.cap_marks.as_ref(),
            city: self.settings.city_context(),
        };
        let deps = WatchDeps {
            watch: self.ride_watch(),
            rentals: self.ports.rentals.as_ref(),
            rides: self.vehicles.as_ref().map(|vehicles| vehicles.rides.as_ref()),
            clock: self.clock.as_ref(),
            caps,
        };
        let watched = invocation::running_as("watch-rides", watch_rides(&deps)).await?;
        if watched.silent + watched.dead_holds + watched.caps_over > 0 {
            self.outbox_may_have_grown();
        }
        Ok(watched)
    }

    /// Waits until the running relays have delivered every event written so far.
    pub async fn relayed(&self) -> PortResult<()> {
        let stopped = || PortError::Unavailable("the relay stopped".into());
        match &self.backend {
            Backend::Sqlite { store, .. } => {
                let head = store.outbox_head().await?;
                for cursor in self.relayed.values() {
                    cursor.subscribe().wait_for(|position| *position >= head).await.map_err(|_| stopped())?;
                }
            }
            Backend::Aws { pump: Some(_), .. } => {
                // Two idle passes after now: the second started after every earlier write.
                let mut idle = self.idle_passes.subscribe();
                let seen = *idle.borrow_and_update();
                idle.wait_for(|passes| *passes >= seen + 2).await.map_err(|_| stopped())?;
            }
            Backend::Aws { pump: None, .. } => {}
        }
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot open the store: {0}")]
    Store(String),
    #[error("cannot prepare the signing key: {0}")]
    Key(#[from] tokens::KeyError),
    #[error("cannot listen: {0}")]
    Io(#[from] std::io::Error),
}

/// A started server; dropping it does not stop it, [`RunningServer::shutdown`] does.
pub struct RunningServer {
    pub addr: SocketAddr,
    pub app: Arc<App>,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl RunningServer {
    /// Stops accepting, lets requests in flight finish, and stops the relays.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        for task in self.tasks {
            let _ = task.await;
        }
    }
}

/// Where crew alerts go on the SQLite store: listed with the others, for the operators.
pub const LOCAL_CREW_TOPIC: &str = "local:crew";

async fn open_backend(
    storage: &Storage,
    relay: bool,
    clock: &Arc<dyn Clock>,
    aws_config: Option<SdkConfig>,
) -> Result<(Ports, Backend, Option<String>), StartError> {
    let store_error = |error: PortError| StartError::Store(error.to_string());
    match storage {
        Storage::DataDir(_) | Storage::InMemory => {
            let store = match storage {
                Storage::DataDir(dir) => SqliteStore::open(dir).map_err(store_error)?,
                _ => SqliteStore::open_in_memory().map_err(store_error)?,
            };
            let push = LocalPushPlatform::open(store.clone()).await.map_err(store_error)?;
            let alerts =
                LocalAlertSender::open(store.clone(), push.clone(), Arc::clone(clock)).await.map_err(store_error)?;
            let ports = Ports::all_from(&Arc::new(store.clone()), Arc::new(alerts.clone()), Arc::new(push.clone()));
            Ok((ports, Backend::Sqlite { store, alerts, push }, Some(LOCAL_CREW_TOPIC.to_owned())))
        }
        Storage::Aws(aws) => {
            let AwsStorage { endpoint_url, tables, event_bus, queues, create_resources, crew_topic, push_applications } =
                aws.as_ref();
            let config = match aws_config {
                Some(config) => config,
                None => load_config(endpoint_url.as_deref()).await,
            };
            let created = match create_resources {
                true => Some(aws_setup::create_resources(&config, tables, event_bus).await.map_err(StartError::Store)?),
                false => None,
            };
            let crew_topic = match create_resources {
                true => Some(aws_setup::create_crew_topic(&config).await.map_err(StartError::Store)?),
                false => crew_topic.clone(),
            };
            let push_applications = match create_resources {
                true => aws_setup::create_push_applications(&config).await.map_err(StartError::Store)?,
                false => push_applications.clone(),
            };
            let queues = created.as_ref().or(queues.as_ref());
            let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&config), tables.clone());
            let sns = aws_sdk_sns::Client::new(&config);
            let sender = SnsAlertSender::new(sns.clone(), push_applications.clone());
            let push = Arc::new(SnsPushRegistry::new(sns, push_applications));
            let alerts = Arc::new(RecordingSender::new(Arc::new(sender), Arc::clone(clock)));
            let pump = match queues {
                Some(queues) if relay => Some(Arc::new(
                    AwsEventPump::connect(&config, tables, event_bus, queues.clone()).await.map_err(store_error)?,
                )),
                _ => None,
            };
            let ports = Ports::all_from(&Arc::new(store.clone()), alerts.clone(), push);
            Ok((ports, Backend::Aws { store, pump, alerts }, crew_topic))
        }
    }
}

/// Watches the rides every minute until `shutdown` turns true, as the schedule does on AWS.
async fn watch_rides_every_minute(app: Arc<App>, mut shutdown: watch::Receiver<bool>) {
    let mut every = tokio::time::interval(std::time::Duration::from_secs(60));
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = every.tick() => {}
            _ = shutdown.changed() => return,
        }
        if let Err(error) = app.watch_rides().await {
            tracing::warn!(%error, "the rides could not be watched");
        }
    }
}

/// Where the vehicles' commands and commanded rides are kept, and the boards to simulate.
struct VehicleStores {
    commands: Arc<dyn CommandStore>,
    rides: Arc<dyn CommandedRides>,
    in_service: Vec<kickboard_common::domain::ids::KickboardId>,
}

impl VehicleStores {
    async fn of(backend: &Backend) -> Result<Self, StartError> {
        let failed = |error: PortError| StartError::Store(error.to_string());
        Ok(match backend {
            Backend::Sqlite { store, .. } => Self {
                commands: Arc::new(store.clone()),
                rides: Arc::new(store.clone()),
                in_service: store.kickboards_in_service().await.map_err(failed)?,
            },
            Backend::Aws { store, .. } => Self {
                commands: Arc::new(store.clone()),
                rides: Arc::new(store.clone()),
                in_service: store.kickboards_in_service().await.map_err(failed)?,
            },
        })
    }
}

/// Reports from vehicles, waiting to be taken.
type ReportQueue = mpsc::Receiver<(kickboard_common::domain::ids::KickboardId, serde_json::Value)>;

/// Starts the broker, the server's session on it and a simulated vehicle for every board in
/// service; from then on the fleet connects each board registered.
async fn start_vehicles(
    store: VehicleStores,
    ports: &mut Ports,
    tokens: &Arc<TokenAuthority>,
    clock: &Arc<dyn Clock>,
    stopping: &watch::Receiver<bool>,
) -> Result<(LocalVehicles, JoinHandle<()>, ReportQueue), StartError> {
    let server_password = uuid::Uuid::new_v4().to_string();
    let authenticate = {
        let (tokens, server_password) = (Arc::clone(tokens), server_password.clone());
        Arc::new(move |client_id: &str, user: &str, password: &str| {
            if client_id == SERVER_CLIENT_ID {
                return user == SERVER_CLIENT_ID && password == server_password;
            }
            // A vehicle: its own token, in the vehicle group, naming itself.
            tokens.verify(password).is_ok_and(|claims| {
                claims.sub == client_id && claims.sub == user && claims.groups.iter().any(|g| g == VEHICLE_GROUP)
            })
        })
    };
    let broker = vehicles::broker::start(authenticate)?;
    let VehicleStores { commands, rides, in_service } = store;
    let (reports, queued) = mpsc::channel(vehicles::reports::QUEUE);
    let deps = LinkDeps { commands: Arc::clone(&commands), clock: Arc::clone(clock), reports };
    let (link, task) = MqttVehicleLink::connect(broker, &server_password, deps, stopping.clone()).await?;
    let simulator = Arc::new(VehicleSimulator::new(broker, Arc::clone(tokens)));
    for board in in_service {
        simulator.connect(&board).await;
    }
    ports.fleet = Arc::new(SimulatedFleet { store: Arc::clone(&ports.fleet), simulator: Arc::clone(&simulator) });
    Ok((LocalVehicles { broker, link, commands, rides, simulator }, task, queued))
}

/// Opens the store, binds `config.addr`, and starts serving and relaying.
pub async fn start(config: LocalConfig, clock: Arc<dyn Clock>) -> Result<RunningServer, StartError> {
    start_with_aws_config(config, clock, None).await
}

/// [`start`], with the AWS adapters on `aws_config` (its HTTP client, retry settings and
/// endpoint) instead of one loaded from the environment: how the tests inject faults.
pub async fn start_with_aws_config(
    config: LocalConfig,
    clock: Arc<dyn Clock>,
    aws_config: Option<SdkConfig>,
) -> Result<RunningServer, StartError> {
    let data_dir = match &config.storage {
        Storage::DataDir(dir) => {
            std::fs::create_dir_all(dir)?;
            Some(dir.as_path())
        }
        Storage::InMemory | Storage::Aws(_) => None,
    };
    let shifted_clock = Arc::new(ShiftedClock::new(clock));
    let clock: Arc<dyn Clock> = shifted_clock.clone();
    let tokens = Arc::new(match data_dir {
        Some(dir) => TokenAuthority::from_data_dir(dir)?,
        None => TokenAuthority::ephemeral()?,
    });
    let cursor_key = CursorKey::new(&tokens::kept_secret(data_dir, CURSOR_KEY_FILE)?);
    let settings = config.settings();
    let zones = ZoneCache::new(settings.zone_check_interval, settings.city_context());
    let (mut ports, backend, crew_topic) = open_backend(&config.storage, config.relay, &clock, aws_config).await?;
    let (shutdown, stopping) = watch::channel(false);
    let mut tasks = Vec::new();
    let (vehicles, reports) = if config.vehicles {
        let store = VehicleStores::of(&backend).await?;
        let (vehicles, link_task, reports) = start_vehicles(store, &mut ports, &tokens, &clock, &stopping).await?;
        tasks.push(link_task);
        (Some(vehicles), Some(reports))
    } else {
        (None, None)
    };
    let (provider, simulator): (Arc<dyn PaymentProvider>, _) = match &config.payment_url {
        Some(url) => (Arc::new(HttpPaymentProvider::new(url, config.payment_timeouts)?), None),
        None => {
            let simulator = Arc::new(PaymentSimulator::new(config.payment));
            (simulator.clone(), Some(simulator))
        }
    };
    let payments = GuardedPayments::new(provider, Arc::clone(&ports.breakers), config.breaker, Arc::clone(&clock));
    let (verifier, licence_simulator): (Arc<dyn LicenceVerifier>, _) = match &config.licence.provider {
        LicenceProviderSetting::Url(url) => (Arc::new(HttpLicenceVerifier::new(url, config.licence.timeout)?), None),
        LicenceProviderSetting::Simulator | LicenceProviderSetting::NotConfigured => {
            let simulator = Arc::new(LicenceSimulator::default());
            (simulator.clone(), Some(simulator))
        }
    };
    let licence_checks = GuardedLicenceChecks::new(
        verifier,
        Arc::clone(&ports.breakers),
        config.licence.breaker,
        Arc::clone(&clock),
        LicenceKey::new(&tokens::kept_secret(data_dir, LICENCE_KEY_FILE)?),
    );
    let listener = TcpListener::bind(config.addr).await?;
    let addr = listener.local_addr()?;
    let (outbox_written, wake) = watch::channel(0);
    let sqlite_relays = config.relay && matches!(backend, Backend::Sqlite { .. });
    let app = Arc::new(App {
        ports,
        backend,
        clock,
        shifted_clock,
        payments,
        simulator,
        licence_checks,
        licence_simulator,
        tokens,
        vehicles,
        settings,
        snapshots: FleetSnapshots::default(),
        zones,
        cursor_key,
        crew_topic,
        console: config.console.clone(),
        outbox_written,
        relayed: Subscriber::ALL
            .into_iter()
            .filter(|_| sqlite_relays)
            .map(|subscriber| (subscriber, watch::channel(0).0))
            .collect(),
        idle_passes: watch::channel(0).0,
    });
    tasks.push(tokio::spawn(gateway::serve(listener, Arc::clone(&app), stopping.clone())));
    if let Some(reports) = reports {
        tasks.push(tokio::spawn(vehicles::reports::run(Arc::clone(&app), reports, stopping.clone())));
    }
    tasks.push(tokio::spawn(watch_rides_every_minute(Arc::clone(&app), stopping.clone())));
    if sqlite_relays {
        for subscriber in Subscriber::ALL {
            tasks.push(tokio::spawn(relay::run(Arc::clone(&app), subscriber, wake.clone(), stopping.clone())));
        }
    }
    if let Backend::Aws { pump: Some(pump), .. } = &app.backend {
        tasks.push(tokio::spawn(aws_flow::run(Arc::clone(pump), Arc::clone(&app), wake, stopping)));
    }
    Ok(RunningServer { addr, app, shutdown, tasks })
}
