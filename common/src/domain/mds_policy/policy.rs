//! A Policy read from its document: its rules, their bounds, boards and weekly windows, and
//! the checks within one document.

use super::*;

/// A policy, checked: its rules are consistent with each other, whatever geographies exist
/// ([`check_references`] checks those).
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    pub policy_id: Uuid,
    pub name: String,
    pub description: String,
    pub mode: Mode,
    /// Empty: every provider.
    pub provider_ids: Vec<Uuid>,
    pub currency: Option<String>,
    /// `start_date` until `end_date`.
    pub in_force: Period,
    pub published: DateTime<Utc>,
    pub prev_policies: Vec<Uuid>,
    pub rules: Vec<Rule>,
}

/// One rule of a policy.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub rule_id: Uuid,
    pub name: String,
    pub measure: Measure,
    /// At least one.
    pub geographies: Vec<Uuid>,
    /// Each state, and the events that bring a board into it (empty: any).
    pub states: BTreeMap<MdsState, Vec<MdsEventType>>,
    pub boards: BoardFilter,
    pub window: RuleWindow,
    /// By language tag.
    pub messages: BTreeMap<String, String>,
    pub value_url: Option<String>,
}

/// What a rule measures, in the units its type admits.
#[derive(Debug, Clone, PartialEq)]
pub enum Measure {
    /// Boards (`rule_units: devices`).
    Count {
        bounds: Bounds,
        fee: Option<Fee>,
    },
    Speed {
        unit: SpeedUnit,
        bounds: Bounds,
        fee: Option<Fee>,
    },
    Time {
        unit: TimeUnit,
        bounds: Bounds,
        fee: Option<Fee>,
    },
    /// A rule for riders (an age, a licence): no units, bounds or fee.
    User,
}

/// A rule's `minimum` and `maximum`, each in bounds or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounds {
    pub minimum: i64,
    pub inclusive_minimum: bool,
    /// `None`: no maximum.
    pub maximum: Option<i64>,
    pub inclusive_maximum: bool,
}

impl Bounds {
    /// The most whole units in bounds (a maximum excluded is one less), never below 0.
    pub(super) fn most_allowed(&self) -> Option<u64> {
        let most = self.maximum.map(|maximum| if self.inclusive_maximum { maximum } else { maximum - 1 });
        most.map(|most| u64::try_from(most).unwrap_or(0))
    }

    /// Whether some number above 0 is required (`minimum` 1 or more, or 0 excluded).
    pub(super) fn requires_some(&self) -> bool {
        self.minimum > 0 || (self.minimum == 0 && !self.inclusive_minimum)
    }
}

/// A rule's fee: `rate_amount` in the policy's currency (MDS: USD cents if none).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fee {
    pub amount: i64,
    pub recurrence: Option<RateRecurrence>,
    pub applies_when: RateAppliesWhen,
}

/// The boards a rule names: `vehicle_types` and `propulsion_types`, empty for all.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BoardFilter {
    pub vehicle_types: Vec<MdsVehicleKind>,
    pub propulsion_types: Vec<MdsPropulsion>,
}

impl BoardFilter {
    /// Whether a board of Kickboard's `kind` is one of them.
    pub fn admits(&self, kind: &VehicleType) -> bool {
        let vehicle_type = match kind.form_factor {
            FormFactor::ScooterStanding => MdsVehicleKind::ScooterStanding,
        };
        let propulsion = match kind.propulsion {
            Propulsion::Electric => MdsPropulsion::Electric,
        };
        (self.vehicle_types.is_empty() || self.vehicle_types.contains(&vehicle_type))
            && (self.propulsion_types.is_empty() || self.propulsion_types.contains(&propulsion))
    }

    /// Whether some board could be named by both.
    pub(super) fn meets(&self, other: &BoardFilter) -> bool {
        fn share<T: PartialEq>(a: &[T], b: &[T]) -> bool {
            a.is_empty() || b.is_empty() || a.iter().any(|item| b.contains(item))
        }
        share(&self.vehicle_types, &other.vehicle_types) && share(&self.propulsion_types, &other.propulsion_types)
    }
}

pub(super) const DAY_SECONDS: u32 = 24 * 3600;
pub(super) const WEEK_SECONDS: u32 = 7 * DAY_SECONDS;

/// When in the week a rule applies, in the city's local time: on each of its days (all if the
/// rule lists none) from `start_time` through `end_time`, that last second included (MDS's
/// default 00:00:00–23:59:59 is the whole day). A `start_time` after the `end_time` is a window
/// across midnight: 22:00:00–06:00:00 on a Friday applies from 22:00 on Friday to 06:00:00
/// on Saturday, whatever Saturday's own days say: the day listed is the day the window opens.
/// Equal times are refused (a whole day, nothing or one second: MDS does not say).
/// A local time the clocks skip is read with the offset before the skip; one they repeat, at
/// its first occurrence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleWindow {
    /// Indexed from Sunday.
    pub(super) days: [bool; 7],
    /// Seconds since local midnight.
    pub(super) start: u32,
    /// Seconds since local midnight of the opening day, excluded: after `start`, at most two days.
    pub(super) end: u32,
}

impl RuleWindow {
    pub(super) fn new(days: &[Day], start: TimeOfDay, end: TimeOfDay) -> Option<Self> {
        let mut open_on = [days.is_empty(); 7];
        for day in days {
            open_on[Weekday::from(*day).num_days_from_sunday() as usize] = true;
        }
        let end = match end.0.cmp(&start.0) {
            std::cmp::Ordering::Equal => return None,
            std::cmp::Ordering::Greater => end.0 + 1,
            std::cmp::Ordering::Less => DAY_SECONDS + end.0 + 1,
        };
        Some(Self { days: open_on, start: start.0, end })
    }

    /// The spans of the week it covers, in seconds from Sunday 00:00 local, a span past
    /// Saturday midnight wrapping to Sunday.
    pub(super) fn weekly_spans(&self) -> Vec<(u32, u32)> {
        let mut spans = Vec::new();
        for day in (0..7u32).filter(|day| self.days[*day as usize]) {
            let (start, end) = (day * DAY_SECONDS + self.start, day * DAY_SECONDS + self.end);
            if end <= WEEK_SECONDS {
                spans.push((start, end));
            } else {
                spans.extend([(start, WEEK_SECONDS), (0, end - WEEK_SECONDS)]);
            }
        }
        spans
    }

    /// Whether some moment of the week is in both.
    pub(super) fn overlaps(&self, other: &RuleWindow) -> bool {
        let theirs = other.weekly_spans();
        self.weekly_spans().iter().any(|(start, end)| theirs.iter().any(|(s, e)| start < e && s < end))
    }

    /// The window opening on local `day`, if it opens that day.
    pub(super) fn on(&self, day: NaiveDate, zone: Tz) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        let opens = self.days[day.weekday().num_days_from_sunday() as usize];
        opens.then(|| (local_instant(day, self.start, zone), local_instant(day, self.end, zone)))
    }

    pub(super) fn contains(&self, at: DateTime<Utc>, zone: Tz) -> bool {
        let today = at.with_timezone(&zone).date_naive();
        // Yesterday's window may still be open past midnight.
        [today.pred_opt(), Some(today)]
            .into_iter()
            .flatten()
            .filter_map(|day| self.on(day, zone))
            .any(|(opens, closes)| opens <= at && at < closes)
    }

    /// Every opening and closing of the windows opening from the day before `from`'s to
    /// eight days after: whatever a week holds, and the window open at `from`.
    pub(super) fn edges_from(&self, from: DateTime<Utc>, zone: Tz) -> Vec<DateTime<Utc>> {
        let first = from.with_timezone(&zone).date_naive() - Duration::days(1);
        first
            .iter_days()
            .take(10)
            .filter_map(|day| self.on(day, zone))
            .flat_map(|(opens, closes)| [opens, closes])
            .collect()
    }
}

/// The instant `seconds` after local midnight of `day` (two days at most) in `zone`.
pub(super) fn local_instant(day: NaiveDate, seconds: u32, zone: Tz) -> DateTime<Utc> {
    let local: NaiveDateTime = day.and_time(chrono::NaiveTime::MIN) + Duration::seconds(i64::from(seconds));
    match zone.from_local_datetime(&local) {
        LocalResult::Single(at) | LocalResult::Ambiguous(at, _) => at.with_timezone(&Utc),
        LocalResult::None => {
            // Skipped by the clocks: read with the offset of a day before.
            let before = zone.offset_from_utc_datetime(&(local - Duration::days(1))).fix();
            Utc.from_utc_datetime(&(local - Duration::seconds(i64::from(before.local_minus_utc()))))
        }
    }
}

impl Policy {
    /// Reads an MDS 2.0 policy, refusing (with the JSON path) what the model refuses, an
    /// `end_date` not after `start_date`, equal `start_time` and `end_time`, a repeated rule
    /// id, and two rules that contradict each other (see [`contradicts`]).
    pub fn parse(document: serde_json::Value) -> Result<Self, MdsDocumentError> {
        let document: PolicyDocument = read(document)?;
        let provider_ids = document.provider_ids.unwrap_or_default();
        unique(&provider_ids, "provider_ids")?;
        let prev_policies = document.prev_policies.unwrap_or_default();
        unique(&prev_policies, "prev_policies")?;
        let in_force = Period::new(document.start_date.0, document.end_date.map(|date| date.0))
            .ok_or_else(|| refused("end_date", "must be after start_date"))?;
        if document.rules.is_empty() {
            return Err(refused("rules", "a policy has at least one rule"));
        }
        let mut rules: Vec<Rule> = Vec::new();
        for (i, rule) in document.rules.into_iter().enumerate() {
            let path = format!("rules[{i}]");
            let rule = Rule::read(rule, &path)?;
            if rules.iter().any(|earlier| earlier.rule_id == rule.rule_id) {
                return Err(refused(format!("{path}.rule_id"), "another rule has this id"));
            }
            if let Some(j) = rules.iter().position(|earlier| contradicts(earlier, &rule)) {
                let reason = format!(
                    "contradicts rules[{j}]: same rule type, geography, boards and state, in windows that \
                     overlap, with other bounds"
                );
                return Err(refused(path, reason));
            }
            rules.push(rule);
        }
        Ok(Self {
            policy_id: document.policy_id.0,
            name: document.name.0,
            description: document.description.0,
            mode: document.mode_id,
            provider_ids: uuids(Some(provider_ids)),
            currency: document.currency.map(|code| code.0),
            in_force,
            published: document.published_date.0,
            prev_policies: uuids(Some(prev_policies)),
            rules,
        })
    }
}

impl Rule {
    pub(super) fn read(rule: RuleDocument, path: &str) -> Result<Self, MdsDocumentError> {
        let at = |field: &str| format!("{path}.{field}");
        if rule.geographies.is_empty() {
            return Err(refused(at("geographies"), "a rule covers at least one geography"));
        }
        unique(&rule.geographies, &at("geographies"))?;
        let mut states = BTreeMap::new();
        for (name, events) in rule.states {
            let state_path = at(&format!("states.{name}"));
            let state: MdsState = serde_json::from_value(serde_json::Value::String(name))
                .map_err(|error| refused(&state_path, format!("not an MDS vehicle state: {error}")))?;
            unique(&events, &state_path)?;
            states.insert(state, events);
        }
        let mut messages = BTreeMap::new();
        for (tag, text) in rule.messages.unwrap_or_default() {
            let tag =
                LanguageTag::try_from(tag.clone()).map_err(|reason| refused(at(&format!("messages.{tag}")), reason))?;
            messages.insert(tag.0, text);
        }
        let vehicle_types = rule.vehicle_types.unwrap_or_default();
        unique(&vehicle_types, &at("vehicle_types"))?;
        let propulsion_types = rule.propulsion_types.unwrap_or_default();
        unique(&propulsion_types, &at("propulsion_types"))?;
        let days = rule.days.unwrap_or_default();
        unique(&days, &at("days"))?;
        let window = RuleWindow::new(
            &days,
            rule.start_time.unwrap_or(TimeOfDay(0)),
            rule.end_time.unwrap_or(TimeOfDay(DAY_SECONDS - 1)),
        )
        .ok_or_else(|| refused(at("end_time"), "equals start_time: say the window (a whole day is omitting both)"))?;

        let bounds = Bounds {
            minimum: rule.minimum.unwrap_or(0),
            inclusive_minimum: rule.inclusive_minimum.unwrap_or(true),
            maximum: rule.maximum,
            inclusive_maximum: rule.inclusive_maximum.unwrap_or(true),
        };
        let fee = |recurrences: &[RateRecurrence]| match rule.rate_recurrence {
            Some(recurrence) if !recurrences.contains(&recurrence) => Err(refused(
                at("rate_recurrence"),
                format!("{} does not fit a {} rule", wire_name(recurrence), wire_name(rule.rule_type)),
            )),
            recurrence => Ok(rule.rate_amount.map(|amount| Fee {
                amount,
                recurrence,
                applies_when: rule.rate_applies_when.unwrap_or_default(),
            })),
        };
        let once = [RateRecurrence::OnceOnMatch, RateRecurrence::OnceOnUnmatch];
        let units = |admitted: &str| {
            refused(at("rule_units"), format!("a {} rule's rule_units is {admitted}", wire_name(rule.rule_type)))
        };
        let measure = match (rule.rule_type, rule.rule_units) {
            (RuleType::Count, Some(RuleUnit::Devices)) => Measure::Count { bounds, fee: fee(&once)? },
            (RuleType::Count, _) => return Err(units("devices")),
            (RuleType::Speed, Some(RuleUnit::Kph)) => Measure::Speed { unit: SpeedUnit::Kph, bounds, fee: fee(&once)? },
            (RuleType::Speed, Some(RuleUnit::Mph)) => Measure::Speed { unit: SpeedUnit::Mph, bounds, fee: fee(&once)? },
            (RuleType::Speed, _) => return Err(units("mph or kph")),
            (
                RuleType::Time,
                Some(unit @ (RuleUnit::Seconds | RuleUnit::Minutes | RuleUnit::Hours | RuleUnit::Days)),
            ) => {
                let unit = match unit {
                    RuleUnit::Seconds => TimeUnit::Seconds,
                    RuleUnit::Minutes => TimeUnit::Minutes,
                    RuleUnit::Hours => TimeUnit::Hours,
                    _ => TimeUnit::Days,
                };
                let per_unit = [RateRecurrence::EachTimeUnit, RateRecurrence::PerCompleteTimeUnit];
                Measure::Time { unit, bounds, fee: fee(&per_unit)? }
            }
            (RuleType::Time, _) => return Err(units("seconds, minutes, hours or days")),
            (RuleType::User, None) => {
                let fee_fields = [
                    ("rate_amount", rule.rate_amount.is_some()),
                    ("rate_recurrence", rule.rate_recurrence.is_some()),
                    ("rate_applies_when", rule.rate_applies_when.is_some()),
                ];
                if let Some((field, _)) = fee_fields.into_iter().find(|(_, given)| *given) {
                    return Err(refused(at(field), "a user rule has no fee"));
                }
                Measure::User
            }
            (RuleType::User, Some(_)) => return Err(units("null")),
        };
        Ok(Self {
            rule_id: rule.rule_id.0,
            name: rule.name.0,
            measure,
            geographies: uuids(Some(rule.geographies)),
            states,
            boards: BoardFilter { vehicle_types, propulsion_types },
            window,
            messages,
            value_url: rule.value_url,
        })
    }
}

/// Whether two rules of one policy contradict each other, which is refused: MDS gives rules no
/// order, so which would apply is undefined. They do when they are of the same type (with the
/// same units) over a common geography, for a board both could name, over a common state, in
/// windows sharing some moment of the week (a window across midnight included), and set
/// bounds or fees written differently. The same bounds twice is redundant, not contradictory.
pub(super) fn contradicts(earlier: &Rule, later: &Rule) -> bool {
    let same_type = std::mem::discriminant(&earlier.measure) == std::mem::discriminant(&later.measure);
    same_type
        && earlier.measure != later.measure
        && earlier.geographies.iter().any(|geography| later.geographies.contains(geography))
        && earlier.boards.meets(&later.boards)
        && earlier.states.keys().any(|state| later.states.contains_key(state))
        && earlier.window.overlaps(&later.window)
}

/// Refuses a policy naming a geography that is not among `known`, at
/// `rules[i].geographies[j]`.
pub fn check_references(policy: &Policy, known: &[Geography]) -> Result<(), MdsDocumentError> {
    for (i, rule) in policy.rules.iter().enumerate() {
        for (j, geography_id) in rule.geographies.iter().enumerate() {
            if !known.iter().any(|geography| geography.geography_id == *geography_id) {
                return Err(refused(format!("rules[{i}].geographies[{j}]"), format!("no geography {geography_id}")));
            }
        }
    }
    Ok(())
}
