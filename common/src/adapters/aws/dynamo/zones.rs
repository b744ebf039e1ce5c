//! `ZoneStore` on DynamoDB: every zone write (a city's documents too) adds to the zones' version
//! in its transaction.

use super::client::{DynamoStore, n, s, to_item, unavailable};
use super::pages::all_pages;
use crate::adapters::aws::items::attr::PK;
use crate::adapters::aws::items::{
    CityDocumentItem, GlobalRulesItem, ZONES_PK, ZoneItem, ZonesVersionItem, attr, city_document_key, zone_key,
    zone_set, zones_version_key,
};
use crate::domain::error::RuleViolation;
use crate::domain::events::EventEnvelope;
use crate::domain::ids::ZoneId;
use crate::domain::mds_policy::CityDocument;
use crate::domain::zones::{Zone, ZoneRules, ZoneSet};
use crate::ports::{PortError, PortResult, ZoneStore};
use async_trait::async_trait;
use aws_sdk_dynamodb::types::{Delete, TransactWriteItem, Update};

impl DynamoStore {
    /// A zone write: `change`, the zones' version added to (so every cache sees it), and its
    /// event, in one transaction; `false` when the change's condition failed.
    async fn write_zones(&self, change: TransactWriteItem, event: &EventEnvelope) -> PortResult<bool> {
        let bump_version = Update::builder()
            .table_name(&self.tables.state)
            .set_key(Some(zones_version_key()))
            .update_expression("ADD #version :one")
            .expression_attribute_names("#version", attr::VERSION)
            .expression_attribute_values(":one", n(1))
            .build()
            .map_err(unavailable)?;
        let items = vec![change, TransactWriteItem::builder().update(bump_version).build(), self.put_outbox(event)?];
        Ok(self.transact(items).await?.is_ok())
    }
}

#[async_trait]
impl ZoneStore for DynamoStore {
    async fn save_zone(&self, zone: &Zone, event: &EventEnvelope) -> PortResult<()> {
        let put = self.put(&self.tables.state, to_item(&ZoneItem::from(zone))?, None)?;
        match self.write_zones(put, event).await? {
            true => Ok(()),
            false => Err(RuleViolation::Inconsistent("a zone write without conditions was refused").into()),
        }
    }

    async fn delete_zone(&self, zone_id: &ZoneId, event: &EventEnvelope) -> PortResult<()> {
        let delete = Delete::builder()
            .table_name(&self.tables.state)
            .set_key(Some(zone_key(zone_id)))
            .condition_expression(format!("attribute_exists({PK})"))
            .build()
            .map_err(unavailable)?;
        match self.write_zones(TransactWriteItem::builder().delete(delete).build(), event).await? {
            true => Ok(()),
            false => Err(RuleViolation::ZoneNotFound.into()),
        }
    }

    async fn save_global_rules(&self, rules: &ZoneRules, event: &EventEnvelope) -> PortResult<()> {
        let put = self.put(&self.tables.state, to_item(&GlobalRulesItem::from(rules))?, None)?;
        match self.write_zones(put, event).await? {
            true => Ok(()),
            false => Err(RuleViolation::Inconsistent("a rules write without conditions was refused").into()),
        }
    }

    async fn import_city_document(&self, document: &CityDocument, event: &EventEnvelope) -> PortResult<bool> {
        let item = CityDocumentItem::new(document).map_err(unavailable)?;
        let put = self.put(&self.tables.state, to_item(&item)?, Some(&format!("attribute_not_exists({PK})")))?;
        if self.write_zones(put, event).await? {
            return Ok(true);
        }
        // Kept already: the same document is a repeated import, another one is refused.
        let kept: Option<CityDocumentItem> =
            self.get(&self.tables.state, city_document_key(document.kind, &document.id)).await?;
        match kept.map(|kept| kept.document()).transpose().map_err(unavailable)? {
            Some(kept) if kept == *document => Ok(false),
            Some(_) => Err(RuleViolation::CityDocumentPublished.into()),
            None => Err(PortError::Transient("a city document's import met a write in flight".into())),
        }
    }

    async fn zones_version(&self) -> PortResult<u64> {
        let item: Option<ZonesVersionItem> = self.get(&self.tables.state, zones_version_key()).await?;
        Ok(item.map_or(0, |item| item.version))
    }

    async fn zone_set(&self) -> PortResult<ZoneSet> {
        let request = self
            .client
            .query()
            .table_name(&self.tables.state)
            .key_condition_expression(format!("{PK} = :zones"))
            .expression_attribute_values(":zones", s(ZONES_PK))
            .consistent_read(true);
        zone_set(all_pages(request).await?).map_err(unavailable)
    }
}
