//! `BalanceView` on DynamoDB: the view table, found by customer through `by-customer`.

use super::client::{DynamoStore, from_item, n, s, to_item};
use super::pages::all_pages;
use super::transact::conditional_put;
use crate::adapters::aws::items::attr::{CUSTOMER_PK, PK, VERSION};
use crate::adapters::aws::items::{BY_CUSTOMER_INDEX, BalanceItem, balance_key, customer_pk};
use crate::domain::ids::{CustomerId, PassId};
use crate::ports::{BalanceRecord, BalanceView, PortResult};
use async_trait::async_trait;

fn balance_record(item: BalanceItem) -> BalanceRecord {
    BalanceRecord { customer_id: item.customer_id, balance: item.balance, updated_at: item.updated_at }
}

#[async_trait]
impl BalanceView for DynamoStore {
    async fn apply_balance(&self, record: &BalanceRecord) -> PortResult<bool> {
        let put = self
            .client
            .put_item()
            .table_name(&self.tables.views)
            .set_item(Some(to_item(&BalanceItem::new(record))?))
            .condition_expression(format!("attribute_not_exists({PK}) OR {VERSION} < :version"))
            .expression_attribute_values(":version", n(record.balance.version));
        conditional_put(put).await
    }

    async fn find_balance(&self, pass_id: &PassId) -> PortResult<Option<BalanceRecord>> {
        let item: Option<BalanceItem> = self.get(&self.tables.views, balance_key(pass_id)).await?;
        Ok(item.map(balance_record))
    }

    async fn balances_of(&self, customer: &CustomerId) -> PortResult<Vec<BalanceRecord>> {
        let request = self
            .client
            .query()
            .table_name(&self.tables.views)
            .index_name(BY_CUSTOMER_INDEX)
            .key_condition_expression(format!("{CUSTOMER_PK} = :customer"))
            .expression_attribute_values(":customer", s(customer_pk(customer)));
        let items = all_pages(request).await?;
        let mut records = items
            .into_iter()
            .map(|item| from_item::<BalanceItem>(item).map(balance_record))
            .collect::<PortResult<Vec<_>>>()?;
        records.sort_by(|a, b| a.balance.pass_id.cmp(&b.balance.pass_id));
        Ok(records)
    }
}
