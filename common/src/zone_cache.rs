//! This instance's zones, ready to answer for a place: kept between requests and read again
//! when the store's zones version moves.

use crate::domain::zones::ZoneMap;
use crate::ports::{PortResult, ZoneStore};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

/// This instance's zones, ready to answer for a place.
pub struct ZoneCache {
    check_every: Duration,
    /// Held only to copy or replace the entry, never across a read of the store: rents and
    /// returns at once must not queue behind one another's zone check.
    latest: RwLock<Option<(Instant, Arc<ZoneMap>)>>,
}

impl ZoneCache {
    /// A cache that asks the store for its version at most every `check_every`.
    pub fn new(check_every: Duration) -> Self {
        Self { check_every, latest: RwLock::new(None) }
    }

    /// The zones as of at most `check_every` ago; read again only when their version moved.
    /// Two requests that find the entry stale at once may both read the store: harmless, and
    /// cheaper than making every other request wait for one of them.
    pub async fn current(&self, store: &dyn ZoneStore) -> PortResult<Arc<ZoneMap>> {
        let cached = self.latest.read().unwrap_or_else(PoisonError::into_inner).clone();
        if let Some((checked, map)) = &cached
            && checked.elapsed() < self.check_every
        {
            return Ok(Arc::clone(map));
        }
        let version = store.zones_version().await?;
        let map = match cached {
            Some((_, map)) if map.version() == version => map,
            _ => Arc::new(ZoneMap::new(store.zone_set().await?)),
        };
        *self.latest.write().unwrap_or_else(PoisonError::into_inner) = Some((Instant::now(), Arc::clone(&map)));
        Ok(map)
    }
}

/// The zones a handler reads: the store and this instance's cache of it.
#[derive(Clone, Copy)]
pub struct Geofence<'a> {
    pub store: &'a dyn ZoneStore,
    pub cache: &'a ZoneCache,
}

impl Geofence<'_> {
    pub async fn map(&self) -> PortResult<Arc<ZoneMap>> {
        self.cache.current(self.store).await
    }
}
