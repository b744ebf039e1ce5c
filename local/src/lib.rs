//! The local server: every route of the HTTP contract and both event functions in one
//! process, on the embedded SQLite store, calling the very handlers the Lambdas call.

pub mod config;
mod gateway;
mod local_routes;
pub mod relay;
pub mod tokens;

use config::{LocalConfig, Storage};
use kickboard_common::adapters::payment_simulator::PaymentSimulator;
use kickboard_common::adapters::sqlite::{LocalAlertSender, SqliteStore};
use kickboard_common::domain::events::Subscriber;
use kickboard_common::ports::{Clock, PortError, PortResult};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use tokens::TokenAuthority;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Everything the routes and relays share.
pub struct App {
    pub store: SqliteStore,
    pub clock: Arc<dyn Clock>,
    pub payments: PaymentSimulator,
    pub alerts: LocalAlertSender,
    pub tokens: TokenAuthority,
    /// Bumped after every write, so relays wake at once instead of at their next poll.
    outbox_written: watch::Sender<u64>,
    /// Each subscriber's relay cursor, published after every pass over the outbox.
    relayed: HashMap<Subscriber, watch::Sender<u64>>,
}

impl App {
    fn outbox_may_have_grown(&self) {
        self.outbox_written.send_modify(|count| *count = count.wrapping_add(1));
    }

    /// Waits until every running relay has delivered the whole outbox as it is now.
    pub async fn relayed(&self) -> PortResult<()> {
        let head = self.store.outbox_head().await?;
        for cursor in self.relayed.values() {
            let mut cursor = cursor.subscribe();
            cursor
                .wait_for(|position| *position >= head)
                .await
                .map_err(|_| PortError::Unavailable("the relay stopped".into()))?;
        }
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot open the store: {0}")]
    Store(String),
    #[error("cannot prepare the signing key: {0}")]
    Key(#[from] std::io::Error),
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

/// Opens the store, binds `config.addr`, and starts serving and relaying.
pub async fn start(config: LocalConfig, clock: Arc<dyn Clock>) -> Result<RunningServer, StartError> {
    let (store, tokens) = match &config.storage {
        Storage::DataDir(dir) => (
            SqliteStore::open(dir).map_err(|error| StartError::Store(error.to_string()))?,
            TokenAuthority::from_data_dir(dir)?,
        ),
        Storage::InMemory => (
            SqliteStore::open_in_memory().map_err(|error| StartError::Store(error.to_string()))?,
            TokenAuthority::ephemeral(),
        ),
    };
    let listener = TcpListener::bind(config.addr).await?;
    let addr = listener.local_addr()?;
    let (outbox_written, wake) = watch::channel(0);
    let app = Arc::new(App {
        alerts: LocalAlertSender::new(store.clone(), Arc::clone(&clock)),
        store,
        clock,
        payments: PaymentSimulator::new(config.payment),
        tokens,
        outbox_written,
        relayed: Subscriber::ALL
            .into_iter()
            .filter(|_| config.relay)
            .map(|subscriber| (subscriber, watch::channel(0).0))
            .collect(),
    });
    let (shutdown, stopping) = watch::channel(false);
    let mut tasks = vec![tokio::spawn(gateway::serve(listener, Arc::clone(&app), stopping.clone()))];
    if config.relay {
        for subscriber in Subscriber::ALL {
            tasks.push(tokio::spawn(relay::run(Arc::clone(&app), subscriber, wake.clone(), stopping.clone())));
        }
    }
    Ok(RunningServer { addr, app, shutdown, tasks })
}
