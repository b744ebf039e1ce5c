//! The documents as MDS writes them, and a Geography read from one.

use super::*;

/// `models/policy.yaml`. Unknown fields are allowed: the model does not forbid them.
#[derive(Deserialize)]
pub(super) struct PolicyDocument {
    pub(super) name: MdsText,
    pub(super) mode_id: Mode,
    pub(super) policy_id: MdsUuid,
    #[serde(default, deserialize_with = "not_null")]
    pub(super) provider_ids: Option<Vec<MdsUuid>>,
    pub(super) description: MdsText,
    #[serde(default)]
    pub(super) currency: Option<CurrencyCode>,
    pub(super) start_date: MdsTimestamp,
    #[serde(default, deserialize_with = "not_null")]
    pub(super) end_date: Option<MdsTimestamp>,
    pub(super) published_date: MdsTimestamp,
    #[serde(default, deserialize_with = "not_null")]
    pub(super) prev_policies: Option<Vec<MdsUuid>>,
    pub(super) rules: Vec<RuleDocument>,
}

/// `models/policy-rule.yaml` (`additionalProperties: false`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RuleDocument {
    pub(super) name: MdsText,
    pub(super) rule_id: MdsUuid,
    pub(super) rule_type: RuleType,
    pub(super) geographies: Vec<MdsUuid>,
    /// Keys read after, so that a refused one is named in the path.
    pub(super) states: BTreeMap<String, Vec<MdsEventType>>,
    #[serde(default)]
    pub(super) rule_units: Option<RuleUnit>,
    #[serde(default, deserialize_with = "not_null")]
    pub(super) vehicle_types: Option<Vec<MdsVehicleKind>>,
    #[serde(default, deserialize_with = "not_null")]
    pub(super) propulsion_types: Option<Vec<MdsPropulsion>>,
    #[serde(default)]
    pub(super) minimum: Option<i64>,
    #[serde(default)]
    pub(super) maximum: Option<i64>,
    #[serde(default)]
    pub(super) inclusive_minimum: Option<bool>,
    #[serde(default)]
    pub(super) inclusive_maximum: Option<bool>,
    #[serde(default)]
    pub(super) rate_amount: Option<i64>,
    #[serde(default)]
    pub(super) rate_recurrence: Option<RateRecurrence>,
    #[serde(default)]
    pub(super) rate_applies_when: Option<RateAppliesWhen>,
    #[serde(default, deserialize_with = "not_null")]
    pub(super) start_time: Option<TimeOfDay>,
    #[serde(default, deserialize_with = "not_null")]
    pub(super) end_time: Option<TimeOfDay>,
    #[serde(default, deserialize_with = "not_null")]
    pub(super) days: Option<Vec<Day>>,
    #[serde(default)]
    /// Keys read after, so that a refused one is named in the path.
    pub(super) messages: Option<BTreeMap<String, String>>,
    /// `format: uri` is an annotation in JSON Schema 2020-12, not a constraint.
    #[serde(default)]
    pub(super) value_url: Option<String>,
}

/// `models/geography.yaml` (`additionalProperties: false`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct GeographyDocument {
    pub(super) name: MdsText,
    #[serde(default, deserialize_with = "not_null")]
    pub(super) description: Option<MdsText>,
    #[serde(default, deserialize_with = "not_null")]
    pub(super) geography_type: Option<String>,
    pub(super) geography_id: MdsUuid,
    pub(super) geography_json: FeatureCollection,
    #[serde(default, deserialize_with = "not_null")]
    pub(super) effective_date: Option<MdsTimestamp>,
    pub(super) published_date: MdsTimestamp,
    #[serde(default, deserialize_with = "not_null")]
    pub(super) retire_date: Option<MdsTimestamp>,
    #[serde(default, deserialize_with = "not_null")]
    pub(super) prev_geographies: Option<Vec<MdsUuid>>,
}

/// A GeoJSON FeatureCollection; GeoJSON's foreign members (and `bbox`) are allowed.
#[derive(Deserialize)]
pub(super) struct FeatureCollection {
    #[serde(rename = "type")]
    pub(super) _type: FeatureCollectionType,
    pub(super) features: Vec<Feature>,
}

#[derive(Deserialize)]
pub(super) enum FeatureCollectionType {
    FeatureCollection,
}

#[derive(Deserialize)]
pub(super) struct Feature {
    #[serde(rename = "type")]
    pub(super) _type: FeatureType,
    #[serde(rename = "id", default, deserialize_with = "feature_id")]
    pub(super) _id: Option<()>,
    #[serde(rename = "properties", deserialize_with = "required_nullable")]
    pub(super) _properties: Option<serde_json::Map<String, serde_json::Value>>,
    /// Read as a zone's area is: Polygon or MultiPolygon only (`null` is refused after).
    #[serde(deserialize_with = "required_nullable")]
    pub(super) geometry: Option<GeometryForm>,
}

#[derive(Deserialize)]
pub(super) enum FeatureType {
    Feature,
}

/// GeoJSON: a feature's `id` is a number or a string.
pub(super) fn feature_id<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<()>, D::Error> {
    match serde_json::Value::deserialize(deserializer)? {
        serde_json::Value::Number(_) | serde_json::Value::String(_) => Ok(Some(())),
        _ => Err(serde::de::Error::custom("a feature's id is a number or a string")),
    }
}

/// A span of time, `from` included, `until` excluded; `until` (if any) is after `from`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub(super) from: DateTime<Utc>,
    pub(super) until: Option<DateTime<Utc>>,
}

impl Period {
    /// `None`: empty.
    pub(super) fn new(from: DateTime<Utc>, until: Option<DateTime<Utc>>) -> Option<Self> {
        match until {
            Some(until) if until <= from => None,
            _ => Some(Self { from, until }),
        }
    }

    /// The time in both, if any.
    pub(super) fn within(&self, other: &Period) -> Option<Period> {
        let until = match (self.until, other.until) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        Period::new(self.from.max(other.from), until)
    }

    pub fn from(&self) -> DateTime<Utc> {
        self.from
    }

    /// `None`: no end.
    pub fn until(&self) -> Option<DateTime<Utc>> {
        self.until
    }

    pub(super) fn contains(&self, at: DateTime<Utc>) -> bool {
        at >= self.from && self.until.is_none_or(|until| at < until)
    }
}

/// An MDS geography, checked: its features make one area a zone could have.
#[derive(Debug, Clone, PartialEq)]
pub struct Geography {
    pub geography_id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub geography_type: Option<String>,
    /// Every feature's polygons, as one MultiPolygon.
    pub area: ZoneGeometry,
    pub published: DateTime<Utc>,
    /// From `effective_date` (else `published_date`) until `retire_date`.
    pub live: Period,
    pub prev_geographies: Vec<Uuid>,
}

impl Geography {
    /// Reads an MDS 2.0 geography, refusing (with the JSON path) what the model refuses and a
    /// feature that is not an area a zone accepts.
    pub fn parse(document: serde_json::Value) -> Result<Self, MdsDocumentError> {
        let document: GeographyDocument = read(document)?;
        let prev_geographies = document.prev_geographies.unwrap_or_default();
        unique(&prev_geographies, "prev_geographies")?;
        let published = document.published_date.0;
        let effective = document.effective_date.map_or(published, |date| date.0);
        if effective < published {
            return Err(refused("effective_date", "must be at or after published_date"));
        }
        let live = Period::new(effective, document.retire_date.map(|date| date.0))
            .ok_or_else(|| refused("retire_date", "must be after effective_date (else published_date)"))?;
        if document.geography_json.features.is_empty() {
            return Err(refused("geography_json.features", "a geography needs at least one area"));
        }
        let mut polygons = Vec::new();
        for (i, feature) in document.geography_json.features.into_iter().enumerate() {
            let path = format!("geography_json.features[{i}].geometry");
            let geometry =
                feature.geometry.ok_or_else(|| refused(&path, "a zone's area is a Polygon or MultiPolygon"))?;
            let at_fault =
                |error: crate::domain::zones::GeometryError| refused(format!("{path}.{}", error.field), error.reason);
            let geometry = geometry.parse().map_err(at_fault)?;
            geometry.validate().map_err(at_fault)?;
            polygons.extend(geometry.as_multi_polygon());
        }
        let area = ZoneGeometry::MultiPolygon { coordinates: polygons };
        // Each feature is a valid area: only the size of all of them together can fail here.
        area.validate().map_err(|error| refused("geography_json", error.reason))?;
        Ok(Self {
            geography_id: document.geography_id.0,
            name: document.name.0,
            description: document.description.map(|text| text.0),
            geography_type: document.geography_type,
            area,
            published,
            live,
            prev_geographies: uuids(Some(prev_geographies)),
        })
    }
}
