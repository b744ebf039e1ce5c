//! Rental items (`RentalStore`).

use super::{RENTAL_SK, customer_pk, rental_pk};
use crate::domain::rental::Rental;
use crate::ports::RentalPosition;
use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RentalItem {
    pub pk: String,
    pub sk: String,
    /// The `rider` index: the customer's rides, newest first.
    pub rider_pk: String,
    pub rider_sk: String,
    #[serde(flatten)]
    pub rental: Rental,
}

impl From<&Rental> for RentalItem {
    fn from(rental: &Rental) -> Self {
        Self {
            pk: rental_pk(&rental.rental_id),
            sk: RENTAL_SK.to_owned(),
            rider_pk: customer_pk(&rental.customer_id),
            rider_sk: RentalPosition::of(rental).as_str().to_owned(),
            rental: rental.clone(),
        }
    }
}
