//! The store's client and tables, and the conversions every port's items go through.

use crate::adapters::aws::items::Item;
use crate::adapters::aws::sdk_error;
use crate::ports::{PortError, PortResult};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeValue, KeysAndAttributes, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::HashMap;

/// The two tables: state (with the stream) and views (read models and the notifier's markers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tables {
    pub state: String,
    pub views: String,
}

#[derive(Clone)]
pub struct DynamoStore {
    pub(super) client: Client,
    pub(super) tables: Tables,
}

pub(super) fn unavailable(error: impl std::fmt::Display) -> PortError {
    PortError::Unavailable(error.to_string())
}

pub(super) fn to_item(value: &impl Serialize) -> PortResult<Item> {
    serde_dynamo::to_item(value).map_err(unavailable)
}

pub(super) fn from_item<T: DeserializeOwned>(item: Item) -> PortResult<T> {
    serde_dynamo::from_item(item).map_err(unavailable)
}

pub(super) fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub(super) fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// Expression attribute values from `(":name", value)` pairs.
pub(super) fn values<const N: usize>(pairs: [(&str, AttributeValue); N]) -> HashMap<String, AttributeValue> {
    pairs.into_iter().map(|(name, value)| (name.to_owned(), value)).collect()
}

/// Keys a `BatchGetItem` takes at most.
const BATCH_GET_KEYS: usize = 100;

/// Calls a batch of keys gets, its unprocessed keys (throttled) asked again, before the read
/// gives up as busy.
const BATCH_GET_ROUNDS: u64 = 6;

/// Expression attribute names from `("#placeholder", attribute)` pairs.
pub(super) fn names<const N: usize>(pairs: [(&str, &str); N]) -> HashMap<String, String> {
    pairs.into_iter().map(|(placeholder, name)| (placeholder.to_owned(), name.to_owned())).collect()
}

impl DynamoStore {
    pub fn new(client: Client, tables: Tables) -> Self {
        Self { client, tables }
    }

    pub(super) fn put(&self, table: &str, item: Item, condition: Option<&str>) -> PortResult<TransactWriteItem> {
        let put = Put::builder()
            .table_name(table)
            .set_item(Some(item))
            .set_condition_expression(condition.map(str::to_owned))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .map_err(unavailable)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    pub(super) async fn get<T: DeserializeOwned>(&self, table: &str, key: Item) -> PortResult<Option<T>> {
        let output = self
            .client
            .get_item()
            .table_name(table)
            .set_key(Some(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(sdk_error)?;
        output.item.map(from_item).transpose()
    }

    /// The items of `keys` in `table` (in no order; a missing one is left out), a hundred keys
    /// a call. What DynamoDB leaves unprocessed is asked again after a growing pause, a bounded
    /// number of times.
    pub(super) async fn batch_get(
        &self,
        table: &str,
        keys: &[Item],
        projection: Option<&str>,
        consistent: bool,
    ) -> PortResult<Vec<Item>> {
        let mut found = Vec::with_capacity(keys.len());
        for chunk in keys.chunks(BATCH_GET_KEYS) {
            let mut wanted = chunk.to_vec();
            let mut round = 0;
            while !wanted.is_empty() {
                round += 1;
                if round > BATCH_GET_ROUNDS {
                    return Err(PortError::Transient(format!("{} keys of {table} stayed unprocessed", wanted.len())));
                }
                if round > 1 {
                    tokio::time::sleep(std::time::Duration::from_millis(50 * round)).await;
                }
                let request = KeysAndAttributes::builder()
                    .set_keys(Some(std::mem::take(&mut wanted)))
                    .set_projection_expression(projection.map(str::to_owned))
                    .consistent_read(consistent)
                    .build()
                    .map_err(unavailable)?;
                let output =
                    self.client.batch_get_item().request_items(table, request).send().await.map_err(sdk_error)?;
                found.extend(output.responses.unwrap_or_default().remove(table).unwrap_or_default());
                if let Some(left) = output.unprocessed_keys.and_then(|mut left| left.remove(table)) {
                    wanted = left.keys;
                }
            }
        }
        Ok(found)
    }
}
