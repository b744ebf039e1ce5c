//! `LicenceStore` on SQLite: each write is one job on the store's writer, so reading a
//! customer's checks and writing them back is atomic.

use super::outbox::append_event;
use super::store::{SqliteStore, exec, load, to_json};
use crate::domain::ids::CustomerId;
use crate::domain::licence::{CheckRefused, Licence, LicenceChecks};
use crate::ports::{CheckEnd, LicenceStore, PortResult};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{Connection, params};

pub(super) fn load_licence(conn: &Connection, customer: &CustomerId) -> PortResult<Option<Licence>> {
    load(conn, "SELECT item FROM licences WHERE customer_id = ?1", customer.as_str())
}

fn save_licence(tx: &Connection, customer: &CustomerId, licence: &Licence) -> PortResult<()> {
    exec(
        tx,
        "INSERT INTO licences (customer_id, item) VALUES (?1, ?2)
         ON CONFLICT (customer_id) DO UPDATE SET item = excluded.item",
        params![customer.as_str(), to_json(licence)?],
    )?;
    Ok(())
}

fn load_checks(tx: &Connection, customer: &CustomerId) -> PortResult<LicenceChecks> {
    Ok(load(tx, "SELECT item FROM licence_checks WHERE customer_id = ?1", customer.as_str())?.unwrap_or_default())
}

fn save_checks(tx: &Connection, customer: &CustomerId, checks: &LicenceChecks) -> PortResult<()> {
    exec(
        tx,
        "INSERT INTO licence_checks (customer_id, item) VALUES (?1, ?2)
         ON CONFLICT (customer_id) DO UPDATE SET item = excluded.item",
        params![customer.as_str(), to_json(checks)?],
    )?;
    Ok(())
}

#[async_trait]
impl LicenceStore for SqliteStore {
    async fn find_licence(&self, customer: &CustomerId) -> PortResult<Option<Licence>> {
        let customer = customer.clone();
        self.run(move |conn| load_licence(conn, &customer)).await
    }

    async fn begin_check(
        &self,
        customer: &CustomerId,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> PortResult<Result<(), CheckRefused>> {
        let customer = customer.clone();
        self.write(move |tx| match load_checks(tx, &customer)?.begin(now, until) {
            Ok(begun) => save_checks(tx, &customer, &begun).map(Ok),
            Err(refused) => Ok(Err(refused)),
        })
        .await
    }

    async fn end_check(&self, customer: &CustomerId, end: CheckEnd) -> PortResult<()> {
        let customer = customer.clone();
        self.write(move |tx| {
            let failed_at = match &end {
                CheckEnd::Rejected(at) => Some(*at),
                CheckEnd::Verified(..) | CheckEnd::Unanswered => None,
            };
            save_checks(tx, &customer, &load_checks(tx, &customer)?.end(failed_at))?;
            if let CheckEnd::Verified(verified) = &end {
                let (licence, event) = verified.as_ref();
                save_licence(tx, &customer, licence)?;
                append_event(tx, event)?;
            }
            Ok(())
        })
        .await
    }

    async fn renew_licence(&self, customer: &CustomerId, licence: &Licence) -> PortResult<()> {
        let (customer, licence) = (customer.clone(), licence.clone());
        self.write(move |tx| save_licence(tx, &customer, &licence)).await
    }

    async fn forget_licence(&self, customer: &CustomerId) -> PortResult<bool> {
        let customer = customer.clone();
        self.write(move |tx| {
            Ok(exec(tx, "DELETE FROM licences WHERE customer_id = ?1", params![customer.as_str()])? == 1)
        })
        .await
    }
}
