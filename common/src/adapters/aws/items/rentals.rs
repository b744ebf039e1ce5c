//! Rental items (`RentalStore`).

use super::{RENTAL_SK, rental_pk};
use crate::domain::rental::Rental;
use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RentalItem {
    pub pk: String,
    pub sk: String,
    #[serde(flatten)]
    pub rental: Rental,
}

impl From<&Rental> for RentalItem {
    fn from(rental: &Rental) -> Self {
        Self { pk: rental_pk(&rental.rental_id), sk: RENTAL_SK.to_owned(), rental: rental.clone() }
    }
}
