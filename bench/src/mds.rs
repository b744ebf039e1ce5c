//! What serving a busy hour of the cities' view costs on DynamoDB: a day of a city's trips in
//! the view table, then `/mds/trips` of its busiest hour read as the function reads it.

use crate::city::{TappedMoto, batch_put};
use chrono::{DateTime, Duration, TimeZone, Utc};
use kickboard_common::adapters::aws::DynamoStore;
use kickboard_common::adapters::aws::items::MdsItem;
use kickboard_common::domain::ids::{KickboardId, RentalId};
use kickboard_common::domain::mds::{Gps, MdsHour, MdsIds, MdsRecord, MdsTrip, TripType};
use kickboard_common::ports::MdsView;
use kickboard_common::settings::DEFAULT_MDS_PROVIDER_ID;
use kickboard_tests::Xorshift;
use std::time::Instant;

/// The hour read: its trips are a tenth of the day's (a commute peak).
const PEAK_SHARE: f64 = 0.10;

/// One row: the day written, the hour read.
pub struct MdsHourRow {
    pub trips_in_day: usize,
    pub trips_in_hour: usize,
    pub queries: u64,
    pub read_units: f64,
    pub answer_bytes: u64,
    pub document_bytes: usize,
    pub millis: f64,
}

/// A day of `trips` trips (`PEAK_SHARE` of them in the busiest hour, the rest spread over the
/// other 23) written to the view table on moto, then the busiest hour read through the store.
pub async fn mds_hour(boards: usize, trips: usize) -> MdsHourRow {
    let TappedMoto { tap, deployment, client, _moto, .. } = TappedMoto::start().await;
    let ids = MdsIds::new(DEFAULT_MDS_PROVIDER_ID);
    let day = Utc.with_ymd_and_hms(2026, 12, 7, 0, 0, 0).unwrap();
    let peak = day + Duration::hours(8);
    let in_peak = (trips as f64 * PEAK_SHARE).round() as usize;
    let mut random = Xorshift(0x9e37_79b9_7f4a_7c15);
    let mut items = Vec::with_capacity(trips);
    for n in 0..trips {
        let hour = if n < in_peak {
            peak
        } else {
            day + Duration::hours(if n % 23 >= 8 { n % 23 + 1 } else { n % 23 } as i64)
        };
        let end = hour + Duration::milliseconds((random.unit() * 3_599_999.0) as i64);
        let board = KickboardId::try_from(format!("kb-{:05}", n % boards)).expect("a valid id");
        let rental = RentalId::try_from(format!("r-{n}")).expect("a valid id");
        items.push(MdsItem::new(&MdsRecord::Trip(trip(&ids, &board, &rental, end, &mut random))).expect("an item"));
    }
    batch_put(&client, &deployment.tables.views, items).await;
    tap.reset();
    let store = DynamoStore::new(client, deployment.tables.clone());
    let started = Instant::now();
    let read = store.trips_ended(MdsHour::of(peak)).await.expect("the hour is read");
    let millis = started.elapsed().as_secs_f64() * 1000.0;
    let document = serde_json::json!({ "version": "2.0.0", "trips": read });
    let tally = tap.tally();
    MdsHourRow {
        trips_in_day: trips,
        trips_in_hour: read.len(),
        queries: tally.requests.iter().filter(|(request, _)| request.ends_with(".Query")).map(|(_, count)| count).sum(),
        read_units: tally.read_units,
        answer_bytes: tally.bytes_read,
        document_bytes: serde_json::to_vec(&document).expect("a document").len(),
        millis,
    }
}

/// A ride of a few minutes somewhere in Seoul, ending at `end`.
fn trip(ids: &MdsIds, board: &KickboardId, rental: &RentalId, end: DateTime<Utc>, random: &mut Xorshift) -> MdsTrip {
    let minutes = 3 + (random.unit() * 25.0) as i64;
    let start = end - Duration::minutes(minutes);
    let at = |random: &mut Xorshift| Gps { lat: 37.50 + random.unit() * 0.09, lng: 126.92 + random.unit() * 0.11 };
    MdsTrip {
        provider_id: ids.provider_id(),
        device_id: ids.device_id(board),
        trip_id: ids.trip_id(rental),
        trip_type: vec![TripType::Rider],
        start_time: start.timestamp_millis(),
        end_time: end.timestamp_millis(),
        start_location: at(random),
        end_location: at(random),
        duration: minutes * 60,
        distance: minutes * 250,
        parking_verification_url: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_busiest_hour_is_read_whole_from_its_shards() {
        let row = mds_hour(50, 200).await;
        assert_eq!(row.trips_in_hour, 20, "a tenth of the day, every one of them");
        assert!(row.queries >= 32, "one query a shard at least: {}", row.queries);
        assert!(row.answer_bytes as usize >= row.document_bytes / 2);
    }
}
