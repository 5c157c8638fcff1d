//! Gallring: raw incident points that occurred before a date are removed after their weekly
//! counts per DeSO and category are kept (`incident_counts_weekly`), so counts, rates and EST
//! weekly status of those weeks stay as they were; free text, participants' names and photos of
//! walks closed long enough ago are cleared. The store-independent part lives here: what to
//! count, and the record each store writes.

use super::{Store, StoreError};
use crate::model::{Area, Category, ImportRecord, Incident};
use chrono::{NaiveDate, NaiveDateTime};
use serde::Serialize;
use std::collections::BTreeMap;

/// Weekly counts of thinned points: one row per DeSO edition, DeSO, category, ISO week (cut
/// in Swedish local time, as every other week) and the import the points came from, so undoing
/// that import later removes its share of the counts too.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WeeklyCount {
    pub version: String,
    pub deso: String,
    pub category: Category,
    pub iso_week: String,
    /// Monday of the ISO week, to select weeks of a period.
    pub week_start: NaiveDate,
    pub count: u64,
    pub import_id: String,
}

/// What a gallring should remove.
#[derive(Debug, Clone)]
pub struct GallringPlan {
    /// Raw points that occurred before this day (Swedish local time) go; None: keep them.
    pub before: Option<NaiveDate>,
    /// Walks closed (held and no longer planned) before this day lose free text, names and photos.
    pub walk_text_before: Option<NaiveDate>,
    /// Only count what would go.
    pub dry_run: bool,
    /// Who ran it (`cli`, `serve`), for the import history.
    pub by: String,
}

/// What a gallring removed, or (dry run) would remove.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct GallringReport {
    pub gallring_id: String,
    pub ran_at: String,
    pub before: Option<NaiveDate>,
    pub walk_text_before: Option<NaiveDate>,
    pub dry_run: bool,
    pub points_removed: u64,
    /// Rows written to `incident_counts_weekly`.
    pub weekly_rows: u64,
    /// Distinct ISO weeks whose points were thinned.
    pub weeks: u64,
    pub walks_cleared: u64,
    pub observations_cleared: u64,
    pub photos_removed: u64,
}

/// The latest gallring a store has run, for the privacy report and the service.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct GallringState {
    /// The latest date before which raw points were removed; point analyses refuse periods
    /// reaching before it.
    pub thinned_before: Option<NaiveDate>,
    pub last_run: Option<String>,
    /// Distinct ISO weeks held only as counts.
    pub thinned_weeks: u64,
}

impl GallringReport {
    /// The entry in the import history: kind `gallring`, `accepted` = points removed.
    pub fn record(&self) -> ImportRecord {
        let what = match (self.before, self.walk_text_before) {
            (Some(b), Some(w)) => format!("gallra --before {b}; walk text before {w}"),
            (Some(b), None) => format!("gallra --before {b}"),
            (None, Some(w)) => format!("walk text before {w}"),
            (None, None) => "gallra".into(),
        };
        ImportRecord {
            import_id: self.gallring_id.clone(),
            kind: "gallring".into(),
            file_name: what,
            sha256: String::new(),
            imported_at: self.ran_at.clone(),
            accepted: self.points_removed,
            rejected: 0,
            imported_by: String::new(),
        }
    }
}

/// The start of a Swedish local day.
pub fn midnight(d: NaiveDate) -> NaiveDateTime {
    d.and_hms_opt(0, 0, 0).expect("midnight exists")
}

/// A fresh id and time for one gallring.
pub fn new_report(plan: &GallringPlan) -> GallringReport {
    let now = chrono::Utc::now();
    GallringReport {
        gallring_id: format!("gallring-{}", now.format("%Y%m%dT%H%M%S%3fZ")),
        ran_at: crate::model::time::now_utc_text(),
        before: plan.before,
        walk_text_before: plan.walk_text_before,
        dry_run: plan.dry_run,
        ..Default::default()
    }
}

/// Weekly counts of the point incidents among `thinned`, joined to the DeSO of every edition
/// exactly as the picture and the summary join them (only point precision counts).
pub fn weekly_counts(areas: &[Area], thinned: &[Incident]) -> Vec<WeeklyCount> {
    let mut editions: Vec<&str> = areas.iter().map(|a| a.version.as_str()).collect();
    editions.sort();
    editions.dedup();
    let mut out = Vec::new();
    for edition in editions {
        let sel = crate::summary::select_edition(areas, Some(edition));
        let polys: Vec<_> = sel.iter().map(|a| a.geometry.clone()).collect();
        let codes: Vec<&str> = sel.iter().map(|a| a.deso.as_str()).collect();
        let index = crate::spatial::AreaIndex::new(&polys, &codes);
        let precise: Vec<&Incident> = thinned.iter().filter(|i| i.precision.is_point_statistic()).collect();
        let xy: Vec<(f64, f64)> = precise.iter().map(|i| (i.location.x(), i.location.y())).collect();
        let mut acc: BTreeMap<(usize, Category, String, &str), (NaiveDate, u64)> = BTreeMap::new();
        for (inc, a) in precise.iter().zip(index.join(&xy).area) {
            let Some(a) = a else { continue };
            let week = crate::model::iso_week(&inc.occurred_at);
            let monday = inc.occurred_at.date() - chrono::Duration::days(chrono::Datelike::weekday(&inc.occurred_at.date()).num_days_from_monday() as i64);
            acc.entry((a as usize, inc.category, week, inc.import_id.as_str())).or_insert((monday, 0)).1 += 1;
        }
        out.extend(acc.into_iter().map(|((a, category, iso_week, import_id), (week_start, count))| WeeklyCount {
            version: edition.to_string(),
            deso: sel[a].deso.clone(),
            category,
            iso_week,
            week_start,
            count,
            import_id: import_id.to_string(),
        }));
    }
    out
}

/// The incidents a gallring before `before` removes, read through the store's own reader.
pub fn thinned_incidents(store: &dyn Store, before: NaiveDate) -> Result<Vec<Incident>, StoreError> {
    let cut = midnight(before);
    Ok(store.incidents()?.into_iter().filter(|i| i.occurred_at < cut).collect())
}

/// Distinct ISO weeks among weekly counts.
pub fn distinct_weeks(rows: &[WeeklyCount]) -> u64 {
    let mut w: Vec<&str> = rows.iter().map(|r| r.iso_week.as_str()).collect();
    w.sort();
    w.dedup();
    w.len() as u64
}

/// Thinned counts of the picture's edition, per DeSO, for weeks starting inside `period`.
pub fn counts_in<'a>(rows: &'a [WeeklyCount], edition: &'a str, period: Option<(NaiveDate, NaiveDate)>) -> impl Iterator<Item = &'a WeeklyCount> + 'a {
    rows.iter().filter(move |r| r.version == edition && period.is_none_or(|(from, to)| (from..=to).contains(&r.week_start)))
}
