//! The documents the work consists of: the weekly/monthly EST report and the yearly lägesbild
//! of Lag 2023:196 (with the åtgärdsplan and its follow-up), as printable HTML (A4, page breaks,
//! SVG charts, sources and method last) and as PDF printed from that HTML by headless Chromium.
//! Both read one picture, the analysis units and the store's plan; nothing here knows HTTP.

pub mod est;
mod html;
pub mod pdf;
pub mod period;
pub mod yearly;

use crate::classify::est::{weeks_between, EstRule};
use crate::model::{iso_week, Incident};
use crate::picture::AreaPicture;
use crate::plan::{Action, Assessment};
use crate::units::{Unit, Units};
use chrono::NaiveDate;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("period '{0}' is not a week (2026-W12), a month (2026-03) or a tertial (2026-T1)")]
    Period(String),
    #[error("year {0} is outside 2000–2100")]
    Year(i32),
    #[error("the PDF could not be made: {0}")]
    Pdf(String),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

/// Every ISO week from the first to the last point incident.
pub fn data_weeks(pic: &AreaPicture) -> Vec<String> {
    let days: Vec<NaiveDate> = pic.point_incidents().map(|i| i.occurred_at.date()).collect();
    match (days.iter().min(), days.iter().max()) {
        (Some(a), Some(b)) => weeks_between(*a, *b),
        _ => vec![],
    }
}

/// Incidents and EST score of a unit in one ISO week.
pub fn est_week(pic: &AreaPicture, unit: &Unit, week: &str, rule: &EstRule) -> (u64, f64) {
    let mut n = 0;
    let mut score = 0.0;
    for i in unit.incidents(pic).filter(|i| iso_week(&i.occurred_at) == week) {
        n += 1;
        score += rule.weight(i.category);
    }
    (n, score)
}

/// The current bedömning per (area, week): the newest one set.
pub fn current_assessments(all: &[Assessment]) -> HashMap<(String, String), Assessment> {
    let mut m = HashMap::new();
    for a in all {
        m.insert((a.area.clone(), a.iso_week.clone()), a.clone());
    }
    m
}

/// Incidents of a unit on days `from..=to`.
pub fn incidents_between<'a>(pic: &'a AreaPicture, unit: &'a Unit, from: NaiveDate, to: NaiveDate) -> impl Iterator<Item = &'a Incident> + 'a {
    unit.incidents(pic).filter(move |i| (from..=to).contains(&i.occurred_at.date()))
}

/// An insats with the incidents in its area before and after its start, over periods of the
/// same length.
#[derive(Debug, Clone, Serialize)]
pub struct Followup {
    pub action: Action,
    /// The area as resolved (None when it no longer exists in the data).
    pub unit: Option<String>,
    pub before_from: NaiveDate,
    pub before_to: NaiveDate,
    pub after_from: NaiveDate,
    pub after_to: NaiveDate,
    pub before: u64,
    pub after: u64,
    pub before_by_category: BTreeMap<String, u64>,
    pub after_by_category: BTreeMap<String, u64>,
    pub caveat: String,
}

/// The caveat every before/after comparison carries.
pub const REPORTING_CAVEAT: &str =
    "Antalet anmälda händelser speglar också anmälningsbenägenheten: en insats som ökar närvaron kan öka antalet rapporter utan att läget har blivit sämre.";

/// Before: the same number of days just before the start; after: from the start to the end (or
/// to the last incident in the store when the insats is still running).
pub fn followup(pic: &AreaPicture, units: &Units, a: &Action) -> Followup {
    let last_data = pic.point_incidents().map(|i| i.occurred_at.date()).max().unwrap_or(a.start);
    let after_to = a.end.unwrap_or(last_data).min(last_data.max(a.start));
    let days = (after_to - a.start).num_days().max(0);
    let before_to = a.start - chrono::Duration::days(1);
    let before_from = before_to - chrono::Duration::days(days);
    let unit = units.resolve(&a.area);
    let count = |from, to| -> (u64, BTreeMap<String, u64>) {
        let mut by = BTreeMap::new();
        let mut n = 0;
        if let Some(u) = unit {
            for i in incidents_between(pic, u, from, to) {
                n += 1;
                *by.entry(i.category.label_sv().to_string()).or_insert(0) += 1;
            }
        }
        (n, by)
    };
    let (before, before_by_category) = count(before_from, before_to);
    let (after, after_by_category) = count(a.start, after_to);
    Followup {
        action: a.clone(),
        unit: unit.map(|u| u.name.clone()),
        before_from,
        before_to,
        after_from: a.start,
        after_to,
        before,
        after,
        before_by_category,
        after_by_category,
        caveat: REPORTING_CAVEAT.into(),
    }
}

/// What a report reads besides the picture.
#[derive(Default)]
pub struct Inputs {
    pub actions: Vec<Action>,
    pub assessments: Vec<Assessment>,
    pub cause_analyses: Vec<crate::plan::CauseAnalysis>,
    pub observations: Vec<crate::walks::Observation>,
    pub walks: Vec<crate::walks::Walk>,
    pub police: Vec<crate::classify::goals::PoliceArea>,
    pub goals: Vec<crate::classify::goals::Goal>,
}

impl Inputs {
    /// Everything the store holds for the reports.
    pub fn from_store(store: &dyn crate::store::Backend) -> Result<Inputs, crate::store::StoreError> {
        Ok(Inputs {
            actions: store.actions()?,
            assessments: store.assessments()?,
            cause_analyses: store.cause_analyses()?,
            observations: store.observations(None).unwrap_or_default(),
            walks: store.walks().unwrap_or_default(),
            ..Default::default()
        })
    }
}
