//! The lägesbild of a set of areas, built once from the store for one set of rules (DeSO
//! edition, municipality, period): per area its residents, latest indicators, incident counts,
//! crude and smoothed rates, Gi* hotspot status, composite index, housing class, områdestyp and
//! EST status. The map's layers, the profile, `classify`, the route report and the analyses read
//! these typed fields; nothing is parsed back out of JSON.

mod classify;
mod facts;

pub use classify::{EstAreas, EstWeeks, IndexResult, Level, Socioeconomic};
pub use facts::AreaFacts;

use crate::classify::est::{self, EstRule};
use crate::classify::housing::{classify_housing, CrowdingRule};
use crate::classify::index::{composite, IndexConfig};
use crate::model::{Area, Incident, IndicatorValue};
use crate::spatial::AreaIndex;
use crate::stats::{self, getis_ord, GiParams, Transform, Weights};
use crate::store::{Store, StoreError, WeeklyCount};
use chrono::NaiveDate;
use std::collections::{BTreeMap, HashMap};

/// A point analysis asked for a period whose raw points were removed by gallring.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("raw incident points before {before} were removed by gallring; only weekly counts per DeSO remain, so point analyses need a period from {before} on")]
pub struct Thinned {
    pub before: NaiveDate,
}

/// Which areas and incidents a picture covers, and how its classes are made.
#[derive(Debug, Clone)]
pub struct Rules {
    /// DeSO edition; None: the newest in the store.
    pub edition: Option<String>,
    /// Municipality code; None: every municipality of the edition. Gi* runs over exactly these
    /// areas, so the map and the profile agree about a DeSO when they share the rules.
    pub municipality: Option<String>,
    /// Incidents on these days (inclusive); None: all.
    pub period: Option<(NaiveDate, NaiveDate)>,
    /// Contiguity tolerance for the hotspot and smoothing weights (simplified polygons have slivers).
    pub tolerance_m: f64,
    pub index: IndexConfig,
    pub est_rule: EstRule,
    pub crowding: CrowdingRule,
}

impl Default for Rules {
    fn default() -> Self {
        Rules {
            edition: None,
            municipality: None,
            period: None,
            tolerance_m: 25.0,
            index: IndexConfig::default(),
            est_rule: EstRule::default(),
            crowding: CrowdingRule::default(),
        }
    }
}

/// Latest value (and its year) of each indicator per DeSO.
pub type Latest = HashMap<String, BTreeMap<String, (i32, f64)>>;

/// The picture: one [`AreaFacts`] per area, the incidents it counted, and what it was made from.
pub struct AreaPicture {
    pub rules: Rules,
    pub areas: Vec<AreaFacts>,
    /// Every incident of the store in the period (all precisions), in store order.
    pub incidents: Vec<Incident>,
    /// The area (index into `areas`) of each incident; None outside them or without point precision.
    pub area_of_incident: Vec<Option<u32>>,
    /// Every indicator value of the store (trends and sources need all years).
    pub indicators: Vec<IndicatorValue>,
    /// Residents per DeSO of every edition (latest `population` indicator, else the area's field).
    pub population: HashMap<String, f64>,
    /// Weekly counts of points removed by gallring, of the picture's edition and period: they
    /// enter the counts, rates, Gi* on DeSO and EST weeks exactly as the points did.
    pub thinned: Vec<WeeklyCount>,
    /// Raw points before this day were removed by gallring; point analyses cannot reach there.
    pub thinned_before: Option<NaiveDate>,
}

/// The latest value of each indicator per DeSO. The one place that picks "latest".
pub fn latest_by_area(indicators: &[IndicatorValue]) -> Latest {
    let mut m: Latest = HashMap::new();
    for v in indicators {
        let e = m.entry(v.deso.clone()).or_default().entry(v.indicator.clone()).or_insert((v.year, v.value));
        if v.year > e.0 {
            *e = (v.year, v.value);
        }
    }
    m
}

impl AreaPicture {
    pub fn from_store(store: &dyn Store, rules: Rules) -> Result<AreaPicture, StoreError> {
        let before = store.gallring_state()?.thinned_before;
        Ok(AreaPicture::build_with(&store.areas()?, store.indicators()?, store.incidents()?, (store.weekly_counts()?, before), rules))
    }

    /// Builds the picture from store data (every edition's areas; the rules choose).
    pub fn build(all_areas: &[Area], indicators: Vec<IndicatorValue>, incidents: Vec<Incident>, rules: Rules) -> AreaPicture {
        AreaPicture::build_with(all_areas, indicators, incidents, (vec![], None), rules)
    }

    /// As [`AreaPicture::build`], with the weekly counts of thinned points and the gallring date.
    pub fn build_with(
        all_areas: &[Area],
        indicators: Vec<IndicatorValue>,
        incidents: Vec<Incident>,
        (thinned, thinned_before): (Vec<WeeklyCount>, Option<NaiveDate>),
        rules: Rules,
    ) -> AreaPicture {
        let areas: Vec<Area> = crate::summary::select_edition(all_areas, rules.edition.as_deref())
            .into_iter()
            .filter(|a| rules.municipality.as_ref().is_none_or(|k| *k == a.kommun))
            .cloned()
            .collect();
        let incidents: Vec<Incident> = match rules.period {
            Some((from, to)) => incidents.into_iter().filter(|i| (from..=to).contains(&i.occurred_at.date())).collect(),
            None => incidents,
        };
        let population = crate::summary::population_by_area(all_areas, &indicators);
        let latest = latest_by_area(&indicators);
        let area_of_incident = join(&areas, &incidents);
        let mut facts: Vec<AreaFacts> = areas.into_iter().map(|a| AreaFacts::new(a, &population, &latest)).collect();
        for (j, i) in area_of_incident.iter().zip(&incidents) {
            if let Some(a) = j {
                let f = &mut facts[*a as usize];
                f.incidents += 1;
                *f.by_category.entry(i.category).or_default() += 1;
            }
        }
        let edition = facts.first().map(|f| f.area.version.clone()).unwrap_or_default();
        let thinned: Vec<WeeklyCount> = crate::store::gallring::counts_in(&thinned, &edition, rules.period).cloned().collect();
        let row: HashMap<String, usize> = facts.iter().enumerate().map(|(k, f)| (f.area.deso.clone(), k)).collect();
        for c in &thinned {
            if let Some(k) = row.get(&c.deso) {
                facts[*k].incidents += c.count;
                *facts[*k].by_category.entry(c.category).or_default() += c.count;
            }
        }
        let w = Weights::contiguity(&facts.iter().map(|f| f.area.geometry.clone()).collect::<Vec<_>>(), true, rules.tolerance_m);
        smoothed_rates(&mut facts, &w);
        hotspots(&mut facts, &w);
        index_and_housing(&mut facts, &rules);
        est_last_week(&mut facts, &incidents, &area_of_incident, &rules.est_rule);
        AreaPicture { rules, areas: facts, incidents, area_of_incident, indicators, population, thinned, thinned_before }
    }

    /// The facts of one DeSO.
    pub fn get(&self, deso: &str) -> Option<&AreaFacts> {
        self.areas.iter().find(|f| f.area.deso == deso)
    }

    /// The areas themselves, in the picture's order.
    pub fn area_list(&self) -> Vec<Area> {
        self.areas.iter().map(|f| f.area.clone()).collect()
    }

    /// The incidents that enter point statistics (exact, address, street precision).
    pub fn point_incidents(&self) -> impl Iterator<Item = &Incident> {
        self.incidents.iter().filter(|i| i.precision.is_point_statistic())
    }

    /// Point analyses need the points themselves: a period starting or ending before the
    /// gallring date would silently miss the thinned ones. Without `from` a period starts at the
    /// oldest point still stored.
    pub fn check_point_period(&self, from: Option<NaiveDate>, to: Option<NaiveDate>) -> Result<(), Thinned> {
        match self.thinned_before {
            Some(before) if from.is_some_and(|d| d < before) || to.is_some_and(|d| d < before) => Err(Thinned { before }),
            _ => Ok(()),
        }
    }

    /// The DeSO edition the picture shows.
    pub fn edition(&self) -> String {
        self.areas.first().map(|f| f.area.version.clone()).unwrap_or_default()
    }
}

/// The area of each point-precision incident; centroid-located ones stay out (they would make a
/// false cluster).
fn join(areas: &[Area], incidents: &[Incident]) -> Vec<Option<u32>> {
    let polys: Vec<_> = areas.iter().map(|a| a.geometry.clone()).collect();
    let codes: Vec<&str> = areas.iter().map(|a| a.deso.as_str()).collect();
    let index = AreaIndex::new(&polys, &codes);
    let xy: Vec<(f64, f64)> = incidents.iter().map(|i| (i.location.x(), i.location.y())).collect();
    let mut joined = index.join(&xy).area;
    for (j, i) in joined.iter_mut().zip(incidents) {
        if !i.precision.is_point_statistic() {
            *j = None;
        }
    }
    joined
}

/// DeSO have 700–2,700 residents, so crude rates jump with a handful of incidents. Empirical
/// Bayes (clipped, as GeoDa/ArcGIS) and spatial EB over the queen window; areas without
/// population are left out of the smoothing.
fn smoothed_rates(facts: &mut [AreaFacts], w: &Weights) {
    let with_pop: Vec<usize> = (0..facts.len()).filter(|k| facts[*k].population.is_some_and(|p| p > 0.0)).collect();
    if with_pop.len() < 3 {
        return;
    }
    let e: Vec<f64> = with_pop.iter().map(|k| facts[*k].incidents as f64).collect();
    let b: Vec<f64> = with_pop.iter().map(|k| facts[*k].population.unwrap_or(0.0)).collect();
    let nb: Vec<Vec<usize>> = with_pop.iter().map(|k| w.row(*k).0.iter().filter_map(|j| with_pop.iter().position(|x| *x == *j as usize)).collect()).collect();
    if let (Ok(r), Ok(wsub)) = (stats::smoothing::rates(&e, &b), Weights::from_neighbors(&nb, stats::WeightsKind::Custom)) {
        let sr = stats::smoothing::spatial_rates(&e, &b, &wsub).ok();
        for (i, k) in with_pop.iter().enumerate() {
            facts[*k].eb_per_1000 = Some(1000.0 * r.eb_clipped[i]);
            facts[*k].seb_per_1000 = sr.as_ref().map(|s| 1000.0 * s.spatial_eb[i]);
        }
    }
}

/// Gi* on incident counts over the picture's areas: binary queen weights with self, FDR bins.
fn hotspots(facts: &mut [AreaFacts], w: &Weights) {
    let y: Vec<f64> = facts.iter().map(|f| f.incidents as f64).collect();
    if let Ok(gi) = getis_ord(&y, w, &GiParams { star: true, transform: Transform::B, permutations: 0, seed: 0, fdr: true }) {
        for (k, f) in facts.iter_mut().enumerate() {
            f.gi_z = Some(gi.z[k]);
            f.gi_p = Some(gi.p_norm[k]);
            f.gi_bin = Some(gi.bin[k]);
        }
    }
}

fn index_and_housing(facts: &mut [AreaFacts], rules: &Rules) {
    let table: BTreeMap<String, BTreeMap<String, f64>> =
        facts.iter().map(|f| (f.area.deso.clone(), f.indicators.iter().map(|(k, (_, v))| (k.clone(), *v)).collect())).collect();
    let mut rows: HashMap<String, _> = composite(&table, &rules.index).into_iter().map(|r| (r.area.clone(), r)).collect();
    for f in facts.iter_mut() {
        f.index = rows.remove(&f.area.deso);
        let get = |n: &str| f.latest(n);
        f.housing = classify_housing(get("tenure_hyresratt"), get("tenure_bostadsratt"), get("tenure_aganderatt"), get("crowding_pct"), &rules.crowding);
    }
}

/// EST status of each area in the last week that has incidents.
fn est_last_week(facts: &mut [AreaFacts], incidents: &[Incident], area_of: &[Option<u32>], rule: &EstRule) {
    let times: Vec<_> = incidents.iter().filter(|i| i.precision.is_point_statistic()).map(|i| i.occurred_at).collect();
    let (Some(first), Some(last)) = (times.iter().min(), times.iter().max()) else { return };
    let weeks = est::weeks_between(first.date(), last.date());
    let Some(lw) = weeks.last() else { return };
    let list: Vec<(Vec<String>, &Incident)> =
        area_of.iter().zip(incidents).filter_map(|(j, i)| j.map(|a| (vec![facts[a as usize].area.deso.clone()], i))).collect();
    let names: Vec<String> = facts.iter().map(|f| f.area.deso.clone()).collect();
    let by_area: HashMap<String, est::WeekStatus> =
        est::weekly_status(&names, std::slice::from_ref(lw), &list, rule).into_iter().map(|s| (s.area.clone(), s)).collect();
    for f in facts.iter_mut() {
        f.est = by_area.get(&f.area.deso).cloned();
    }
}
