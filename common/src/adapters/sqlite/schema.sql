-- Kickboard's embedded store. Records are kept as JSON documents (the same serde shape the
-- DynamoDB adapter stores), with the columns that queries filter on beside them.
PRAGMA journal_mode = WAL;
PRAGMA synchronous = NORMAL;

CREATE TABLE IF NOT EXISTS passes (
    pass_id     TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL,
    item        TEXT NOT NULL
) STRICT;

-- `cell` is the board's geohash cell (6 characters, about 1.2 km × 0.6 km): a nearby search
-- reads only the cells around its centre, whatever the size of the fleet, and only the rows
-- the index shows inside the search's box.
CREATE TABLE IF NOT EXISTS kickboards (
    kickboard_id TEXT PRIMARY KEY,
    status       TEXT NOT NULL,
    lat          REAL NOT NULL,
    lon          REAL NOT NULL,
    cell         TEXT NOT NULL,
    item         TEXT NOT NULL
) STRICT;
DROP INDEX IF EXISTS kickboards_by_status_lat;
DROP INDEX IF EXISTS kickboards_by_status_cell;
CREATE INDEX IF NOT EXISTS kickboards_by_status_cell_position ON kickboards (status, cell, lat, lon);

-- `rider_sk` is the rental's place in its customer's history (`RentalPosition`): start
-- time at a fixed width, then id, so a customer's rides read newest first off the index.
CREATE TABLE IF NOT EXISTS rentals (
    rental_id   TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL,
    rider_sk    TEXT NOT NULL,
    item        TEXT NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS rentals_by_rider ON rentals (customer_id, rider_sk);

-- The transactional outbox: written in the same transaction as the state it describes.
CREATE TABLE IF NOT EXISTS outbox (
    position    INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id    TEXT NOT NULL UNIQUE,
    detail_type TEXT NOT NULL,
    item        TEXT NOT NULL
) STRICT;

-- How far each subscriber's relay has delivered the outbox.
CREATE TABLE IF NOT EXISTS relay_cursors (
    subscriber TEXT PRIMARY KEY,
    position   INTEGER NOT NULL
) STRICT;

CREATE TABLE IF NOT EXISTS contacts (
    customer_id TEXT PRIMARY KEY,
    item        TEXT NOT NULL
) STRICT;

-- Verified driving licences (`domain::licence::Licence`): no number, name or birth date.
CREATE TABLE IF NOT EXISTS licences (
    customer_id TEXT PRIMARY KEY,
    item        TEXT NOT NULL
) STRICT;

-- Each customer's licence verifications in progress and failed (`LicenceChecks`).
CREATE TABLE IF NOT EXISTS licence_checks (
    customer_id TEXT PRIMARY KEY,
    item        TEXT NOT NULL
) STRICT;

-- The balance read model, fed only by events.
CREATE TABLE IF NOT EXISTS balance_view (
    pass_id     TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL,
    version     INTEGER NOT NULL,
    updated_at  TEXT NOT NULL,
    item        TEXT NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS balance_view_by_customer ON balance_view (customer_id);

-- The notifier's ledger: one row per (event, channel) claimed or sent, so a redelivery
-- sends only what did not go out; channel 'none' records an event that alerted no one.
CREATE TABLE IF NOT EXISTS alert_ledger (
    event_id       TEXT NOT NULL,
    channel        TEXT NOT NULL,
    customer_id    TEXT NOT NULL,
    state          TEXT NOT NULL,
    claim_token    TEXT,
    lease_until_ms INTEGER,
    reason         TEXT,
    updated_at     TEXT NOT NULL,
    PRIMARY KEY (event_id, channel)
) STRICT;

-- Circuit breaker states, shared by everything that pays.
CREATE TABLE IF NOT EXISTS breakers (
    name    TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    item    TEXT NOT NULL
) STRICT;

-- Calls and failures per breaker and time bucket: each outcome one atomic addition, so
-- recording never rewrites the breaker's state.
CREATE TABLE IF NOT EXISTS breaker_counts (
    name      TEXT NOT NULL,
    bucket_ms INTEGER NOT NULL,
    calls     INTEGER NOT NULL,
    failures  INTEGER NOT NULL,
    PRIMARY KEY (name, bucket_ms)
) STRICT;

-- Answers to requests that carried an Idempotency-Key, written with the write they guard.
CREATE TABLE IF NOT EXISTS idempotency (
    scope TEXT PRIMARY KEY,
    item  TEXT NOT NULL
) STRICT;

-- Zones (geofencing): one row each, and the global rules and the zones' version (added to by
-- every zone write, so caches see a change by reading one number) in `zone_settings`.
CREATE TABLE IF NOT EXISTS zones (
    zone_id TEXT PRIMARY KEY,
    item    TEXT NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS zone_settings (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;

-- Commands sent to vehicles, settled by their acknowledgements.
CREATE TABLE IF NOT EXISTS commands (
    command_id   TEXT PRIMARY KEY,
    kickboard_id TEXT NOT NULL,
    item         TEXT NOT NULL
) STRICT;

-- The cities' view (MDS Provider API): vehicle events and trips, each kept once under the UTC
-- hour an agency asks for it by (an event's own, a trip's end).
CREATE TABLE IF NOT EXISTS mds_records (
    kind      TEXT NOT NULL,
    record_id TEXT NOT NULL,
    hour      TEXT NOT NULL,
    at_ms     INTEGER NOT NULL,
    item      TEXT NOT NULL,
    PRIMARY KEY (kind, record_id)
) STRICT;
CREATE INDEX IF NOT EXISTS mds_records_by_hour ON mds_records (kind, hour, at_ms);

-- The trips the cities' monthly reports count, each once, under the month (the city's) it began.
CREATE TABLE IF NOT EXISTS mds_reported_trips (
    trip_id TEXT PRIMARY KEY,
    month   TEXT NOT NULL,
    item    TEXT NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS mds_reported_trips_by_month ON mds_reported_trips (month);

-- Each vehicle's latest state in the cities' view: replaced only by a later one.
CREATE TABLE IF NOT EXISTS mds_devices (
    device_id TEXT PRIMARY KEY,
    at_ms     INTEGER NOT NULL,
    event_id  TEXT NOT NULL,
    item      TEXT NOT NULL
) STRICT;

-- The crew's alerts, each once, newest read first by the operators' console.
CREATE TABLE IF NOT EXISTS crew_alerts (
    alert_id    TEXT PRIMARY KEY,
    occurred_ms INTEGER NOT NULL,
    item        TEXT NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS crew_alerts_by_time ON crew_alerts (occurred_ms);

-- The operators' figures of each city day, and the events counted in them (kept a few days,
-- longer than any redelivery, so an event is counted once).
CREATE TABLE IF NOT EXISTS day_figures (
    day            TEXT PRIMARY KEY,
    rides_ended    INTEGER NOT NULL,
    minutes_billed INTEGER NOT NULL,
    revenue_won    INTEGER NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS day_counted_events (
    event_id TEXT PRIMARY KEY,
    day      TEXT NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS day_counted_events_by_day ON day_counted_events (day);

-- A city's MDS documents (Geography, Policy) as imported: never changed once kept.
CREATE TABLE IF NOT EXISTS city_documents (
    kind     TEXT NOT NULL,
    id       TEXT NOT NULL,
    document TEXT NOT NULL,
    PRIMARY KEY (kind, id)
) STRICT;

-- Which of the city's fleet caps the crew was told are over (1) or are within (0).
CREATE TABLE IF NOT EXISTS cap_marks (
    cap  TEXT PRIMARY KEY,
    over INTEGER NOT NULL
) STRICT;
