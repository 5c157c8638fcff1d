//! Trygghetsvandring: walks with a route, observations along it, follow-up until fixed.
//! Plain data and validation here; persistence in `store::walks`, HTTP in `api::walks`.

pub mod photo;
pub mod report;

use chrono::{NaiveDate, NaiveDateTime};
use geo::{Distance, Euclidean, Length};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WalkStatus {
    Planerad,
    Genomford,
    Uppfoljd,
}

impl WalkStatus {
    /// The stored and serialised name.
    pub fn as_str(self) -> &'static str {
        match self {
            WalkStatus::Planerad => "planerad",
            WalkStatus::Genomford => "genomford",
            WalkStatus::Uppfoljd => "uppfoljd",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ObservationStatus {
    Ny,
    Tilldelad,
    /// A fix is planned (in the åtgärdsplan or the owner's own plan), not yet done.
    Planerad,
    Atgardad,
    Avslutad,
    EjAtgardas,
}

impl ObservationStatus {
    pub fn is_open(self) -> bool {
        matches!(self, ObservationStatus::Ny | ObservationStatus::Tilldelad | ObservationStatus::Planerad)
    }
    /// The stored and serialised name.
    pub fn as_str(self) -> &'static str {
        match self {
            ObservationStatus::Ny => "ny",
            ObservationStatus::Tilldelad => "tilldelad",
            ObservationStatus::Planerad => "planerad",
            ObservationStatus::Atgardad => "atgardad",
            ObservationStatus::Avslutad => "avslutad",
            ObservationStatus::EjAtgardas => "ej_atgardas",
        }
    }
    pub fn label_sv(self) -> &'static str {
        match self {
            ObservationStatus::Ny => "Ny",
            ObservationStatus::Tilldelad => "Tilldelad",
            ObservationStatus::Planerad => "Åtgärd planerad",
            ObservationStatus::Atgardad => "Åtgärdad",
            ObservationStatus::Avslutad => "Avslutad",
            ObservationStatus::EjAtgardas => "Ej åtgärdas",
        }
    }
}

/// The checklist of a trygghetsvandring.
pub const OBSERVATION_CATEGORIES: &[(&str, &str)] = &[
    ("belysning", "Belysning"),
    ("skymd_sikt", "Skymd sikt/gömställen"),
    ("vegetation", "Vegetation/grönska"),
    ("overblick", "Överblick och orienterbarhet"),
    ("klotter", "Klotter"),
    ("nedskrapning", "Nedskräpning"),
    ("skadegorelse", "Skadegörelse"),
    ("underhall", "Underhåll"),
    ("trafiksakerhet", "Trafiksäkerhet"),
    ("tillganglighet", "Tillgänglighet"),
    ("otrygg_plats", "Otrygg plats"),
    ("ovrigt", "Övrigt"),
];

/// Safetipin-style parameters, each rated 0–3.
pub const RATING_PARAMETERS: &[&str] =
    &["lighting", "openness", "visibility", "people", "security", "walk_path", "public_transport", "gender_usage", "feeling"];

pub fn category_label(c: &str) -> &'static str {
    OBSERVATION_CATEGORIES.iter().find(|(k, _)| *k == c).map(|(_, l)| *l).unwrap_or("Okänd")
}

/// Someone taking part: the organisation always, the person's name only when given (it is
/// personal data and shown to partner and above only).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Participant {
    pub organisation: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// A planned stop along the route and what to look at there. Position in WGS84 (lon, lat).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stop {
    pub lon: f64,
    pub lat: f64,
    #[serde(default)]
    pub look_at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Walk {
    pub id: String,
    pub title: String,
    pub planned_at: NaiveDateTime,
    pub area: String,
    pub organiser: String,
    pub organisations: Vec<String>,
    /// Route in SWEREF 99 TM.
    #[serde(skip)]
    pub route: geo::LineString<f64>,
    pub status: WalkStatus,
    pub notes: String,
    pub participants: Vec<Participant>,
    /// Where the group meets, as text for the invitation ("Biblioteket, Sollentuna centrum").
    pub meeting_point: String,
    pub stops: Vec<Stop>,
    /// The walk is held after dark (lighting can be judged).
    pub dark_hours: bool,
    /// Protocol of the meeting before the walk.
    pub notes_before: String,
    /// Protocol of the closing meeting after the walk.
    pub notes_after: String,
    pub created_by: String,
    pub created_at: NaiveDateTime,
    pub updated_by: String,
    pub updated_at: NaiveDateTime,
    pub version: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Observation {
    pub id: String,
    pub walk_id: String,
    /// Location in SWEREF 99 TM.
    #[serde(skip)]
    pub point: geo::Point<f64>,
    pub category: String,
    pub ratings: BTreeMap<String, u8>,
    pub description: String,
    pub responsible: String,
    pub status: ObservationStatus,
    pub off_route: bool,
    pub has_photo: bool,
    /// When the responsible organisation should have acted.
    pub due: Option<NaiveDate>,
    /// The insats of the åtgärdsplan this finding belongs to, when there is one.
    pub insats: String,
    /// The id a phone gave the observation when it was queued offline; a replay with the same
    /// id returns the stored observation instead of a second copy.
    pub client_id: String,
    pub created_by: String,
    pub created_at: NaiveDateTime,
    pub updated_by: String,
    pub updated_at: NaiveDateTime,
    pub version: i64,
}

impl Observation {
    /// Open with a due date before `today`: the follow-up list shows it first, in red.
    pub fn is_overdue(&self, today: NaiveDate) -> bool {
        self.status.is_open() && self.due.is_some_and(|d| d < today)
    }
}

/// One entry of an observation's history: who changed what and when.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HistoryEntry {
    pub observation_id: String,
    pub version: i64,
    pub changed_by: String,
    pub changed_at: NaiveDateTime,
    /// `{"status": ["ny", "tilldelad"], …}` as JSON text.
    pub changes: String,
}

/// Rules for validation; the defaults suit a municipality.
#[derive(Debug, Clone)]
pub struct WalkRules {
    /// Route and observations must lie inside this SWEREF 99 TM extent (the municipality's,
    /// padded by 1 km).
    pub extent: [f64; 4],
    pub max_route_m: f64,
    pub max_observation_distance_m: f64,
    pub max_photo_bytes: usize,
}

impl Default for WalkRules {
    fn default() -> Self {
        WalkRules { extent: crate::crs::SWEDEN_EXTENT_3006, max_route_m: 20_000.0, max_observation_distance_m: 200.0, max_photo_bytes: 5 * 1024 * 1024 }
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct Invalid {
    pub field: String,
    pub message: String,
}

fn invalid(field: &str, message: impl Into<String>) -> Invalid {
    Invalid { field: field.into(), message: message.into() }
}

pub fn validate_route(route: &geo::LineString<f64>, rules: &WalkRules) -> Result<(), Invalid> {
    if route.0.len() < 2 {
        return Err(invalid("route", "a route needs at least two points"));
    }
    if route.0.iter().any(|c| !c.x.is_finite() || !c.y.is_finite()) {
        return Err(invalid("route", "a coordinate is not a number"));
    }
    let [x0, y0, x1, y1] = rules.extent;
    if let Some((k, c)) = route.0.iter().enumerate().find(|(_, c)| c.x < x0 || c.x > x1 || c.y < y0 || c.y > y1) {
        return Err(invalid("route", format!("point {} (E {:.0}, N {:.0}) lies outside the municipality", k + 1, c.x, c.y)));
    }
    let len = Euclidean.length(route);
    if len <= 0.0 {
        return Err(invalid("route", "the route has no length"));
    }
    if len > rules.max_route_m {
        return Err(invalid("route", format!("the route is {:.1} km; at most {:.0} km is allowed for a walk", len / 1000.0, rules.max_route_m / 1000.0)));
    }
    Ok(())
}

pub fn validate_observation(o: &Observation, route: &geo::LineString<f64>, rules: &WalkRules) -> Result<(), Invalid> {
    if !OBSERVATION_CATEGORIES.iter().any(|(k, _)| *k == o.category) {
        return Err(invalid(
            "category",
            format!("'{}' is not in the checklist ({})", o.category, OBSERVATION_CATEGORIES.iter().map(|c| c.0).collect::<Vec<_>>().join(", ")),
        ));
    }
    for (k, v) in &o.ratings {
        if !RATING_PARAMETERS.contains(&k.as_str()) {
            return Err(invalid("ratings", format!("unknown parameter '{k}' ({})", RATING_PARAMETERS.join(", "))));
        }
        if *v > 3 {
            return Err(invalid("ratings", format!("{k} = {v}; ratings are 0–3")));
        }
    }
    let [x0, y0, x1, y1] = rules.extent;
    let (x, y) = (o.point.x(), o.point.y());
    if !(x.is_finite() && y.is_finite()) || x < x0 || x > x1 || y < y0 || y > y1 {
        return Err(invalid("point", "the observation lies outside the municipality"));
    }
    if !o.off_route {
        let d = Euclidean.distance(&o.point, route);
        if d > rules.max_observation_distance_m {
            return Err(invalid(
                "point",
                format!(
                    "the observation is {d:.0} m from the route (at most {:.0} m); set off_route to true for a place away from the route",
                    rules.max_observation_distance_m
                ),
            ));
        }
    }
    Ok(())
}

/// Participants need an organisation; stops need a position in WGS84.
pub fn validate_plan(participants: &[Participant], stops: &[Stop]) -> Result<(), Invalid> {
    if let Some(k) = participants.iter().position(|p| p.organisation.trim().is_empty()) {
        return Err(invalid("participants", format!("participant {} has no organisation", k + 1)));
    }
    if let Some(k) = stops.iter().position(|s| !(-180.0..=180.0).contains(&s.lon) || !(-90.0..=90.0).contains(&s.lat)) {
        return Err(invalid("stops", format!("stop {} must have lon, lat in degrees (WGS84)", k + 1)));
    }
    Ok(())
}

/// A new id: a time-ordered prefix and random suffix, readable in QGIS.
pub fn new_id(prefix: &str) -> String {
    use rand::Rng;
    let r: u64 = rand::thread_rng().gen();
    format!("{prefix}-{}-{:08x}", chrono::Utc::now().format("%Y%m%d%H%M%S"), r as u32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::line_string;

    #[test]
    fn routes_need_two_points_inside_the_extent_and_a_sane_length() {
        let rules = WalkRules { extent: [660_000.0, 6_580_000.0, 680_000.0, 6_600_000.0], ..Default::default() };
        assert!(validate_route(&line_string![(x: 661_000.0, y: 6_590_000.0), (x: 661_500.0, y: 6_590_000.0)], &rules).is_ok());
        assert_eq!(validate_route(&line_string![(x: 661_000.0, y: 6_590_000.0)], &rules).unwrap_err().field, "route");
        assert!(validate_route(&line_string![(x: 661_000.0, y: 6_590_000.0), (x: 700_000.0, y: 6_590_000.0)], &rules).unwrap_err().message.contains("outside"));
        let long = line_string![(x: 660_500.0, y: 6_580_500.0), (x: 679_500.0, y: 6_580_500.0), (x: 679_500.0, y: 6_599_500.0)];
        assert!(validate_route(&long, &rules).unwrap_err().message.contains("at most 20 km"));
    }

    #[test]
    fn a_finding_is_overdue_only_while_open_and_past_its_due_date() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let t = NaiveDateTime::default();
        let mut o = Observation {
            id: "o".into(),
            walk_id: "w".into(),
            point: geo::Point::new(0.0, 0.0),
            category: "belysning".into(),
            ratings: BTreeMap::new(),
            description: String::new(),
            responsible: String::new(),
            status: ObservationStatus::Planerad,
            off_route: false,
            has_photo: false,
            due: Some(d("2026-01-31")),
            insats: String::new(),
            client_id: String::new(),
            created_by: String::new(),
            created_at: t,
            updated_by: String::new(),
            updated_at: t,
            version: 1,
        };
        assert!(o.is_overdue(d("2026-02-01")));
        assert!(!o.is_overdue(d("2026-01-31")), "due today is not yet overdue");
        o.status = ObservationStatus::Atgardad;
        assert!(!o.is_overdue(d("2026-02-01")), "a fixed finding is never overdue");
        o.status = ObservationStatus::Ny;
        o.due = None;
        assert!(!o.is_overdue(d("2030-01-01")), "no due date, never overdue");
    }
}
