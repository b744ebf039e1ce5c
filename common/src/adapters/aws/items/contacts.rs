//! Contact items (`ContactStore`).

use super::{CONTACT_SK, customer_pk};
use crate::domain::contact::Contact;
use crate::domain::ids::CustomerId;
use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContactItem {
    pub pk: String,
    pub sk: String,
    #[serde(flatten)]
    pub contact: Contact,
}

impl ContactItem {
    pub fn new(customer: &CustomerId, contact: &Contact) -> Self {
        Self { pk: customer_pk(customer), sk: CONTACT_SK.to_owned(), contact: contact.clone() }
    }
}
