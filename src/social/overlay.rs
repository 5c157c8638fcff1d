//! The social picture of a plan area: each DeSO it touches with its `share` (the fraction of the
//! DeSO's area inside the plan area, by exact polygon intersection), and every indicator
//! aggregated over those shares by the catalogue's rule. Residents are assumed evenly spread over
//! a DeSO, which is the only assumption SCB's area statistics allow; a plan area that covers only
//! slivers of DeSO areas gets a warning on every value that rests on them.

use super::catalogue::{Aggregate, Catalogue};
use super::plan::{PlanArea, PlanAreaError};
use crate::classify::goals::{Overlap, PoliceArea};
use crate::classify::housing::{classify_housing, CrowdingRule, HousingClass};
use crate::classify::omradestyp::type_label_sv;
use crate::picture::{AreaFacts, AreaPicture};
use crate::profile::{CategoryCount, HotspotLine, IndicatorLine};
use geo::{Area as _, BooleanOps, BoundingRect, Intersects};
use serde::Serialize;
use std::collections::BTreeMap;

/// A DeSO covered less than this (10 %) is a sliver: its values describe mostly land outside
/// the plan area.
pub const SLIVER_SHARE: f64 = 0.10;

/// Intersections smaller than this (1 m²) are shared borders and rounding, not overlap.
const MIN_OVERLAP_M2: f64 = 1.0;

#[derive(Debug, Clone, Serialize)]
pub struct DesoShare {
    pub deso: String,
    pub regso: String,
    pub regso_name: String,
    pub kommun: String,
    /// Fraction (0–1) of the DeSO's area inside the plan area.
    pub share: f64,
    pub area_in_plan_m2: f64,
    pub population: Option<f64>,
    /// Residents × share.
    pub residents_in_plan: Option<f64>,
    pub omradestyp: Option<u8>,
    pub sliver: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct RegsoShare {
    pub regso: String,
    pub name: String,
    /// Fraction (0–1) of the RegSO's area (its DeSO together) inside the plan area.
    pub share: f64,
}

/// An indicator of the plan area: the same line as in an area profile (value, year, the
/// municipality's and county's values, source), with how it was made from the DeSO it touches.
#[derive(Debug, Clone, Serialize)]
pub struct PlanIndicator {
    /// `year` is the newest year among the DeSO values used.
    #[serde(flatten)]
    pub line: IndicatorLine,
    pub unit: String,
    /// How the value was made from the DeSO values.
    pub method: Aggregate,
    pub method_sv: &'static str,
    /// DeSO with a value, of the DeSO the plan area touches.
    pub desos_with_value: usize,
    pub desos_touched: usize,
    pub warning: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TypeShare {
    pub omradestyp: u8,
    pub label_sv: &'static str,
    /// Residents (× share) of the plan area in DeSO of this type.
    pub residents_in_plan: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct PlanProfile {
    pub name: String,
    pub area_km2: f64,
    pub vertices: usize,
    pub kommun: String,
    pub deso_version: String,
    /// Σ population × share over the DeSO touched.
    pub population: Option<f64>,
    pub population_method: &'static str,
    pub desos: Vec<DesoShare>,
    pub regsos: Vec<RegsoShare>,
    pub indicators: Vec<PlanIndicator>,
    pub omradestyp: Vec<TypeShare>,
    pub housing: HousingClass,
    /// Point incidents inside the plan area.
    pub incidents_total: Option<u64>,
    pub incidents_by_category: Vec<CategoryCount>,
    pub hotspots: Vec<HotspotLine>,
    pub police_areas: Vec<Overlap>,
    pub warnings: Vec<String>,
    pub notes: Vec<String>,
    pub generated: String,
}

/// What the overlay needs beside the picture.
#[derive(Default)]
pub struct PlanOptions {
    pub name: Option<String>,
    pub catalogue: Catalogue,
    pub police: Vec<PoliceArea>,
    pub crowding: CrowdingRule,
}

/// Each picture area the plan touches, with the share of its area inside.
fn touched<'a>(picture: &'a AreaPicture, plan: &geo::MultiPolygon<f64>) -> Vec<(&'a AreaFacts, f64, f64)> {
    let Some(rect) = plan.bounding_rect() else { return vec![] };
    picture
        .areas
        .iter()
        .filter(|f| f.area.geometry.bounding_rect().is_some_and(|r| r.intersects(&rect)))
        .filter_map(|f| {
            let inside = f.area.geometry.intersection(plan).unsigned_area();
            let total = f.area.geometry.unsigned_area();
            (inside >= MIN_OVERLAP_M2 && total > 0.0).then(|| (f, (inside / total).min(1.0), inside))
        })
        .collect()
}

/// One DeSO's part in an aggregate: value, year, share, residents, area inside, sliver.
struct Part {
    value: f64,
    year: i32,
    share: f64,
    pop: f64,
    area_in: f64,
}

/// The aggregate of parts by a rule; None when no part has a value or no weight.
fn combine(rule: Aggregate, parts: &[Part]) -> Option<f64> {
    if parts.is_empty() {
        return None;
    }
    let weighted = |w: &dyn Fn(&Part) -> f64| {
        let total: f64 = parts.iter().map(w).sum();
        (total > 0.0).then(|| parts.iter().map(|p| p.value * w(p)).sum::<f64>() / total)
    };
    match rule {
        Aggregate::Sum => Some(parts.iter().map(|p| p.value * p.share).sum()),
        // Without residents the area inside is the only weight left.
        Aggregate::PopulationMean => weighted(&|p| p.pop * p.share).or_else(|| weighted(&|p| p.area_in)),
        Aggregate::AreaMean => weighted(&|p| p.area_in),
        Aggregate::None => None,
    }
}

fn parts_of(name: &str, areas: &[(&AreaFacts, f64, f64)]) -> Vec<Part> {
    areas
        .iter()
        .filter_map(|(f, share, area_in)| {
            f.indicators.get(name).map(|(year, value)| Part { value: *value, year: *year, share: *share, pop: f.population.unwrap_or(0.0), area_in: *area_in })
        })
        .collect()
}

/// Indicator values of the plan area beside the municipality's and (where the store has them
/// outside it) the county's, each computed by the same rule over whole DeSO.
/// Whole areas of the picture (share 1) that `keep` selects.
fn whole<'a>(picture: &'a AreaPicture, keep: impl Fn(&AreaFacts) -> bool) -> Vec<(&'a AreaFacts, f64, f64)> {
    picture.areas.iter().filter(|f| keep(f)).map(|f| (f, 1.0, f.area.geometry.unsigned_area())).collect()
}

fn indicators(picture: &AreaPicture, mine: &[(&AreaFacts, f64, f64)], kommun: &str, cat: &Catalogue) -> Vec<PlanIndicator> {
    let kommun_areas = whole(picture, |f| f.area.kommun == kommun);
    let lan = kommun.get(..2).unwrap_or("");
    let county_areas = whole(picture, |f| f.area.kommun.starts_with(lan));
    let names: std::collections::BTreeSet<&String> = mine.iter().flat_map(|(f, _, _)| f.indicators.keys()).collect();
    let mut out = Vec::new();
    for name in names {
        let meta = cat.get(name);
        let mut parts = parts_of(name, mine);
        // Social-services counts are never shown for less than a whole DeSO: an area share of
        // a count would be an estimate for a smaller group of people.
        if meta.social_services {
            parts.iter_mut().for_each(|p| p.share = 1.0);
        }
        let Some(value) = combine(meta.aggregate, &parts) else { continue };
        let max_share = parts.iter().map(|p| p.share).fold(0.0, f64::max);
        let mut warning = (max_share < SLIVER_SHARE).then(|| {
            format!(
                "Planområdet täcker högst {} % av de DeSO som har värdet; värdet beskriver främst områden utanför planområdet.",
                crate::model::format_number_sv((max_share * 1000.0).round() / 10.0)
            )
        });
        if meta.social_services {
            warning = Some("Socialtjänstens uppgifter gäller hela de berörda DeSO-områdena, aldrig delar av dem.".into());
        } else if parts.len() < mine.len() && warning.is_none() {
            warning = Some(format!("Värde saknas för {} av {} DeSO som planområdet berör.", mine.len() - parts.len(), mine.len()));
        }
        let county_known = county_areas.iter().any(|(f, _, _)| f.area.kommun != kommun && f.indicators.contains_key(name));
        let line = IndicatorLine {
            year: parts.iter().map(|p| p.year).max().unwrap_or(0),
            value,
            municipality: combine(meta.aggregate, &parts_of(name, &kommun_areas)),
            county: county_known.then(|| combine(meta.aggregate, &parts_of(name, &county_areas))).flatten(),
            source: if meta.source.is_empty() { source_of(picture, name) } else { meta.source.clone() },
            label_sv: meta.label,
            indicator: name.clone(),
        };
        let method_sv = meta.aggregate.describe_sv();
        out.push(PlanIndicator { line, unit: meta.unit, method: meta.aggregate, method_sv, desos_with_value: parts.len(), desos_touched: mine.len(), warning });
    }
    out
}

fn source_of(picture: &AreaPicture, name: &str) -> String {
    picture.indicators.iter().find(|v| v.indicator == name).map(|v| v.source.clone()).unwrap_or_default()
}

/// Point incidents inside the plan area, by category, with rates over its residents.
fn incidents_inside(picture: &AreaPicture, plan: &geo::MultiPolygon<f64>, residents: Option<f64>) -> (u64, Vec<CategoryCount>) {
    let Some(rect) = plan.bounding_rect() else { return (0, vec![]) };
    let mut by_cat: BTreeMap<crate::model::Category, u64> = BTreeMap::new();
    for i in picture.point_incidents() {
        if rect.intersects(&i.location) && plan.intersects(&i.location) {
            *by_cat.entry(i.category).or_default() += 1;
        }
    }
    (by_cat.values().sum(), crate::profile::category_counts(by_cat, residents))
}

fn deso_shares(mine: &[(&AreaFacts, f64, f64)]) -> Vec<DesoShare> {
    mine.iter()
        .map(|(f, share, area_in)| DesoShare {
            deso: f.area.deso.clone(),
            regso: f.area.regso.clone(),
            regso_name: f.area.regso_name.clone(),
            kommun: f.area.kommun.clone(),
            share: *share,
            area_in_plan_m2: *area_in,
            population: f.population,
            residents_in_plan: f.population.map(|p| p * share),
            omradestyp: f.omradestyp,
            sliver: *share < SLIVER_SHARE,
        })
        .collect()
}

fn regso_shares(picture: &AreaPicture, mine: &[(&AreaFacts, f64, f64)]) -> Vec<RegsoShare> {
    let mut inside: BTreeMap<&str, f64> = BTreeMap::new();
    for (f, _, a) in mine {
        *inside.entry(f.area.regso.as_str()).or_default() += a;
    }
    inside
        .into_iter()
        .map(|(regso, a)| {
            let members: Vec<&AreaFacts> = picture.areas.iter().filter(|f| f.area.regso == regso).collect();
            let total: f64 = members.iter().map(|f| f.area.geometry.unsigned_area()).sum();
            let name = members.first().map(|f| f.area.regso_name.clone()).unwrap_or_default();
            RegsoShare { regso: regso.to_string(), name, share: if total > 0.0 { (a / total).min(1.0) } else { 0.0 } }
        })
        .collect()
}

fn type_shares(desos: &[DesoShare]) -> Vec<TypeShare> {
    let mut by: BTreeMap<u8, f64> = BTreeMap::new();
    for d in desos {
        if let Some(t) = d.omradestyp {
            *by.entry(t).or_default() += d.residents_in_plan.unwrap_or(0.0);
        }
    }
    by.into_iter().map(|(t, r)| TypeShare { omradestyp: t, label_sv: type_label_sv(t), residents_in_plan: r }).collect()
}

/// The social picture of a plan area.
pub fn build(picture: &AreaPicture, plan: &PlanArea, opts: &PlanOptions) -> Result<PlanProfile, PlanAreaError> {
    let mine = touched(picture, &plan.geometry);
    if mine.is_empty() {
        return Err(PlanAreaError::Outside);
    }
    let desos = deso_shares(&mine);
    // The municipality holding most of the plan area is the one it is compared with.
    let mut by_kommun: BTreeMap<&str, f64> = BTreeMap::new();
    for (f, _, a) in &mine {
        *by_kommun.entry(f.area.kommun.as_str()).or_default() += a;
    }
    let kommun = by_kommun.iter().max_by(|a, b| a.1.total_cmp(b.1)).map(|(k, _)| k.to_string()).unwrap_or_default();
    let residents: Vec<f64> = desos.iter().filter_map(|d| d.residents_in_plan).collect();
    let population = (!residents.is_empty()).then(|| residents.iter().sum::<f64>());
    let lines = indicators(picture, &mine, &kommun, &opts.catalogue);
    let value = |n: &str| lines.iter().find(|l| l.line.indicator == n).map(|l| l.line.value);
    let housing = classify_housing(value("tenure_hyresratt"), value("tenure_bostadsratt"), value("tenure_aganderatt"), value("crowding_pct"), &opts.crowding);
    let (total, by_category) = incidents_inside(picture, &plan.geometry, population);
    let hotspots =
        mine.iter().filter_map(|(f, _, _)| Some(HotspotLine { deso: f.area.deso.clone(), incidents: f.incidents, gi_z: f.gi_z?, gi_bin: f.gi_bin? })).collect();
    let mut warnings = plan.warnings.clone();
    if desos.iter().all(|d| d.sliver) {
        warnings.push(format!(
            "Planområdet täcker mindre än {} % av varje DeSO det berör: alla DeSO-värden beskriver främst områden utanför planområdet.",
            SLIVER_SHARE * 100.0
        ));
    }
    let mut notes = vec!["Invånarna antas vara jämnt fördelade över varje DeSO (befolkning × ytandel).".to_string()];
    if picture.incidents.iter().any(|i| i.description.starts_with("Syntetisk")) {
        notes.push("Händelserna i demodata är syntetiska (genererade), inte verkliga.".into());
    }
    Ok(PlanProfile {
        name: opts.name.clone().unwrap_or_else(|| "Planområde".into()),
        area_km2: plan.geometry.unsigned_area() / 1e6,
        vertices: plan.vertices,
        deso_version: picture.edition(),
        population,
        population_method: "summa av DeSO:s folkmängd × ytandel",
        regsos: regso_shares(picture, &mine),
        omradestyp: type_shares(&desos),
        desos,
        indicators: lines,
        housing,
        incidents_total: Some(total),
        incidents_by_category: by_category,
        hotspots,
        police_areas: crate::classify::goals::police_overlap(&plan.geometry, &opts.police),
        warnings,
        notes,
        generated: chrono::Local::now().format("%Y-%m-%d %H:%M").to_string(),
        kommun,
    })
}

/// Hides small counts for roles below analyst: incidents by category and in total, and the
/// values of social-services indicators (summed counts of people) under the threshold.
pub fn suppress_small_counts(p: &mut PlanProfile, min: u64, cat: &Catalogue) {
    let small = |n: f64| n > 0.0 && n < min as f64;
    let mut hidden = false;
    for c in p.incidents_by_category.iter_mut() {
        if c.count.is_some_and(|n| small(n as f64)) {
            (c.count, c.per_1000, hidden) = (None, None, true);
        }
    }
    if p.incidents_total.is_some_and(|n| small(n as f64)) {
        (p.incidents_total, hidden) = (None, true);
    }
    for h in p.hotspots.iter_mut() {
        if small(h.incidents as f64) {
            (h.incidents, hidden) = (0, true);
        }
    }
    p.indicators.retain(|l| {
        let keep = !(cat.is_social_services(&l.line.indicator) && (small(l.line.value) || l.line.municipality.is_some_and(small)));
        hidden |= !keep;
        keep
    });
    if hidden {
        p.notes.push(format!("Antal under {min} visas inte i den öppna vyn."));
    }
}
