//! Goal tracking: the municipality's milestones (by 2025 compared with 2021: less crowding,
//! higher education, more self-sufficiency in the focus areas; by 2030 no area on the police
//! list). For each goal: baseline value and year, latest value and year, the direction wanted,
//! and whether it is on track. Also each DeSO's overlap with Polisen's utsatta områden.

use geo::{Area, BooleanOps, MultiPolygon};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Wanted {
    Decrease,
    Increase,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Goal {
    /// Free text, e.g. "Minskad trångboddhet 2025 jämfört med 2021".
    pub name: String,
    /// A DeSO code, a RegSO code or name, or a municipality code (as the profile resolves them).
    pub area: String,
    pub indicator: String,
    pub baseline_year: i32,
    pub target_year: i32,
    pub wanted: Wanted,
    /// Optional target value; without it any change in the wanted direction is on track.
    #[serde(default)]
    pub target_value: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GoalStatus {
    pub goal: Goal,
    pub baseline_value: Option<f64>,
    pub latest_year: Option<i32>,
    pub latest_value: Option<f64>,
    /// None when the data cannot tell (no baseline, or nothing after the baseline).
    pub on_track: Option<bool>,
    /// Swedish explanation.
    pub note: String,
}

/// `series` = the indicator's values by year for the goal's area.
pub fn goal_status(goal: &Goal, series: &BTreeMap<i32, f64>) -> GoalStatus {
    let baseline = series.get(&goal.baseline_year).copied();
    let latest = series
        .iter()
        .filter(|(y, _)| **y > goal.baseline_year && **y <= goal.target_year.max(goal.baseline_year))
        .last()
        .or_else(|| series.iter().filter(|(y, _)| **y > goal.baseline_year).last());
    let (latest_year, latest_value) = match latest {
        Some((y, v)) => (Some(*y), Some(*v)),
        None => (None, None),
    };
    let (on_track, note) = match (baseline, latest_year, latest_value) {
        (None, _, _) => (None, format!("Data saknas för basåret {}.", goal.baseline_year)),
        (Some(_), None, _) => (None, format!("Inga värden efter basåret {}.", goal.baseline_year)),
        (Some(b), Some(y), Some(v)) => {
            let better = match goal.wanted {
                Wanted::Decrease => v < b,
                Wanted::Increase => v > b,
            };
            match goal.target_value {
                None => (
                    Some(better),
                    format!("{} {} → {} {}: {}", goal.baseline_year, fmt(b), y, fmt(v), if better { "i önskad riktning" } else { "inte i önskad riktning" }),
                ),
                Some(t) => {
                    // On a straight line from baseline to target, where should we be by year y?
                    let span = (goal.target_year - goal.baseline_year).max(1) as f64;
                    let expected = b + (t - b) * ((y - goal.baseline_year) as f64 / span).min(1.0);
                    let ok = match goal.wanted {
                        Wanted::Decrease => v <= expected,
                        Wanted::Increase => v >= expected,
                    };
                    (
                        Some(ok),
                        format!(
                            "{} {} → {} {} (på rak linje mot målet {} år {}: {})",
                            goal.baseline_year,
                            fmt(b),
                            y,
                            fmt(v),
                            fmt(t),
                            goal.target_year,
                            fmt(expected)
                        ),
                    )
                }
            }
        }
        _ => (None, String::new()),
    };
    GoalStatus { goal: goal.clone(), baseline_value: baseline, latest_year, latest_value, on_track, note }
}

fn fmt(v: f64) -> String {
    crate::model::format_number_sv((v * 100.0).round() / 100.0)
}

/// A police area (utsatt / särskilt utsatt område).
#[derive(Debug, Clone)]
pub struct PoliceArea {
    pub name: String,
    /// `utsatt`, `sarskilt` (särskilt utsatt) or `risk`.
    pub class: String,
    pub since: String,
    pub geometry: MultiPolygon<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Overlap {
    pub name: String,
    pub class: String,
    pub since: String,
    /// Share of the DeSO's area inside the police area, in percent.
    pub share_pct: f64,
}

/// Overlaps of an area with police areas, largest first (shares below 0.1 % are left out).
pub fn police_overlap(area: &MultiPolygon<f64>, police: &[PoliceArea]) -> Vec<Overlap> {
    let total = area.unsigned_area();
    if total <= 0.0 {
        return vec![];
    }
    let mut out: Vec<Overlap> = police
        .iter()
        .filter_map(|p| {
            let share = 100.0 * area.intersection(&p.geometry).unsigned_area() / total;
            (share >= 0.1).then(|| Overlap { name: p.name.clone(), class: p.class.clone(), since: p.since.clone(), share_pct: share })
        })
        .collect();
    out.sort_by(|a, b| b.share_pct.total_cmp(&a.share_pct));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn goal(wanted: Wanted, target: Option<f64>) -> Goal {
        Goal { name: "g".into(), area: "A".into(), indicator: "crowding_pct".into(), baseline_year: 2021, target_year: 2025, wanted, target_value: target }
    }

    #[test]
    fn on_track_follows_the_wanted_direction_and_the_straight_line_to_a_target() {
        let s: BTreeMap<i32, f64> = [(2021, 20.0), (2023, 18.0)].into_iter().collect();
        assert_eq!(goal_status(&goal(Wanted::Decrease, None), &s).on_track, Some(true));
        assert_eq!(goal_status(&goal(Wanted::Increase, None), &s).on_track, Some(false));
        // Target 12 by 2025: halfway (2023) the line is at 16; 18 is behind.
        let st = goal_status(&goal(Wanted::Decrease, Some(12.0)), &s);
        assert_eq!((st.on_track, st.latest_year, st.latest_value), (Some(false), Some(2023), Some(18.0)));
        let none: BTreeMap<i32, f64> = [(2024, 18.0)].into_iter().collect();
        let st = goal_status(&goal(Wanted::Decrease, None), &none);
        assert_eq!(st.on_track, None);
        assert!(st.note.contains("basåret 2021"));
    }

    #[test]
    fn overlap_shares_are_areas_in_percent() {
        let sq = |x0: f64, s: f64| MultiPolygon(vec![geo::Rect::new(geo::coord! {x: x0, y: 0.0}, geo::coord! {x: x0 + s, y: s}).to_polygon()]);
        let police = vec![PoliceArea { name: "Tureberg".into(), class: "utsatt".into(), since: "2018-10-01".into(), geometry: sq(50.0, 100.0) }];
        let o = police_overlap(&sq(0.0, 100.0), &police);
        assert_eq!(o.len(), 1);
        assert!((o[0].share_pct - 50.0).abs() < 1e-9);
        assert!(police_overlap(&sq(500.0, 10.0), &police).is_empty());
    }
}
