//! `ContactStore` on SQLite.

use super::store::{SqliteStore, exec, load, to_json};
use crate::domain::contact::{Contact, PushEndpoint};
use crate::domain::ids::CustomerId;
use crate::ports::{ContactStore, PortResult};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::params;

#[async_trait]
impl ContactStore for SqliteStore {
    async fn save_contact(&self, customer: &CustomerId, contact: &Contact) -> PortResult<()> {
        let (customer, item) = (customer.to_string(), to_json(contact)?);
        self.write(move |tx| {
            exec(
                tx,
                "INSERT INTO contacts (customer_id, item) VALUES (?1, ?2)
                 ON CONFLICT (customer_id) DO UPDATE SET item = excluded.item",
                params![customer, item],
            )?;
            Ok(())
        })
        .await
    }

    async fn find_contact(&self, customer: &CustomerId) -> PortResult<Option<Contact>> {
        let customer = customer.to_string();
        self.run(move |conn| load(conn, "SELECT item FROM contacts WHERE customer_id = ?1", &customer)).await
    }

    async fn mark_push_dead(
        &self,
        customer: &CustomerId,
        endpoint: &PushEndpoint,
        at: DateTime<Utc>,
    ) -> PortResult<bool> {
        let (customer, endpoint) = (customer.to_string(), endpoint.as_str().to_owned());
        let at = to_json(&at)?;
        self.write(move |tx| {
            let marked = exec(
                tx,
                "UPDATE contacts SET item = json_set(item, '$.push.deadSince', json(?3))
                 WHERE customer_id = ?1 AND json_extract(item, '$.push.endpointArn') = ?2",
                params![customer, endpoint, at],
            )?;
            Ok(marked == 1)
        })
        .await
    }
}
