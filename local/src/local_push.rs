//! The local push platform: plays SNS's platform applications on the embedded database. It
//! makes endpoints in its own namespace (`arn:aws:sns:local:000000000000:endpoint/FCM/
//! kickboard-local/<id>`), one per device token as SNS keeps them, and a loopback route can
//! disable one, as a push service refusing a token would, so the SMS fallback can be tried
//! without AWS. Its table belongs to the local server, not to the store.

use async_trait::async_trait;
use kickboard_common::adapters::sqlite::{SqliteStore, exec};
use kickboard_common::domain::contact::{PushEndpoint, PushPlatform, PushToken};
use kickboard_common::domain::ids::CustomerId;
use kickboard_common::ports::{PortError, PortResult, PushRegistry};
use rusqlite::{OptionalExtension, params};
use serde::Serialize;

/// The local platform application of a push platform.
pub fn local_application(platform: PushPlatform) -> String {
    format!("arn:aws:sns:local:000000000000:app/{}/kickboard-local", platform.name())
}

/// The endpoints made, as SNS keeps them per application: token, customer, enabled.
const TABLE: &str = "CREATE TABLE IF NOT EXISTS local_push_endpoints (
    endpoint_arn TEXT PRIMARY KEY,
    platform     TEXT NOT NULL,
    token        TEXT NOT NULL,
    customer_id  TEXT NOT NULL,
    enabled      INTEGER NOT NULL,
    UNIQUE (platform, token)
) STRICT;";

/// A local endpoint as `GET /local/push-endpoints` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LocalEndpoint {
    pub endpoint_arn: String,
    pub platform: String,
    pub customer_id: String,
    pub enabled: bool,
}

/// Whether a local endpoint takes pushes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndpointState {
    Enabled,
    Disabled,
    Gone,
}

#[derive(Clone)]
pub struct LocalPushPlatform {
    store: SqliteStore,
}

fn unavailable(error: impl std::fmt::Display) -> PortError {
    PortError::Unavailable(error.to_string())
}

impl LocalPushPlatform {
    /// The platform on `store`'s database, its table created if new.
    pub async fn open(store: SqliteStore) -> PortResult<Self> {
        store.write(|conn| conn.execute_batch(TABLE).map_err(unavailable)).await?;
        Ok(Self { store })
    }

    pub async fn state(&self, endpoint: &str) -> PortResult<EndpointState> {
        let endpoint = endpoint.to_owned();
        let enabled: Option<bool> = self
            .store
            .run(move |conn| {
                let enabled = conn
                    .prepare_cached("SELECT enabled FROM local_push_endpoints WHERE endpoint_arn = ?1")?
                    .query_row([endpoint], |row| row.get(0))
                    .optional()?;
                Ok(enabled)
            })
            .await?;
        Ok(match enabled {
            Some(true) => EndpointState::Enabled,
            Some(false) => EndpointState::Disabled,
            None => EndpointState::Gone,
        })
    }

    /// Disables an endpoint, as a push service does with a token it refuses; `false` when
    /// there is no such endpoint.
    pub async fn disable(&self, endpoint: &str) -> PortResult<bool> {
        let endpoint = endpoint.to_owned();
        self.store
            .write(move |conn| {
                let changed =
                    exec(conn, "UPDATE local_push_endpoints SET enabled = 0 WHERE endpoint_arn = ?1", [endpoint])?;
                Ok(changed == 1)
            })
            .await
    }

    /// The endpoints made, only `customer`'s when given.
    pub async fn list(&self, customer: Option<&CustomerId>) -> PortResult<Vec<LocalEndpoint>> {
        let customer = customer.map(CustomerId::to_string);
        self.store
            .run(move |conn| {
                let endpoints = conn
                    .prepare_cached(
                        "SELECT endpoint_arn, platform, customer_id, enabled FROM local_push_endpoints
                         WHERE ?1 IS NULL OR customer_id = ?1 ORDER BY rowid",
                    )?
                    .query_map([customer], |row| {
                        Ok(LocalEndpoint {
                            endpoint_arn: row.get(0)?,
                            platform: row.get(1)?,
                            customer_id: row.get(2)?,
                            enabled: row.get(3)?,
                        })
                    })?
                    .collect::<Result<_, _>>()?;
                Ok(endpoints)
            })
            .await
    }
}

#[async_trait]
impl PushRegistry for LocalPushPlatform {
    fn offers(&self, _: PushPlatform) -> bool {
        true
    }

    /// As SNS does it: the token's endpoint, enabled again, when it is the customer's; one made
    /// anew when another customer held the token.
    async fn register(
        &self,
        customer: &CustomerId,
        platform: PushPlatform,
        token: &PushToken,
    ) -> PortResult<PushEndpoint> {
        let (customer, token) = (customer.to_string(), token.as_str().to_owned());
        let fresh = format!(
            "{}/{}",
            local_application(platform).replacen(":app/", ":endpoint/", 1),
            uuid::Uuid::new_v4().simple()
        );
        let arn = self
            .store
            .write(move |conn| {
                let platform = platform.name();
                let held: Option<(String, String)> = conn
                    .prepare_cached(
                        "SELECT endpoint_arn, customer_id FROM local_push_endpoints WHERE platform = ?1 AND token = ?2",
                    )?
                    .query_row([platform, token.as_str()], |row| Ok((row.get(0)?, row.get(1)?)))
                    .optional()?;
                match held {
                    Some((arn, holder)) if holder == customer => {
                        exec(conn, "UPDATE local_push_endpoints SET enabled = 1 WHERE endpoint_arn = ?1", [&arn])?;
                        Ok(arn)
                    }
                    held => {
                        if let Some((arn, _)) = held {
                            exec(conn, "DELETE FROM local_push_endpoints WHERE endpoint_arn = ?1", [arn])?;
                        }
                        exec(
                            conn,
                            "INSERT INTO local_push_endpoints (endpoint_arn, platform, token, customer_id, enabled)
                             VALUES (?1, ?2, ?3, ?4, 1)",
                            params![fresh, platform, token, customer],
                        )?;
                        Ok(fresh)
                    }
                }
            })
            .await?;
        PushEndpoint::try_from(arn).map_err(unavailable)
    }

    async fn remove(&self, endpoint: &PushEndpoint) -> PortResult<()> {
        let endpoint = endpoint.as_str().to_owned();
        self.store
            .write(move |conn| {
                exec(conn, "DELETE FROM local_push_endpoints WHERE endpoint_arn = ?1", [endpoint])?;
                Ok(())
            })
            .await
    }
}
