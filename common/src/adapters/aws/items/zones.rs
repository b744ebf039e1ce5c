//! The zones' partition (`ZoneStore`): the zones, the global rules, the city's MDS documents
//! and their version.

use super::{
    CITY_DOCUMENT_SK_PREFIX, GLOBAL_RULES_SK, Item, ZONES_PK, ZONES_VERSION_SK, attr, city_document_sk, zone_sk,
};
use crate::domain::mds_policy::{CityDocument, CityDocumentKind};
use crate::domain::zones::{Zone, ZoneRules, ZoneSet};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ZoneItem {
    pub pk: String,
    pub sk: String,
    #[serde(flatten)]
    pub zone: Zone,
}

impl From<&Zone> for ZoneItem {
    fn from(zone: &Zone) -> Self {
        Self { pk: ZONES_PK.to_owned(), sk: zone_sk(&zone.zone_id), zone: zone.clone() }
    }
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GlobalRulesItem {
    pub pk: String,
    pub sk: String,
    #[serde(flatten)]
    pub rules: ZoneRules,
}

impl From<&ZoneRules> for GlobalRulesItem {
    fn from(rules: &ZoneRules) -> Self {
        Self { pk: ZONES_PK.to_owned(), sk: GLOBAL_RULES_SK.to_owned(), rules: *rules }
    }
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ZonesVersionItem {
    pub pk: String,
    pub sk: String,
    pub version: u64,
}

/// A city's MDS document in the zones' partition, as imported: its JSON as text (DynamoDB
/// numbers would not keep every number a document may hold).
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CityDocumentItem {
    pub pk: String,
    pub sk: String,
    pub kind: CityDocumentKind,
    pub id: Uuid,
    pub document: String,
}

impl CityDocumentItem {
    pub fn new(document: &CityDocument) -> Result<Self, serde_json::Error> {
        Ok(Self {
            pk: ZONES_PK.to_owned(),
            sk: city_document_sk(document.kind, &document.id),
            kind: document.kind,
            id: document.id,
            document: serde_json::to_string(&document.document)?,
        })
    }

    pub fn document(&self) -> Result<CityDocument, serde_json::Error> {
        Ok(CityDocument { kind: self.kind, id: self.id, document: serde_json::from_str(&self.document)? })
    }
}

/// Every item of the zones' partition, in a query's answer, as the zones they hold.
pub fn zone_set(items: Vec<Item>) -> Result<ZoneSet, serde_dynamo::Error> {
    let mut set = ZoneSet::default();
    for item in items {
        match item.get(attr::SK).and_then(|sk| sk.as_s().ok()).map(String::as_str) {
            Some(ZONES_VERSION_SK) => set.version = serde_dynamo::from_item::<_, ZonesVersionItem>(item)?.version,
            Some(GLOBAL_RULES_SK) => set.global = serde_dynamo::from_item::<_, GlobalRulesItem>(item)?.rules,
            Some(sk) if sk.starts_with(CITY_DOCUMENT_SK_PREFIX) => {
                let item = serde_dynamo::from_item::<_, CityDocumentItem>(item)?;
                set.city.push(item.document().map_err(serde::de::Error::custom)?);
            }
            _ => set.zones.push(serde_dynamo::from_item::<_, ZoneItem>(item)?.zone),
        }
    }
    Ok(set)
}
