//! Trygghetsvandring: walks with a route, observations along it, follow-up until fixed.
//! Plain data and validation here; persistence in `store::walks`, HTTP in `api::walks`.

pub mod photo;
pub mod report;

use chrono::NaiveDateTime;
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
    Atgardad,
    Avslutad,
    EjAtgardas,
}

impl ObservationStatus {
    pub fn is_open(self) -> bool {
        matches!(self, ObservationStatus::Ny | ObservationStatus::Tilldelad)
    }
    pub fn label_sv(self) -> &'static str {
        match self {
            ObservationStatus::Ny => "Ny",
            ObservationStatus::Tilldelad => "Tilldelad",
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
    pub created_by: String,
    pub created_at: NaiveDateTime,
    pub updated_by: String,
    pub updated_at: NaiveDateTime,
    pub version: i64,
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
}
