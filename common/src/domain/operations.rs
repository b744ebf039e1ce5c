//! The operators' day: rides ended, minutes billed and money taken, by the city's calendar
//! day, counted from the events that say so.

use super::events::{DomainEvent, EventEnvelope};
use chrono::NaiveDate;
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

/// What a day counts, or what one event adds to it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DayFigures {
    pub rides_ended: u64,
    pub minutes_billed: u64,
    /// Passes paid, in won.
    pub revenue_won: u64,
}

impl DayFigures {
    pub fn plus(self, other: DayFigures) -> DayFigures {
        DayFigures {
            rides_ended: self.rides_ended + other.rides_ended,
            minutes_billed: self.minutes_billed + other.minutes_billed,
            revenue_won: self.revenue_won + other.revenue_won,
        }
    }
}

/// The city's day an event counts in, and what it adds: a return, one ride and its billed
/// minutes on the day it ended; a payment, its price on the day it was paid. `None` for
/// events that count nothing (and for payments from before events carried their price).
pub fn day_figures_of(envelope: &EventEnvelope, city: Tz) -> Option<(NaiveDate, DayFigures)> {
    let (at, figures) = match &envelope.event {
        DomainEvent::KickboardReturned { ended_at, minutes_billed, .. } => (
            *ended_at,
            DayFigures { rides_ended: 1, minutes_billed: u64::from(*minutes_billed), ..DayFigures::default() },
        ),
        DomainEvent::PassPaid { price_won: Some(price), .. } => {
            (envelope.occurred_at, DayFigures { revenue_won: price.0, ..DayFigures::default() })
        }
        _ => return None,
    };
    Some((at.with_timezone(&city).date_naive(), figures))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::{KickboardId, PassId, PaymentId, RentalId};
    use crate::domain::pass::{PassBalance, PassStatus};
    use crate::domain::plan::Won;
    use chrono::{DateTime, Utc};

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
    }

    fn balance() -> PassBalance {
        PassBalance {
            pass_id: PassId::random(),
            status: PassStatus::Active,
            minutes_total: 60,
            minutes_left: 48,
            minutes_used: 12,
            overage_minutes: 0,
            version: 3,
            expires_at: None,
        }
    }

    fn returned(ended_at: DateTime<Utc>) -> EventEnvelope {
        let event = DomainEvent::KickboardReturned {
            rental_id: RentalId::random(),
            pass_id: PassId::random(),
            kickboard_id: KickboardId::try_from("kb-1").unwrap(),
            started_at: ended_at - chrono::Duration::minutes(12),
            ended_at,
            minutes_billed: 12,
            overage_minutes: 0,
            balance: balance(),
            start_location: None,
            end_location: None,
            ridden_m: None,
            track: Default::default(),
        };
        EventEnvelope::new(ended_at, "r".into(), 1, None, event)
    }

    #[test]
    fn a_ride_counts_on_the_citys_day_it_ended() {
        // 23:30 UTC on the 6th is 08:30 on the 7th in Seoul.
        let (day, figures) = day_figures_of(&returned(at("2026-12-06T23:30:00Z")), chrono_tz::Asia::Seoul).unwrap();
        assert_eq!(day, NaiveDate::from_ymd_opt(2026, 12, 7).unwrap());
        assert_eq!(figures, DayFigures { rides_ended: 1, minutes_billed: 12, revenue_won: 0 });
        let (day, _) = day_figures_of(&returned(at("2026-12-06T23:30:00Z")), chrono_tz::UTC).unwrap();
        assert_eq!(day, NaiveDate::from_ymd_opt(2026, 12, 6).unwrap());
    }

    #[test]
    fn a_payment_counts_its_price_and_an_old_one_nothing() {
        let paid = |price_won| {
            let event = DomainEvent::PassPaid {
                balance: balance(),
                payment_id: PaymentId::random(),
                expires_at: at("2026-12-08T00:00:00Z"),
                price_won,
            };
            EventEnvelope::new(at("2026-12-07T03:00:00Z"), "p".into(), 2, None, event)
        };
        let (_, figures) = day_figures_of(&paid(Some(Won(5_000))), chrono_tz::Asia::Seoul).unwrap();
        assert_eq!(figures.revenue_won, 5_000);
        assert_eq!(day_figures_of(&paid(None), chrono_tz::Asia::Seoul), None);
        let total = figures.plus(figures);
        assert_eq!(total.revenue_won, 10_000);
    }
}
