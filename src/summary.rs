//! Counts of incidents per area × category × ISO week, and rates per 1,000 residents, from one call.

use crate::model::{iso_week, Area, Category, Incident, IndicatorValue};
use crate::spatial::AreaIndex;
use crate::store::{Store, StoreError};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SummaryRow {
    pub deso: String,
    pub regso: String,
    pub regso_name: String,
    pub category: Category,
    /// ISO 8601 week, e.g. `2025-W07`.
    pub iso_week: String,
    pub count: u64,
    pub population: Option<f64>,
    pub rate_per_1000: Option<f64>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    pub rows: Vec<SummaryRow>,
    /// Point-precision incidents that fell in no area.
    pub unassigned: usize,
    /// Incidents on a border or in an overlap, resolved by the documented rule.
    pub ambiguous: usize,
    /// Incidents kept out because their location is only the area or municipality.
    pub excluded_imprecise: usize,
    /// Incidents per area over the whole period (point precision only).
    pub area_totals: BTreeMap<String, u64>,
    /// The DeSO edition the counts refer to.
    pub deso_version: String,
}

/// Residents per DeSO: the latest `population` indicator, else the area's own field.
pub fn population_by_area(areas: &[Area], indicators: &[IndicatorValue]) -> HashMap<String, f64> {
    let mut latest: HashMap<&str, (i32, f64)> = HashMap::new();
    for v in indicators.iter().filter(|v| v.indicator == "population") {
        let e = latest.entry(v.deso.as_str()).or_insert((v.year, v.value));
        if v.year > e.0 {
            *e = (v.year, v.value);
        }
    }
    areas.iter().filter_map(|a| latest.get(a.deso.as_str()).map(|(_, p)| *p).or(a.population).map(|p| (a.deso.clone(), p))).collect()
}

/// The newest DeSO edition in a set of areas, or the one asked for.
pub fn select_edition<'a>(areas: &'a [Area], version: Option<&str>) -> Vec<&'a Area> {
    let newest = areas.iter().map(|a| a.version.as_str()).max().unwrap_or("");
    let want = version.unwrap_or(newest);
    areas.iter().filter(|a| a.version == want).collect()
}

/// Joins incidents to areas and counts them per area × category × ISO week.
pub fn summarise(areas: &[&Area], incidents: &[Incident], population: &HashMap<String, f64>) -> Summary {
    let polys: Vec<_> = areas.iter().map(|a| a.geometry.clone()).collect();
    let codes: Vec<&str> = areas.iter().map(|a| a.deso.as_str()).collect();
    let index = AreaIndex::new(&polys, &codes);
    let precise: Vec<&Incident> = incidents.iter().filter(|i| i.precision.is_point_statistic()).collect();
    let xy: Vec<(f64, f64)> = precise.iter().map(|i| (i.location.x(), i.location.y())).collect();
    let joined = index.join(&xy);
    let mut counts: BTreeMap<(usize, Category, String), u64> = BTreeMap::new();
    for (inc, area) in precise.iter().zip(&joined.area) {
        if let Some(a) = area {
            *counts.entry((*a as usize, inc.category, iso_week(&inc.occurred_at))).or_default() += 1;
        }
    }
    let (unassigned, ambiguous, excluded) = (joined.unassigned, joined.ambiguous, incidents.len() - precise.len());
    from_counts(areas, counts, population, unassigned, ambiguous, excluded)
}

/// The summary of a store's incidents and their number: counted by the store itself where it
/// can (PostGIS, in SQL, by the same join rule), else read and joined here.
pub fn summarise_store(store: &dyn Store, areas: &[&Area], population: &HashMap<String, f64>) -> Result<(Summary, usize), StoreError> {
    let (mut s, incidents) = count_store(store, areas, population)?;
    // Weeks whose raw points a gallring removed are counted from the weekly counts it kept.
    add_thinned(&mut s, areas, &store.weekly_counts()?, population);
    Ok((s, incidents))
}

/// The stored raw points counted, by the store itself where it can (PostGIS) or joined here.
fn count_store(store: &dyn Store, areas: &[&Area], population: &HashMap<String, f64>) -> Result<(Summary, usize), StoreError> {
    let version = areas.first().map(|a| a.version.as_str()).unwrap_or_default();
    let Some(c) = store.incident_counts(version)? else {
        let incidents = store.incidents()?;
        return Ok((summarise(areas, &incidents, population), incidents.len()));
    };
    let index: HashMap<&str, usize> = areas.iter().enumerate().map(|(k, a)| (a.deso.as_str(), k)).collect();
    let mut counts: BTreeMap<(usize, Category, String), u64> = BTreeMap::new();
    for (deso, category, week, n) in c.counts {
        // The store counted over the same edition's areas, so every code is one of `areas`.
        if let Some(&k) = index.get(deso.as_str()) {
            *counts.entry((k, category, week)).or_default() += n;
        }
    }
    let assigned: u64 = counts.values().sum();
    let unassigned = c.precise.saturating_sub(assigned as usize);
    Ok((from_counts(areas, counts, population, unassigned, c.ambiguous, c.total - c.precise), c.total))
}

/// Rows, totals and rates from counts per (area index, category, week).
fn from_counts(
    areas: &[&Area],
    counts: BTreeMap<(usize, Category, String), u64>,
    population: &HashMap<String, f64>,
    unassigned: usize,
    ambiguous: usize,
    excluded_imprecise: usize,
) -> Summary {
    let mut totals: BTreeMap<String, u64> = areas.iter().map(|a| (a.deso.clone(), 0)).collect();
    for ((a, _, _), n) in &counts {
        *totals.entry(areas[*a].deso.clone()).or_default() += n;
    }
    let rows = counts
        .into_iter()
        .map(|((a, category, iso_week), count)| {
            let area = areas[a];
            let population = population.get(&area.deso).copied();
            SummaryRow {
                deso: area.deso.clone(),
                regso: area.regso.clone(),
                regso_name: area.regso_name.clone(),
                category,
                iso_week,
                count,
                population,
                rate_per_1000: population.filter(|p| *p > 0.0).map(|p| 1000.0 * count as f64 / p),
            }
        })
        .collect();
    Summary { rows, unassigned, ambiguous, excluded_imprecise, area_totals: totals, deso_version: areas.first().map(|a| a.version.clone()).unwrap_or_default() }
}

/// Adds the weekly counts of points removed by gallring (`incident_counts_weekly`) of the
/// summary's edition, so a thinned week reads as it did before; rows stay in area, category,
/// week order.
pub fn add_thinned(s: &mut Summary, areas: &[&Area], kept: &[crate::store::WeeklyCount], population: &HashMap<String, f64>) {
    let mut rows: BTreeMap<(String, Category, String), SummaryRow> = s.rows.drain(..).map(|r| ((r.deso.clone(), r.category, r.iso_week.clone()), r)).collect();
    let by_deso: HashMap<&str, &Area> = areas.iter().map(|a| (a.deso.as_str(), *a)).collect();
    for k in kept.iter().filter(|k| k.version == s.deso_version) {
        let Some(area) = by_deso.get(k.deso.as_str()) else { continue };
        let population = population.get(&area.deso).copied();
        let row = rows.entry((k.deso.clone(), k.category, k.iso_week.clone())).or_insert_with(|| SummaryRow {
            deso: area.deso.clone(),
            regso: area.regso.clone(),
            regso_name: area.regso_name.clone(),
            category: k.category,
            iso_week: k.iso_week.clone(),
            count: 0,
            population,
            rate_per_1000: None,
        });
        row.count += k.count;
        row.rate_per_1000 = population.filter(|p| *p > 0.0).map(|p| 1000.0 * row.count as f64 / p);
        *s.area_totals.entry(area.deso.clone()).or_default() += k.count;
    }
    s.rows = rows.into_values().collect();
}
