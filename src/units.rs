//! Analysis units by name: every DeSO, every RegSO and every imported place (kommundel, focus
//! place, insats area), each with its incidents, its residents and the DeSO it overlaps. Reports,
//! the EST theme, the åtgärdsplan and the profile look areas up here, so a place is an area like
//! any other. Weeks thinned out by gallring count for DeSO and RegSO (whole DeSO); a place
//! carries a caveat instead ([`Unit::caveat`]).

use crate::model::{fold, Incident, Place};
use crate::picture::AreaPicture;
use geo::{Area, BooleanOps, BoundingRect, Intersects};
use serde::Serialize;
use std::collections::HashMap;

#[derive(Debug, Clone, Serialize)]
pub struct Unit {
    /// `deso`, `regso` or `place`.
    pub level: &'static str,
    /// DeSO or RegSO code; a place's name.
    pub code: String,
    pub name: String,
    /// `deso`, `regso`, or the place's kind (`kommundel`, `plats`, `insatsområde`).
    pub kind: String,
    /// The DeSO the unit covers and the share of each DeSO's area inside it (1 for DeSO/RegSO).
    pub desos: Vec<(String, f64)>,
    /// Residents: the DeSO sum, or for a place each DeSO's residents × its area share inside.
    pub population: Option<f64>,
    /// How `population` and the indicators were obtained (Swedish).
    pub method: String,
    /// Indexes into the picture's incidents (point precision only).
    #[serde(skip)]
    pub incidents: Vec<u32>,
    /// Weekly counts of points thinned out by gallring: (ISO week, category, count), of the
    /// whole DeSO the unit consists of. A place gets none (see [`Unit::caveat`]).
    #[serde(skip)]
    pub thinned: Vec<(String, crate::model::Category, u64)>,
    /// What the unit's figures leave out (Swedish); None when they are complete.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub caveat: Option<String>,
    #[serde(skip)]
    pub geometry: geo::MultiPolygon<f64>,
}

#[derive(Default)]
pub struct Units {
    pub units: Vec<Unit>,
}

/// A place's DeSO shares below this are slivers of simplified borders, not coverage.
const MIN_SHARE: f64 = 0.01;

impl Units {
    pub fn build(picture: &AreaPicture, places: &[Place]) -> Units {
        let mut units = Vec::new();
        let mut by_deso: HashMap<&str, Vec<u32>> = HashMap::new();
        for (k, (i, a)) in picture.incidents.iter().zip(&picture.area_of_incident).enumerate() {
            if let (Some(a), true) = (a, i.precision.is_point_statistic()) {
                by_deso.entry(picture.areas[*a as usize].area.deso.as_str()).or_default().push(k as u32);
            }
        }
        let mut thinned: HashMap<&str, Vec<(String, crate::model::Category, u64)>> = HashMap::new();
        for c in &picture.thinned {
            thinned.entry(c.deso.as_str()).or_default().push((c.iso_week.clone(), c.category, c.count));
        }
        let kept = |d: &str| thinned.get(d).cloned().unwrap_or_default();
        let pop = |d: &str| picture.population.get(d).copied();
        let mut regso: std::collections::BTreeMap<(String, String), Vec<&crate::picture::AreaFacts>> = Default::default();
        for f in &picture.areas {
            let d = f.area.deso.as_str();
            units.push(Unit {
                level: "deso",
                code: d.to_string(),
                name: if f.area.regso_name.is_empty() { d.to_string() } else { format!("{d} ({})", f.area.regso_name) },
                kind: "deso".into(),
                desos: vec![(d.to_string(), 1.0)],
                population: pop(d),
                method: "SCB:s värden för DeSO".into(),
                incidents: by_deso.get(d).cloned().unwrap_or_default(),
                thinned: kept(d),
                caveat: None,
                geometry: f.area.geometry.clone(),
            });
            if !f.area.regso.is_empty() {
                regso.entry((f.area.regso.clone(), f.area.regso_name.clone())).or_default().push(f);
            }
        }
        for ((code, name), fs) in regso {
            let mut inc: Vec<u32> = fs.iter().flat_map(|f| by_deso.get(f.area.deso.as_str()).cloned().unwrap_or_default()).collect();
            inc.sort_unstable();
            let p: Vec<f64> = fs.iter().filter_map(|f| pop(&f.area.deso)).collect();
            units.push(Unit {
                level: "regso",
                name: if name.is_empty() { code.clone() } else { name },
                code,
                kind: "regso".into(),
                desos: fs.iter().map(|f| (f.area.deso.clone(), 1.0)).collect(),
                population: (!p.is_empty()).then(|| p.iter().sum()),
                method: "summa/befolkningsvägt medel av RegSO:s DeSO".into(),
                incidents: inc,
                thinned: fs.iter().flat_map(|f| kept(&f.area.deso)).collect(),
                caveat: None,
                geometry: geo::MultiPolygon(fs.iter().flat_map(|f| f.area.geometry.0.iter().cloned()).collect()),
            });
        }
        units.extend(places.iter().map(|p| place_unit(picture, p)));
        Units { units }
    }

    /// A DeSO code, RegSO code or name, or place name (case and Å/Ä/Ö folded). Codes first, then
    /// RegSO names, then places: a place named like a RegSO is reached by its kind's list.
    pub fn resolve(&self, q: &str) -> Option<&Unit> {
        let f = fold(q.trim());
        self.units
            .iter()
            .find(|u| u.level != "place" && fold(&u.code) == f)
            .or_else(|| self.units.iter().find(|u| u.level == "regso" && fold(&u.name) == f))
            .or_else(|| self.units.iter().find(|u| u.level == "place" && fold(&u.name) == f))
    }

    /// The units a report goes through: RegSO and places (DeSO are too many to read).
    pub fn report_units(&self) -> impl Iterator<Item = &Unit> {
        self.units.iter().filter(|u| u.level != "deso")
    }

    pub fn of_level<'a>(&'a self, level: &'a str) -> impl Iterator<Item = &'a Unit> + 'a {
        self.units.iter().filter(move |u| u.level == level)
    }
}

impl Unit {
    pub fn incidents<'a>(&'a self, picture: &'a AreaPicture) -> impl Iterator<Item = &'a Incident> + 'a {
        self.incidents.iter().map(move |k| &picture.incidents[*k as usize])
    }

    /// Thinned points of one ISO week, by category (counts kept by gallring).
    pub fn thinned_in_week<'a>(&'a self, week: &'a str) -> impl Iterator<Item = (crate::model::Category, u64)> + 'a {
        self.thinned.iter().filter(move |(w, _, _)| w == week).map(|(_, c, n)| (*c, *n))
    }
}

fn place_unit(picture: &AreaPicture, p: &Place) -> Unit {
    let bbox = p.geometry.bounding_rect();
    let mut desos = Vec::new();
    let mut population = 0.0;
    let mut has_pop = false;
    for f in &picture.areas {
        if !bbox.zip(f.area.geometry.bounding_rect()).is_some_and(|(a, b)| a.intersects(&b)) {
            continue;
        }
        let whole = f.area.geometry.unsigned_area();
        let inside = f.area.geometry.intersection(&p.geometry).unsigned_area();
        let share = if whole > 0.0 { inside / whole } else { 0.0 };
        if share >= MIN_SHARE {
            if let Some(pp) = picture.population.get(&f.area.deso) {
                population += pp * share;
                has_pop = true;
            }
            desos.push((f.area.deso.clone(), share));
        }
    }
    let incidents = picture
        .incidents
        .iter()
        .enumerate()
        .filter(|(_, i)| i.precision.is_point_statistic() && bbox.is_some_and(|b| b.intersects(&i.location)) && p.geometry.intersects(&i.location))
        .map(|(k, _)| k as u32)
        .collect();
    let caveat = thinned_caveat(picture, &desos);
    Unit {
        level: "place",
        code: p.name.clone(),
        name: p.name.clone(),
        kind: p.kind.clone(),
        desos,
        population: has_pop.then_some(population),
        method: "händelser i platsens polygon; befolkning och indikatorer från de DeSO platsen täcker, vägda med andelen av varje DeSO:s yta inom platsen"
            .into(),
        incidents,
        thinned: vec![],
        caveat,
        geometry: p.geometry.clone(),
    }
}

/// A place's incidents are the points inside its polygon. Thinned weeks are kept only as counts
/// per whole DeSO, and spreading them by area share (the residents' rule) would place a DeSO's
/// incidents evenly over it, when they gather at a few spots: a place could gain a hot spot
/// that lies outside it or lose one that lies inside. So a place counts no thinned weeks and
/// says so, naming the gallring date, when a DeSO it covers has any.
fn thinned_caveat(picture: &AreaPicture, desos: &[(String, f64)]) -> Option<String> {
    let hit = picture.thinned.iter().any(|c| desos.iter().any(|(d, _)| *d == c.deso));
    let before = picture.thinned_before.map(|d| d.to_string()).unwrap_or_else(|| "gallringsdatumet".into());
    hit.then(|| {
        format!(
            "Händelser före {before} är gallrade och finns bara som antal per hel DeSO; de räknas inte in för platsen, \
             eftersom händelserna inte kan fördelas på platsen efter ytandel. Se DeSO- eller RegSO-nivån för de veckorna."
        )
    })
}
