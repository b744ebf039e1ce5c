//! What each rule becomes: a zone's rules, a fleet cap, or the reasons it is not enforced.

use super::*;

/// What a rule becomes where rides are checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enforced {
    /// A zone over each of its geographies, with these rules.
    Zone(ZoneRules),
    /// At most `limit` available boards in each of its geographies.
    Cap { limit: u64 },
}

/// Why (part of) a rule is not enforced, for the import's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotEnforced {
    OtherMode(Mode),
    OtherProviders,
    Fee,
    TimeRule,
    UserRule,
    CountMinimum,
    SpeedMinimum,
    NoMaximum,
    /// A count of 0 over states that are not about rides (the crew's drop-offs, removed boards…).
    NotAboutRides,
    /// A count above 0 over states other than `available`.
    CapNotOverAvailable,
}

impl fmt::Display for NotEnforced {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NotEnforced::OtherMode(mode) => write!(f, "the policy governs {}, not micromobility", wire_name(mode)),
            NotEnforced::OtherProviders => f.write_str("the policy names other providers only"),
            NotEnforced::Fee => f.write_str("fees are not charged by Kickboard"),
            NotEnforced::TimeRule => f.write_str("time rules (how long a board stays) are not enforced"),
            NotEnforced::UserRule => f.write_str("user rules are not enforced"),
            NotEnforced::CountMinimum => f.write_str("a minimum number of boards is the crew's to plan, not enforced"),
            NotEnforced::SpeedMinimum => f.write_str("a minimum speed is not enforced"),
            NotEnforced::NoMaximum => f.write_str("no maximum: nothing to enforce"),
            NotEnforced::NotAboutRides => f.write_str("the states counted are not about rides: not enforced"),
            NotEnforced::CapNotOverAvailable => f.write_str("only caps on available boards are counted"),
        }
    }
}

/// A rule as compiled: what is enforced of it, and what is not and why.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleCompilation {
    pub rule_id: Uuid,
    pub rule_name: String,
    pub enforced: Option<Enforced>,
    pub not_enforced: Vec<NotEnforced>,
}

/// How each rule of `policy` is enforced for the provider `provider_id` (the mapping is in
/// the module's documentation). The import answers with it.
pub fn compile(policy: &Policy, provider_id: Uuid) -> Vec<RuleCompilation> {
    let for_everyone = if policy.mode != Mode::Micromobility {
        Some(NotEnforced::OtherMode(policy.mode))
    } else if !policy.provider_ids.is_empty() && !policy.provider_ids.contains(&provider_id) {
        Some(NotEnforced::OtherProviders)
    } else {
        None
    };
    policy
        .rules
        .iter()
        .map(|rule| {
            let (enforced, not_enforced) = match for_everyone {
                Some(reason) => (None, vec![reason]),
                None => compile_rule(rule),
            };
            RuleCompilation { rule_id: rule.rule_id, rule_name: rule.name.clone(), enforced, not_enforced }
        })
        .collect()
}

pub(super) fn compile_rule(rule: &Rule) -> (Option<Enforced>, Vec<NotEnforced>) {
    match &rule.measure {
        Measure::Count { fee: Some(_), .. }
        | Measure::Speed { fee: Some(_), .. }
        | Measure::Time { fee: Some(_), .. } => (None, vec![NotEnforced::Fee]),
        Measure::Time { .. } => (None, vec![NotEnforced::TimeRule]),
        Measure::User => (None, vec![NotEnforced::UserRule]),
        Measure::Count { bounds, fee: None } => compile_count(&rule.states, bounds),
        Measure::Speed { unit, bounds, fee: None } => {
            let minimum = bounds.requires_some().then_some(NotEnforced::SpeedMinimum).into_iter().collect();
            match bounds.maximum {
                None => (None, [NotEnforced::NoMaximum].into_iter().chain(minimum).collect()),
                Some(maximum) => {
                    // A limiter cannot tell "at" the limit from "under" it: an excluded maximum is
                    // the same limit.
                    let maximum = u64::try_from(maximum).unwrap_or(0);
                    let kph = match unit {
                        SpeedUnit::Kph => maximum,
                        SpeedUnit::Mph => maximum * 1_609_344 / 1_000_000,
                    };
                    let rules = ZoneRules {
                        maximum_speed_kph: Some(u32::try_from(kph).unwrap_or(u32::MAX)),
                        ..ZoneRules::default()
                    };
                    (Some(Enforced::Zone(rules)), minimum)
                }
            }
        }
    }
}

pub(super) fn compile_count(
    states: &BTreeMap<MdsState, Vec<MdsEventType>>,
    bounds: &Bounds,
) -> (Option<Enforced>, Vec<NotEnforced>) {
    let mut not_enforced = Vec::new();
    if bounds.requires_some() {
        not_enforced.push(NotEnforced::CountMinimum);
    }
    let enforced = match bounds.most_allowed() {
        None => {
            if not_enforced.is_empty() {
                not_enforced.push(NotEnforced::NoMaximum);
            }
            None
        }
        Some(0) => {
            let no_parking = states.iter().any(|(state, events)| {
                state.is_parked() && (events.is_empty() || events.contains(&MdsEventType::TripEnd))
            });
            let riding = states.get(&MdsState::OnTrip);
            let no_start = riding.is_some();
            let no_riding = riding.is_some_and(|events| events.as_slice() != [MdsEventType::TripStart]);
            if !(no_parking || no_start) {
                not_enforced.push(NotEnforced::NotAboutRides);
                None
            } else {
                Some(Enforced::Zone(ZoneRules {
                    ride_start_allowed: !no_start,
                    ride_end_allowed: !no_parking,
                    ride_through_allowed: !no_riding,
                    maximum_speed_kph: None,
                }))
            }
        }
        Some(limit) if states.contains_key(&MdsState::Available) => Some(Enforced::Cap { limit }),
        Some(_) => {
            not_enforced.push(NotEnforced::CapNotOverAvailable);
            None
        }
    };
    (enforced, not_enforced)
}
