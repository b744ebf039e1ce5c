//! Kickboard items (`FleetStore`), with the keys of the `available` index.

use super::{BOARD_SK, board_pk, parked_sk, riding_pk};
use crate::domain::geo::area_cell;
use crate::domain::kickboard::Kickboard;
use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BoardItem {
    pub pk: String,
    pub sk: String,
    #[serde(flatten)]
    pub board: Kickboard,
    /// Where the board is parked, as its `available` index keys; copied back to
    /// `availablePk`/`availableSk` when a return leaves it where it was. Boards stored before
    /// the index was keyed by cell have no `parkedCell` until migrated.
    #[serde(default)]
    pub parked_cell: String,
    pub parked_sk: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub available_pk: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub available_sk: Option<String>,
    /// The `riding` index keys, only while the board is ridden.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub riding_pk: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub riding_sk: Option<String>,
}

impl From<&Kickboard> for BoardItem {
    fn from(board: &Kickboard) -> Self {
        let parked = parked_sk(&board.location, &board.kickboard_id);
        let cell = area_cell(&board.location);
        let available = board.is_parked();
        let ridden = board.rental_id().is_some();
        Self {
            pk: board_pk(&board.kickboard_id),
            sk: BOARD_SK.to_owned(),
            board: board.clone(),
            available_pk: available.then(|| cell.clone()),
            available_sk: available.then(|| parked.clone()),
            riding_pk: ridden.then(|| riding_pk(&board.kickboard_id)),
            riding_sk: ridden.then(|| board.kickboard_id.to_string()),
            parked_cell: cell,
            parked_sk: parked,
        }
    }
}
