//! `LicenceStore` on DynamoDB: the licence and the customer's checks are two items of the
//! customer's partition; a verification's end writes the checks, the licence and its event in
//! one transaction.

use super::client::{DynamoStore, n, to_item};
use super::transact::{CONFLICT_ATTEMPTS, conditional_put};
use crate::adapters::aws::items::attr::{PK, VERSION};
use crate::adapters::aws::items::{LicenceChecksItem, LicenceItem, licence_checks_key, licence_key};
use crate::adapters::aws::sdk_error;
use crate::domain::ids::CustomerId;
use crate::domain::licence::{CheckRefused, Licence, LicenceChecks};
use crate::ports::{CheckEnd, LicenceStore, PortError, PortResult};
use async_trait::async_trait;
use aws_sdk_dynamodb::types::{ReturnValue, TransactWriteItem};
use chrono::{DateTime, Utc};

/// The condition a checks item is written on: unchanged since it was read.
fn unchanged(version: Option<u64>) -> String {
    match version {
        None => format!("attribute_not_exists({PK})"),
        Some(_) => format!("{VERSION} = :version"),
    }
}

impl DynamoStore {
    /// The customer's checks and the version they were read at (`None`: never written).
    async fn checks(&self, customer: &CustomerId) -> PortResult<(LicenceChecks, Option<u64>)> {
        let item: Option<LicenceChecksItem> = self.get(&self.tables.state, licence_checks_key(customer)).await?;
        Ok(item.map_or_else(Default::default, |item| (item.checks, Some(item.version))))
    }

    /// The checks item `checks`, written over the one read at `version`.
    fn checks_put(
        &self,
        customer: &CustomerId,
        checks: &LicenceChecks,
        version: Option<u64>,
    ) -> PortResult<TransactWriteItem> {
        let item = to_item(&LicenceChecksItem::new(customer, checks, version.unwrap_or(0) + 1))?;
        let mut put = self.put(&self.tables.state, item, Some(&unchanged(version)))?;
        if let (Some(put), Some(version)) = (put.put.as_mut(), version) {
            put.expression_attribute_values = Some([(":version".to_owned(), n(version))].into());
        }
        Ok(put)
    }
}

#[async_trait]
impl LicenceStore for DynamoStore {
    async fn find_licence(&self, customer: &CustomerId) -> PortResult<Option<Licence>> {
        let item: Option<LicenceItem> = self.get(&self.tables.state, licence_key(customer)).await?;
        Ok(item.map(|item| item.licence))
    }

    async fn begin_check(
        &self,
        customer: &CustomerId,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> PortResult<Result<(), CheckRefused>> {
        for _ in 0..CONFLICT_ATTEMPTS {
            let (checks, version) = self.checks(customer).await?;
            let begun = match checks.begin(now, until) {
                Ok(begun) => begun,
                Err(refused) => return Ok(Err(refused)),
            };
            let item = to_item(&LicenceChecksItem::new(customer, &begun, version.unwrap_or(0) + 1))?;
            let mut put = self
                .client
                .put_item()
                .table_name(&self.tables.state)
                .set_item(Some(item))
                .condition_expression(unchanged(version));
            if let Some(version) = version {
                put = put.expression_attribute_values(":version", n(version));
            }
            if conditional_put(put).await? {
                return Ok(Ok(()));
            }
            // Another verification of this customer began or ended meanwhile: read it again.
        }
        Err(PortError::Transient("a customer's licence checks kept changing".into()))
    }

    async fn end_check(&self, customer: &CustomerId, end: CheckEnd) -> PortResult<()> {
        for _ in 0..CONFLICT_ATTEMPTS {
            let (checks, version) = self.checks(customer).await?;
            let failed_at = match &end {
                CheckEnd::Rejected(at) => Some(*at),
                CheckEnd::Verified(..) | CheckEnd::Unanswered => None,
            };
            let mut items = vec![self.checks_put(customer, &checks.end(failed_at), version)?];
            if let CheckEnd::Verified(verified) = &end {
                let (licence, event) = verified.as_ref();
                items.push(self.put(&self.tables.state, to_item(&LicenceItem::new(customer, licence))?, None)?);
                items.push(self.put_outbox(event)?);
            }
            if self.transact(items).await?.is_ok() {
                return Ok(());
            }
        }
        Err(PortError::Transient("a customer's licence checks kept changing".into()))
    }

    async fn renew_licence(&self, customer: &CustomerId, licence: &Licence) -> PortResult<()> {
        self.client
            .put_item()
            .table_name(&self.tables.state)
            .set_item(Some(to_item(&LicenceItem::new(customer, licence))?))
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(())
    }

    async fn forget_licence(&self, customer: &CustomerId) -> PortResult<bool> {
        let output = self
            .client
            .delete_item()
            .table_name(&self.tables.state)
            .set_key(Some(licence_key(customer)))
            .return_values(ReturnValue::AllOld)
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(output.attributes.is_some_and(|old| !old.is_empty()))
    }
}
