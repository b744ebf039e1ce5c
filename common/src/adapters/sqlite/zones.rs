//! `ZoneStore` on SQLite: every zone write adds to the zones' version in its transaction.

use super::outbox::append_event;
use super::store::{SqliteStore, exec, load, to_json, unavailable};
use crate::domain::error::RuleViolation;
use crate::domain::events::EventEnvelope;
use crate::domain::ids::ZoneId;
use crate::domain::mds_policy::CityDocument;
use crate::domain::zones::{Zone, ZoneRules, ZoneSet};
use crate::ports::{PortResult, ZoneStore};
use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, params};
use std::sync::atomic::Ordering;

/// Where `zone_settings` keeps the global rules and the zones' version.
const GLOBAL_RULES: &str = "global_rules";
const ZONES_VERSION: &str = "version";

/// Adds one to the zones' version, in the transaction of a zone write; the new version.
fn bump_zones_version(tx: &Connection) -> PortResult<u64> {
    exec(
        tx,
        "INSERT INTO zone_settings (name, value) VALUES (?1, '1')
         ON CONFLICT (name) DO UPDATE SET value = CAST(value AS INTEGER) + 1",
        [ZONES_VERSION],
    )?;
    zones_version(tx)
}

pub(super) fn zones_version(conn: &Connection) -> PortResult<u64> {
    let version: Option<String> = conn
        .prepare_cached("SELECT value FROM zone_settings WHERE name = ?1")?
        .query_row([ZONES_VERSION], |row| row.get(0))
        .optional()?;
    Ok(version.and_then(|version| version.parse().ok()).unwrap_or(0))
}

impl SqliteStore {
    /// Publishes a committed zone write's version to the readers of [`Self::zones_version`].
    fn committed_zones_version(&self, version: u64) {
        self.zones_version.fetch_max(version, Ordering::AcqRel);
    }
}

#[async_trait]
impl ZoneStore for SqliteStore {
    async fn save_zone(&self, zone: &Zone, event: &EventEnvelope) -> PortResult<()> {
        let (zone, event) = (zone.clone(), event.clone());
        self.write(move |tx| {
            exec(
                tx,
                "INSERT INTO zones (zone_id, item) VALUES (?1, ?2)
                 ON CONFLICT (zone_id) DO UPDATE SET item = excluded.item",
                params![zone.zone_id.as_str(), to_json(&zone)?],
            )?;
            append_event(tx, &event)?;
            bump_zones_version(tx)
        })
        .await
        .map(|version| self.committed_zones_version(version))
    }

    async fn delete_zone(&self, zone_id: &ZoneId, event: &EventEnvelope) -> PortResult<()> {
        let (zone_id, event) = (zone_id.clone(), event.clone());
        self.write(move |tx| {
            if exec(tx, "DELETE FROM zones WHERE zone_id = ?1", [zone_id.as_str()])? == 0 {
                return Err(RuleViolation::ZoneNotFound.into());
            }
            append_event(tx, &event)?;
            bump_zones_version(tx)
        })
        .await
        .map(|version| self.committed_zones_version(version))
    }

    async fn save_global_rules(&self, rules: &ZoneRules, event: &EventEnvelope) -> PortResult<()> {
        let (rules, event) = (*rules, event.clone());
        self.write(move |tx| {
            exec(
                tx,
                "INSERT INTO zone_settings (name, value) VALUES (?1, ?2)
                 ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                params![GLOBAL_RULES, to_json(&rules)?],
            )?;
            append_event(tx, &event)?;
            bump_zones_version(tx)
        })
        .await
        .map(|version| self.committed_zones_version(version))
    }

    async fn import_city_document(&self, document: &CityDocument, event: &EventEnvelope) -> PortResult<bool> {
        let (document, event) = (document.clone(), event.clone());
        let text = to_json(&document.document)?;
        self.write(move |tx| {
            let (kind, id) = (document.kind.name(), document.id.to_string());
            let kept: Option<String> = tx
                .prepare_cached("SELECT document FROM city_documents WHERE kind = ?1 AND id = ?2")?
                .query_row([kind, id.as_str()], |row| row.get(0))
                .optional()?;
            if let Some(kept) = kept {
                let kept: serde_json::Value = serde_json::from_str(&kept)?;
                return match kept == document.document {
                    true => Ok(None),
                    false => Err(RuleViolation::CityDocumentPublished.into()),
                };
            }
            exec(tx, "INSERT INTO city_documents (kind, id, document) VALUES (?1, ?2, ?3)", params![kind, id, text])?;
            append_event(tx, &event)?;
            bump_zones_version(tx).map(Some)
        })
        .await
        .map(|version| match version {
            Some(version) => {
                self.committed_zones_version(version);
                true
            }
            None => false,
        })
    }

    async fn zones_version(&self) -> PortResult<u64> {
        Ok(self.zones_version.load(Ordering::Acquire))
    }

    async fn zone_set(&self) -> PortResult<ZoneSet> {
        self.run(|conn| {
            // One read transaction: the version, the rules and the zones as of one moment.
            let tx = conn.transaction()?;
            let version = zones_version(&tx)?;
            let global: Option<ZoneRules> = load(&tx, "SELECT value FROM zone_settings WHERE name = ?1", GLOBAL_RULES)?;
            let items: Vec<String> = tx
                .prepare_cached("SELECT item FROM zones")?
                .query_map([], |row| row.get(0))?
                .collect::<Result<_, _>>()?;
            let zones = items.iter().map(|item| serde_json::from_str(item)).collect::<Result<Vec<Zone>, _>>()?;
            let documents: Vec<(String, String, String)> = tx
                .prepare_cached("SELECT kind, id, document FROM city_documents ORDER BY kind, id")?
                .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?
                .collect::<Result<_, _>>()?;
            let city = documents
                .into_iter()
                .map(|(kind, id, document)| {
                    Ok(CityDocument {
                        kind: serde_json::from_value(serde_json::Value::String(kind))?,
                        id: id.parse().map_err(unavailable)?,
                        document: serde_json::from_str(&document)?,
                    })
                })
                .collect::<PortResult<Vec<_>>>()?;
            Ok(ZoneSet { version, zones, global: global.unwrap_or_default(), city })
        })
        .await
    }
}
