//! `BalanceView` on SQLite: the balance view table.

use super::store::{SqliteStore, exec, to_json, unavailable};
use crate::domain::ids::{CustomerId, PassId};
use crate::domain::pass::PassBalance;
use crate::ports::{BalanceRecord, BalanceView, PortResult};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

fn balance_record(customer_id: String, updated_at: String, item: String) -> PortResult<BalanceRecord> {
    Ok(BalanceRecord {
        customer_id: CustomerId::try_from(customer_id).map_err(unavailable)?,
        balance: serde_json::from_str::<PassBalance>(&item)?,
        updated_at: DateTime::parse_from_rfc3339(&updated_at).map_err(unavailable)?.with_timezone(&Utc),
    })
}

#[async_trait]
impl BalanceView for SqliteStore {
    async fn apply_balance(&self, record: &BalanceRecord) -> PortResult<bool> {
        let record = record.clone();
        self.write(move |tx| {
            let changed = exec(
                tx,
                "INSERT INTO balance_view (pass_id, customer_id, version, updated_at, item)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (pass_id) DO UPDATE SET
                   version = excluded.version, updated_at = excluded.updated_at, item = excluded.item
                 WHERE excluded.version > balance_view.version",
                params![
                    record.balance.pass_id.as_str(),
                    record.customer_id.as_str(),
                    i64::try_from(record.balance.version).map_err(unavailable)?,
                    record.updated_at.to_rfc3339(),
                    to_json(&record.balance)?
                ],
            )?;
            Ok(changed == 1)
        })
        .await
    }

    async fn find_balance(&self, pass_id: &PassId) -> PortResult<Option<BalanceRecord>> {
        let pass_id = pass_id.to_string();
        self.run(move |conn| {
            conn.prepare_cached("SELECT customer_id, updated_at, item FROM balance_view WHERE pass_id = ?1")?
                .query_row([pass_id], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
                .optional()?
                .map(|(customer, updated_at, item)| balance_record(customer, updated_at, item))
                .transpose()
        })
        .await
    }

    async fn balances_of(&self, customer: &CustomerId) -> PortResult<Vec<BalanceRecord>> {
        let customer = customer.to_string();
        self.run(move |conn| {
            let rows: Vec<(String, String, String)> = conn
                .prepare_cached(
                    "SELECT customer_id, updated_at, item FROM balance_view WHERE customer_id = ?1 ORDER BY pass_id",
                )?
                .query_map([customer], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?
                .collect::<Result<_, _>>()?;
            rows.into_iter().map(|(customer, updated_at, item)| balance_record(customer, updated_at, item)).collect()
        })
        .await
    }
}
