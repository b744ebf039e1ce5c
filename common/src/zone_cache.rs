//! This instance's zones, ready to answer for a place at an instant: kept between requests, read
//! again when the store's zones version moves, and placed anew when a city rule's window opens
//! or closes.

use crate::domain::mds_policy::CityRules;
use crate::domain::zones::{ZoneMap, ZoneSet};
use crate::ports::{PortError, PortResult, ZoneStore};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};
use uuid::Uuid;

/// Whose rules the city's documents are compiled for, and in which time zone their times are.
#[derive(Debug, Clone, Copy)]
pub struct CityContext {
    pub time_zone: Tz,
    pub provider_id: Uuid,
}

/// The zones of one version of the store, and the map in force over a span of time.
#[derive(Clone)]
struct Cached {
    checked: Instant,
    set: Arc<ZoneSet>,
    city: Arc<CityRules>,
    /// The map, and the span it holds for: from when it was placed until the next change of
    /// the city's rules (`None`: none ahead).
    map: Arc<ZoneMap>,
    placed_at: DateTime<Utc>,
    until: Option<DateTime<Utc>>,
}

impl Cached {
    /// Whether the map is the one in force at `at`. Without city rules it always is; with them,
    /// between when it was placed and the next change (a clock set back places it anew).
    fn holds_at(&self, at: DateTime<Utc>) -> bool {
        self.city.is_empty() || (at >= self.placed_at && self.until.is_none_or(|until| at < until))
    }
}

/// This instance's zones, ready to answer for a place.
pub struct ZoneCache {
    check_every: Duration,
    context: CityContext,
    /// Held only to copy or replace the entry, never across a read of the store: rents and
    /// returns at once must not queue behind one another's zone check.
    latest: RwLock<Option<Arc<Cached>>>,
}

impl ZoneCache {
    /// A cache that asks the store for its version at most every `check_every`.
    pub fn new(check_every: Duration, context: CityContext) -> Self {
        Self { check_every, context, latest: RwLock::new(None) }
    }

    /// The zones in force at `at`, as of at most `check_every` ago; the store is read again only
    /// when its version moved, and the map placed anew only when the city's rules changed since
    /// it was. Two requests that find the entry stale at once may both read the store: harmless,
    /// and cheaper than making every other request wait for one of them.
    pub async fn current(&self, store: &dyn ZoneStore, at: DateTime<Utc>) -> PortResult<Arc<ZoneMap>> {
        let cached = self.latest.read().unwrap_or_else(PoisonError::into_inner).clone();
        let recent = cached.as_ref().is_some_and(|cached| cached.checked.elapsed() < self.check_every);
        if let Some(cached) = &cached
            && recent
            && cached.holds_at(at)
        {
            return Ok(Arc::clone(&cached.map));
        }
        // The version this instance holds, unless the store moved on.
        let kept = match cached {
            Some(cached) if recent => Some((cached.checked, cached)),
            Some(cached) if cached.set.version == store.zones_version().await? => Some((Instant::now(), cached)),
            _ => None,
        };
        let entry = match kept {
            Some((checked, cached)) if cached.holds_at(at) => Cached { checked, ..Cached::clone(&cached) },
            Some((checked, cached)) => Self::place(Arc::clone(&cached.set), Arc::clone(&cached.city), checked, at),
            None => {
                let set = store.zone_set().await?;
                let city = CityRules::of_documents(&set.city, self.context.time_zone, self.context.provider_id)
                    .map_err(|error| PortError::Unavailable(format!("a stored city document: {error}")))?;
                Self::place(Arc::new(set), Arc::new(city), Instant::now(), at)
            }
        };
        let map = Arc::clone(&entry.map);
        *self.latest.write().unwrap_or_else(PoisonError::into_inner) = Some(Arc::new(entry));
        Ok(map)
    }

    /// The map of `set` with the city's rules in force at `at`, until they next change.
    fn place(set: Arc<ZoneSet>, city: Arc<CityRules>, checked: Instant, at: DateTime<Utc>) -> Cached {
        let until = city.next_change_after(at);
        let map = Arc::new(ZoneMap::with_city(ZoneSet::clone(&set), city.city_zones_at(at)).holding_until(until));
        Cached { checked, set, city, map, placed_at: at, until }
    }
}

/// The zones a handler reads: the store and this instance's cache of it.
#[derive(Clone, Copy)]
pub struct Geofence<'a> {
    pub store: &'a dyn ZoneStore,
    pub cache: &'a ZoneCache,
}

impl Geofence<'_> {
    /// The zones in force at `at`.
    pub async fn map(&self, at: DateTime<Utc>) -> PortResult<Arc<ZoneMap>> {
        self.cache.current(self.store, at).await
    }
}
