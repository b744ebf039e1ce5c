//! `ContactStore` on DynamoDB.

use super::client::{DynamoStore, to_item};
use crate::adapters::aws::items::{ContactItem, attr, contact_key};
use crate::adapters::aws::{applied, sdk_error};
use crate::domain::contact::{Contact, PushEndpoint};
use crate::domain::ids::CustomerId;
use crate::ports::{ContactStore, PortError, PortResult};
use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};

#[async_trait]
impl ContactStore for DynamoStore {
    async fn save_contact(&self, customer: &CustomerId, contact: &Contact) -> PortResult<()> {
        self.client
            .put_item()
            .table_name(&self.tables.state)
            .set_item(Some(to_item(&ContactItem::new(customer, contact))?))
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(())
    }

    async fn find_contact(&self, customer: &CustomerId) -> PortResult<Option<Contact>> {
        let item: Option<ContactItem> = self.get(&self.tables.state, contact_key(customer)).await?;
        Ok(item.map(|item| item.contact))
    }

    async fn mark_push_dead(
        &self,
        customer: &CustomerId,
        endpoint: &PushEndpoint,
        at: DateTime<Utc>,
    ) -> PortResult<bool> {
        let at = serde_dynamo::to_attribute_value(at).map_err(|error| PortError::Unavailable(error.to_string()))?;
        applied(
            self.client
                .update_item()
                .table_name(&self.tables.state)
                .set_key(Some(contact_key(customer)))
                .update_expression("SET #push.#deadSince = :at")
                .condition_expression("#push.#endpointArn = :endpoint")
                .expression_attribute_names("#push", attr::PUSH)
                .expression_attribute_names("#deadSince", attr::DEAD_SINCE)
                .expression_attribute_names("#endpointArn", attr::ENDPOINT_ARN)
                .expression_attribute_values(":at", at)
                .expression_attribute_values(":endpoint", AttributeValue::S(endpoint.as_str().to_owned()))
                .send()
                .await,
        )
    }
}
