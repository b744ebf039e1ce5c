//! The zones' partition (`ZoneStore`): the zones, the global rules and their version.

use super::{GLOBAL_RULES_SK, Item, ZONES_PK, ZONES_VERSION_SK, attr, zone_sk};
use crate::domain::zones::{Zone, ZoneRules, ZoneSet};
use serde::{Deserialize, Serialize};

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

/// Every item of the zones' partition, in a query's answer, as the zones they hold.
pub fn zone_set(items: Vec<Item>) -> Result<ZoneSet, serde_dynamo::Error> {
    let mut set = ZoneSet::default();
    for item in items {
        match item.get(attr::SK).and_then(|sk| sk.as_s().ok()).map(String::as_str) {
            Some(ZONES_VERSION_SK) => set.version = serde_dynamo::from_item::<_, ZonesVersionItem>(item)?.version,
            Some(GLOBAL_RULES_SK) => set.global = serde_dynamo::from_item::<_, GlobalRulesItem>(item)?.rules,
            _ => set.zones.push(serde_dynamo::from_item::<_, ZoneItem>(item)?.zone),
        }
    }
    Ok(set)
}
