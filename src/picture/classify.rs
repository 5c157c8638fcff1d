//! Classifications over a picture that the command line and the service share: the composite
//! index per DeSO or RegSO, SCB's socioeconomic index from its parts, and EST weekly status per
//! area (DeSO, RegSO or named custom polygons).

use super::AreaPicture;
use crate::classify::est::{self, EstRule, WeekStatus};
use crate::classify::index::{composite, IndexConfig, IndexRow};
use crate::classify::omradestyp::{self, DerivedRule, DerivedType};
use crate::model::Incident;
use std::collections::BTreeMap;

/// The unit an index or EST status is given for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Deso,
    Regso,
}

/// Composite index per unit. A RegSO's inputs are its DeSO's latest values weighted by residents.
pub struct IndexResult {
    pub rows: Vec<IndexRow>,
    /// The outline of each unit (a RegSO is the union of its DeSO's parts).
    pub outlines: BTreeMap<String, geo::MultiPolygon<f64>>,
}

impl AreaPicture {
    pub fn index(&self, cfg: &IndexConfig, level: Level) -> IndexResult {
        let mut groups: BTreeMap<String, Vec<&super::AreaFacts>> = BTreeMap::new();
        for f in &self.areas {
            groups.entry(if level == Level::Deso { f.area.deso.clone() } else { f.area.regso.clone() }).or_default().push(f);
        }
        let mut table: BTreeMap<String, BTreeMap<String, f64>> = BTreeMap::new();
        let mut outlines = BTreeMap::new();
        for (unit, members) in &groups {
            let mut m = BTreeMap::new();
            for var in &cfg.variables {
                let vals: Vec<(f64, f64)> = members.iter().filter_map(|f| f.latest(&var.indicator).map(|v| (v, f.population.unwrap_or(1.0)))).collect();
                let w: f64 = vals.iter().map(|v| v.1).sum();
                if !vals.is_empty() && w > 0.0 {
                    m.insert(var.indicator.clone(), vals.iter().map(|v| v.0 * v.1).sum::<f64>() / w);
                }
            }
            table.insert(unit.clone(), m);
            outlines.insert(unit.clone(), geo::MultiPolygon(members.iter().flat_map(|f| f.area.geometry.0.iter().cloned()).collect()));
        }
        IndexResult { rows: composite(&table, cfg), outlines }
    }

    /// SCB's socioeconomic index from the three named indicators and types derived from it.
    pub fn socioeconomic(&self, parts: [&str; 3], rule: &DerivedRule) -> Socioeconomic {
        let values: Vec<[Option<f64>; 3]> = self.areas.iter().map(|f| parts.map(|p| f.latest(p))).collect();
        let index: Vec<Option<f64>> = values.iter().map(|p| omradestyp::socioeconomic_index(p[0], p[1], p[2])).collect();
        let (types, mean, sd) = omradestyp::derive_types(&index, rule);
        let missing = self
            .areas
            .iter()
            .zip(&values)
            .filter(|(_, p)| p.iter().any(|x| x.is_none()))
            .map(|(f, p)| {
                let names: Vec<&str> = parts.iter().zip(p).filter(|(_, v)| v.is_none()).map(|(n, _)| *n).collect();
                format!("{} ({})", f.area.deso, names.join(", "))
            })
            .collect();
        Socioeconomic { scored: index.iter().filter(|x| x.is_some()).count(), types, mean, sd, missing }
    }

    /// EST status per area and ISO week from the first to the last point incident. Custom
    /// areas may overlap: each polygon counts independently. None without point incidents.
    pub fn est_weeks(&self, areas: EstAreas, rule: &EstRule) -> Option<EstWeeks> {
        let inc: Vec<&Incident> = self.point_incidents().collect();
        let kept = self.kept_counts(&areas);
        let days = inc.iter().map(|i| i.occurred_at.date()).chain(self.thinned.iter().map(|c| c.week_start));
        let first = days.clone().min()?;
        let last = days.max()?;
        let (names, list) = self.est_assignment(areas, &inc);
        let weeks = est::weeks_between(first, last);
        let statuses = est::weekly_status_with_counts(&names, &weeks, &list, &kept, rule);
        Some(EstWeeks { areas: names, weeks, statuses })
    }

    /// Weekly counts of thinned points per unit of a level; custom polygons cannot place them
    /// (the points are gone), so they get none.
    fn kept_counts(&self, areas: &EstAreas) -> Vec<est::KeptCount> {
        let EstAreas::Level(level) = areas else { return vec![] };
        let by_deso: std::collections::HashMap<&str, &super::AreaFacts> = self.areas.iter().map(|f| (f.area.deso.as_str(), f)).collect();
        self.thinned
            .iter()
            .filter_map(|c| {
                let f = by_deso.get(c.deso.as_str())?;
                let unit = if *level == Level::Deso { f.area.deso.clone() } else { format!("{} {}", f.area.regso, f.area.regso_name) };
                Some((unit, c.iso_week.clone(), c.category, c.count))
            })
            .collect()
    }

    fn est_assignment<'a>(&'a self, areas: EstAreas, inc: &[&'a Incident]) -> (Vec<String>, Vec<(Vec<String>, &'a Incident)>) {
        use geo::Intersects;
        let regso_name = |f: &super::AreaFacts| format!("{} {}", f.area.regso, f.area.regso_name);
        match areas {
            EstAreas::Custom(names, polys) => {
                let list =
                    inc.iter().map(|i| (names.iter().zip(polys).filter(|(_, p)| p.intersects(&i.location)).map(|(n, _)| n.clone()).collect(), *i)).collect();
                (names.to_vec(), list)
            }
            EstAreas::Level(level) => {
                // The picture's own join: a point on a border goes to one area only.
                let unit = |f: &super::AreaFacts| if level == Level::Deso { f.area.deso.clone() } else { regso_name(f) };
                let list = self
                    .incidents
                    .iter()
                    .zip(&self.area_of_incident)
                    .filter(|(i, _)| i.precision.is_point_statistic())
                    .map(|(i, a)| (a.map(|a| unit(&self.areas[a as usize])).into_iter().collect(), i))
                    .collect();
                let mut names: Vec<String> = self.areas.iter().map(unit).collect();
                if level == Level::Regso {
                    names.sort();
                    names.dedup();
                }
                (names, list)
            }
        }
    }
}

/// Which areas EST statuses are given for.
pub enum EstAreas<'a> {
    Level(Level),
    /// Named polygons in EPSG:3006.
    Custom(&'a [String], &'a [geo::MultiPolygon<f64>]),
}

pub struct EstWeeks {
    pub areas: Vec<String>,
    pub weeks: Vec<String>,
    pub statuses: Vec<WeekStatus>,
}

pub struct Socioeconomic {
    /// Per area in the picture's order; None where a part is missing (never imputed).
    pub types: Vec<Option<DerivedType>>,
    pub scored: usize,
    pub mean: f64,
    pub sd: f64,
    /// `DESO (missing parts)` of each area without an index.
    pub missing: Vec<String>,
}
