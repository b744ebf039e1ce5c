//! The city's rules at an instant: the zones and caps in force, the documents as kept, and how
//! the fleet stands against the caps.

use super::*;

/// When a compiled rule holds.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Reach {
    /// The policy's dates (until superseded) within the geography's.
    pub(super) period: Period,
    pub(super) window: RuleWindow,
}

impl Reach {
    pub(super) fn holds_at(&self, at: DateTime<Utc>, zone: Tz) -> bool {
        self.period.contains(at) && self.window.contains(at, zone)
    }

    /// The instants after `at` it may start or stop holding.
    pub(super) fn edges_after(&self, at: DateTime<Utc>, zone: Tz) -> impl Iterator<Item = DateTime<Utc>> {
        let windows_from = at.max(self.period.from);
        let dates = [Some(self.period.from), self.period.until].into_iter().flatten();
        dates.chain(self.window.edges_from(windows_from, zone)).filter(move |edge| *edge > at)
    }
}

/// A policy rule over one geography, compiled into a zone's rules.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyZone {
    pub policy_id: Uuid,
    pub policy_name: String,
    pub rule_id: Uuid,
    pub rule_name: String,
    pub geography_id: Uuid,
    pub geometry: ZoneGeometry,
    pub rules: ZoneRules,
    pub boards: BoardFilter,
    pub(super) messages: BTreeMap<String, String>,
    pub(super) reach: Reach,
}

impl PolicyZone {
    /// The refusal's text for a rider reading `language`, if the rule has messages.
    pub fn message(&self, language: &str) -> Option<&str> {
        message_in(&self.messages, language)
    }

    /// The zone `ZoneMap` places: id `mds:` and a UUID v5 of the rule and geography (stable
    /// across imports), named by the rule.
    pub fn to_zone(&self, priority: i32, updated_at: DateTime<Utc>) -> Zone {
        let zone_id = ZoneId::try_from(format!("mds:{}", Uuid::new_v5(&self.rule_id, self.geography_id.as_bytes())))
            .expect("mds: and a UUID is an id");
        let short_name: String = self.rule_name.chars().take(128).collect();
        let name = ZoneName::try_from(short_name)
            .or_else(|_| ZoneName::try_from(format!("MDS rule {}", self.rule_id)))
            .expect("a UUID names a zone");
        Zone { zone_id, name, priority, geometry: self.geometry.clone(), rules: self.rules, updated_at }
    }
}

/// A cap on a policy rule's geography: at most `limit` available boards (of those the rule
/// names), counted against the fleet elsewhere.
#[derive(Debug, Clone, PartialEq)]
pub struct FleetCap {
    pub policy_id: Uuid,
    pub rule_id: Uuid,
    pub rule_name: String,
    pub geography_id: Uuid,
    pub geometry: ZoneGeometry,
    pub limit: u64,
    /// The boards that count.
    pub boards: BoardFilter,
    pub(super) reach: Reach,
}

/// The city's policies compiled for one provider, in the city's time zone: what holds at any
/// instant.
#[derive(Debug, Clone)]
pub struct CityRules {
    pub(super) zone: Tz,
    pub(super) zones: Vec<PolicyZone>,
    pub(super) caps: Vec<FleetCap>,
}

impl CityRules {
    /// Compiles `policies` over `geographies` for `provider_id`, rule times read in `zone`. A
    /// policy stops applying when a policy naming it in `prev_policies` starts. Refuses a policy
    /// naming a geography not given (the store is inconsistent: nothing is left out silently).
    pub fn new(
        policies: &[Policy],
        geographies: &[Geography],
        zone: Tz,
        provider_id: Uuid,
    ) -> Result<Self, MdsDocumentError> {
        let mut city = Self { zone, zones: Vec::new(), caps: Vec::new() };
        for policy in policies {
            check_references(policy, geographies)
                .map_err(|error| refused(format!("policy {}: {}", policy.policy_id, error.path), error.reason))?;
            let superseded = policies
                .iter()
                .filter(|newer| newer.prev_policies.contains(&policy.policy_id))
                .map(|newer| newer.in_force.from)
                .min();
            let Some(in_force) = policy.in_force.within(&Period { from: policy.in_force.from, until: superseded })
            else {
                continue;
            };
            for (rule, compiled) in policy.rules.iter().zip(compile(policy, provider_id)) {
                let Some(enforced) = compiled.enforced else { continue };
                for geography in
                    geographies.iter().filter(|geography| rule.geographies.contains(&geography.geography_id))
                {
                    let Some(period) = in_force.within(&geography.live) else { continue };
                    let reach = Reach { period, window: rule.window.clone() };
                    match enforced {
                        Enforced::Zone(rules) => city.zones.push(PolicyZone {
                            policy_id: policy.policy_id,
                            policy_name: policy.name.clone(),
                            rule_id: rule.rule_id,
                            rule_name: rule.name.clone(),
                            geography_id: geography.geography_id,
                            geometry: geography.area.clone(),
                            rules,
                            boards: rule.boards.clone(),
                            messages: rule.messages.clone(),
                            reach,
                        }),
                        Enforced::Cap { limit } => city.caps.push(FleetCap {
                            policy_id: policy.policy_id,
                            rule_id: rule.rule_id,
                            rule_name: rule.name.clone(),
                            geography_id: geography.geography_id,
                            geometry: geography.area.clone(),
                            limit,
                            boards: rule.boards.clone(),
                            reach,
                        }),
                    }
                }
            }
        }
        Ok(city)
    }

    /// The policy zones in force at `at` for a board of `kind`.
    pub fn zones_at(&self, at: DateTime<Utc>, kind: &VehicleType) -> Vec<&PolicyZone> {
        self.zones.iter().filter(|zone| zone.boards.admits(kind) && zone.reach.holds_at(at, self.zone)).collect()
    }

    /// The caps in force at `at`.
    pub fn caps_at(&self, at: DateTime<Utc>) -> Vec<&FleetCap> {
        self.caps.iter().filter(|cap| cap.reach.holds_at(at, self.zone)).collect()
    }

    /// Which zones and caps hold at `at`, whatever the board.
    pub(super) fn holding_at(&self, at: DateTime<Utc>) -> Vec<bool> {
        let zones = self.zones.iter().map(|zone| &zone.reach);
        zones.chain(self.caps.iter().map(|cap| &cap.reach)).map(|reach| reach.holds_at(at, self.zone)).collect()
    }

    /// The first instant after `at` when a zone or cap starts or stops holding (a window
    /// opening or closing, a policy or geography starting or ending): how long what holds at
    /// `at` may be published for. `None`: nothing ever changes.
    pub fn next_change_after(&self, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let reaches = self.zones.iter().map(|zone| &zone.reach).chain(self.caps.iter().map(|cap| &cap.reach));
        let edges: BTreeSet<DateTime<Utc>> = reaches.flat_map(|reach| reach.edges_after(at, self.zone)).collect();
        // A window closing as the next day's opens, or one opening before its policy starts,
        // changes nothing.
        edges.into_iter().find(|edge| self.holding_at(*edge - Duration::milliseconds(1)) != self.holding_at(*edge))
    }
}

/// Which MDS document a city published.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum CityDocumentKind {
    Geography,
    Policy,
}

/// An MDS document as a city published it and an admin imported it: kept as given, so it reads
/// back the same, and parsed again wherever its rules are compiled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CityDocument {
    pub kind: CityDocumentKind,
    pub id: Uuid,
    pub document: serde_json::Value,
}

impl CityDocument {
    /// The document's `ZoneChanged`-like event: the zones in force changed.
    pub fn imported(&self, now: DateTime<Utc>) -> EventEnvelope {
        let event = DomainEvent::CityDocumentImported { kind: self.kind, id: self.id };
        EventEnvelope::versioned_by_time(now, format!("{}:{}", self.kind.name(), self.id), None, event)
    }
}

impl CityDocumentKind {
    pub fn name(self) -> &'static str {
        match self {
            CityDocumentKind::Geography => "geography",
            CityDocumentKind::Policy => "policy",
        }
    }
}

/// The stored documents parsed: their policies and their geographies. A fault names the
/// document it is in.
pub fn parse_documents(documents: &[CityDocument]) -> Result<(Vec<Policy>, Vec<Geography>), MdsDocumentError> {
    let (mut policies, mut geographies) = (Vec::new(), Vec::new());
    for stored in documents {
        let at = |error: MdsDocumentError| {
            refused(format!("{} {}: {}", stored.kind.name(), stored.id, error.path), error.reason)
        };
        match stored.kind {
            CityDocumentKind::Geography => geographies.push(Geography::parse(stored.document.clone()).map_err(at)?),
            CityDocumentKind::Policy => policies.push(Policy::parse(stored.document.clone()).map_err(at)?),
        }
    }
    Ok((policies, geographies))
}

impl CityRules {
    /// The rules of the stored documents (each parsed again: they were checked at import).
    pub fn of_documents(documents: &[CityDocument], zone: Tz, provider_id: Uuid) -> Result<Self, MdsDocumentError> {
        let (policies, geographies) = parse_documents(documents)?;
        Self::new(&policies, &geographies, zone, provider_id)
    }

    /// Whether no rule of the city is compiled (none imported, or none Kickboard enforces).
    pub fn is_empty(&self) -> bool {
        self.zones.is_empty() && self.caps.is_empty()
    }

    /// The city's zones in force at `at`, as the zone map places them. Those for some board of
    /// the catalogue: its types are all standing electric scooters, so a rule applies to all of
    /// them or to none (a test holds the catalogue to that).
    pub fn city_zones_at(&self, at: DateTime<Utc>) -> Vec<CityZone> {
        self.zones
            .iter()
            .filter(|zone| vehicle_types().iter().any(|kind| zone.boards.admits(kind)))
            .filter(|zone| zone.reach.holds_at(at, self.zone))
            .map(|zone| CityZone {
                zone: zone.to_zone(i32::MIN, at),
                rule: format!("policy {} ({}), rule {}", zone.policy_name, zone.policy_id, zone.rule_name),
                messages: zone.messages.clone(),
            })
            .collect()
    }
}

/// A fleet cap in force, and the boards it counts now.
#[derive(Debug, Clone, PartialEq)]
pub struct CapStanding<'a> {
    pub cap: &'a FleetCap,
    /// Available boards (of those the rule names) inside the cap's geography.
    pub count: u64,
    /// Of those, the one that reported last: where the crew may start.
    pub latest: Option<&'a Kickboard>,
}

impl CapStanding<'_> {
    /// Whether the fleet keeps within the cap.
    pub fn met(&self) -> bool {
        self.count <= self.cap.limit
    }

    /// The cap's key among the marks of which caps the crew was told are over.
    pub fn key(&self) -> String {
        format!("{}/{}", self.cap.rule_id, self.cap.geography_id)
    }

    /// `FleetCapExceeded`, when the cap is not met.
    pub fn exceeded(&self, now: DateTime<Utc>) -> Option<EventEnvelope> {
        let latest = self.latest.filter(|_| !self.met())?;
        let event = DomainEvent::FleetCapExceeded {
            policy_id: self.cap.policy_id,
            rule_id: self.cap.rule_id,
            rule_name: self.cap.rule_name.clone(),
            geography_id: self.cap.geography_id,
            limit: self.cap.limit,
            count: self.count,
            kickboard_id: latest.kickboard_id.clone(),
            location: latest.location,
        };
        Some(EventEnvelope::versioned_by_time(now, format!("cap:{}", self.key()), None, event))
    }
}

impl CityRules {
    /// Each cap in force at `at`, with the available boards of `fleet` inside its geography
    /// (its edge included, as zones count it).
    pub fn cap_standings<'a>(&'a self, at: DateTime<Utc>, fleet: &'a [Kickboard]) -> Vec<CapStanding<'a>> {
        let available: Vec<&Kickboard> =
            fleet.iter().filter(|board| board.status() == KickboardStatus::Available).collect();
        self.caps_at(at)
            .into_iter()
            .map(|cap| {
                // A kept geography was checked when imported: its area is valid.
                let area = cap.geometry.validate().unwrap_or_else(|_| MultiPolygon::new(Vec::new()));
                let counted: Vec<&Kickboard> = available
                    .iter()
                    .filter(|board| {
                        find_vehicle_type(&board.vehicle_type_id).is_some_and(|kind| cap.boards.admits(kind))
                    })
                    .filter(|board| area.intersects(&Coord { x: board.location.lon(), y: board.location.lat() }))
                    .copied()
                    .collect();
                let latest =
                    counted.iter().copied().max_by_key(|board| (board.last_reported_at(), &board.kickboard_id));
                CapStanding { cap, count: u64::try_from(counted.len()).unwrap_or(u64::MAX), latest }
            })
            .collect()
    }
}
