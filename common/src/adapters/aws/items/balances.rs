//! The balance view's items (`BalanceView`), found by customer through `by-customer`.

use super::{BALANCE_SK, customer_pk, pass_pk};
use crate::domain::ids::CustomerId;
use crate::domain::pass::PassBalance;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BalanceItem {
    pub pk: String,
    pub sk: String,
    pub customer_pk: String,
    pub customer_id: CustomerId,
    pub updated_at: DateTime<Utc>,
    #[serde(flatten)]
    pub balance: PassBalance,
}

impl BalanceItem {
    pub fn new(record: &crate::ports::BalanceRecord) -> Self {
        Self {
            pk: pass_pk(&record.balance.pass_id),
            sk: BALANCE_SK.to_owned(),
            customer_pk: customer_pk(&record.customer_id),
            customer_id: record.customer_id.clone(),
            updated_at: record.updated_at,
            balance: record.balance.clone(),
        }
    }
}
