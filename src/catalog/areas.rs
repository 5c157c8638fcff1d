//! The area layers of the picture: `deso` (every field of the picture), `regso` (unions of their
//! DeSO) and `incident_counts` (counts per DeSO and category).

use super::{feat, Access, Collection, Context, Feat, GeometryKind, Layer, LayerInfo};
use crate::picture::AreaFacts;
use crate::privacy::Role;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// Gaps between neighbouring areas up to this mean width (metres) and area (m²) are slivers of
/// independent simplification, closed on the map (DeSO cover the country without holes).
const MAX_SLIVER_WIDTH_M: f64 = 150.0;
const MAX_SLIVER_AREA_M2: f64 = 1_000_000.0;

pub struct Deso {
    /// Social-services indicators, suppressed like incident counts.
    pub social_services: Vec<String>,
}

impl Layer for Deso {
    fn info(&self) -> LayerInfo {
        LayerInfo::open("deso", "DeSO-områden", GeometryKind::Polygon, 8)
    }

    fn features(&self, cx: &Context, _role: Role) -> Option<Collection> {
        let picture = &cx.catalog.picture;
        // What the map draws: the same areas with one border between neighbours, so that no
        // slivers show (the picture's statistics use the stored polygons as they are). The other
        // area layers take these geometries from this layer.
        let polys: Vec<geo::MultiPolygon<f64>> = picture.areas.iter().map(|f| f.area.geometry.clone()).collect();
        let codes: Vec<&str> = picture.areas.iter().map(|f| f.area.deso.as_str()).collect();
        let (shown, _) = crate::spatial::topology::share_boundaries(&polys, &codes, MAX_SLIVER_WIDTH_M, MAX_SLIVER_AREA_M2);
        let feats = picture.areas.iter().zip(shown).map(|(f, g)| feat(f.area.deso.clone(), deso_props(f), g.into(), None)).collect();
        let count_fields = std::iter::once("incidents").chain(self.social_services.iter().map(|n| crate::privacy::count_field(n))).collect();
        let description =
            format!("DeSO {} med indikatorer, områdestyp, index, boendeklasser, antal händelser och hotspotstatus. Källa: SCB.", picture.edition());
        let mut c = Collection::new("deso", "DeSO-områden", description, Access::Open, count_fields, feats);
        let rules = &picture.rules;
        c.parameters = json!({"hotspot": {"statistic": "Gi*", "weights": "queen", "tolerance_m": rules.tolerance_m, "transform": "B", "fdr": true}, "index": rules.index, "est_rule": rules.est_rule.describe_sv()});
        Some(c)
    }
}

/// The map's geometry of each picture area, in the picture's order (the `deso` layer's).
fn shown(cx: &Context) -> Option<Vec<geo::MultiPolygon<f64>>> {
    let deso = cx.catalog.get("deso")?;
    deso.features
        .iter()
        .map(|f| match &f.g3006 {
            geo::Geometry::MultiPolygon(m) => Some(m.clone()),
            geo::Geometry::Polygon(p) => Some(geo::MultiPolygon(vec![p.clone()])),
            _ => None,
        })
        .collect()
}

pub struct Regso;

impl Layer for Regso {
    fn info(&self) -> LayerInfo {
        LayerInfo::open("regso", "RegSO-områden", GeometryKind::Polygon, 7)
    }

    fn features(&self, cx: &Context, _role: Role) -> Option<Collection> {
        let feats = regso_features(&cx.catalog.picture.areas, &shown(cx)?);
        Some(Collection::new("regso", "RegSO-områden", "RegSO som union av sina DeSO. Källa: SCB.".into(), Access::Open, vec!["incidents"], feats))
    }
}

pub struct IncidentCounts;

impl Layer for IncidentCounts {
    fn info(&self) -> LayerInfo {
        LayerInfo::open("incident_counts", "Händelser per DeSO och kategori", GeometryKind::Polygon, 8)
    }

    fn features(&self, cx: &Context, _role: Role) -> Option<Collection> {
        let areas = &cx.catalog.picture.areas;
        let feats = areas.iter().zip(shown(cx)?).map(|(f, g)| feat(f.area.deso.clone(), counts_props(f), g.into(), None)).collect();
        let count_fields =
            std::iter::once("incidents").chain(crate::model::Category::ALL.iter().map(|c| crate::privacy::count_field(&format!("n_{}", c.as_str())))).collect();
        let description = "Antal händelser per DeSO och kategori; små tal undertrycks för allmänhet och partner.".into();
        Some(Collection::new("incident_counts", "Händelser per DeSO och kategori", description, Access::Open, count_fields, feats))
    }
}

/// A DeSO's properties on the map: the picture's fields by name.
fn deso_props(f: &AreaFacts) -> Map<String, Value> {
    let a = &f.area;
    let mut p = Map::new();
    p.insert("deso".into(), a.deso.clone().into());
    p.insert("regso".into(), a.regso.clone().into());
    p.insert("regso_name".into(), a.regso_name.clone().into());
    p.insert("kommun".into(), a.kommun.clone().into());
    p.insert("version".into(), a.version.clone().into());
    p.insert("population".into(), f.population.into());
    for (name, (year, v)) in &f.indicators {
        p.insert(name.clone(), (*v).into());
        p.insert(format!("{name}_year"), (*year).into());
    }
    p.insert("dominant_tenure".into(), f.housing.dominant_tenure.clone().into());
    p.insert("tenure_diversity".into(), f.housing.tenure_diversity.into());
    p.insert("crowding_class".into(), f.housing.crowding_class.map(Value::from).unwrap_or(Value::Null));
    if let Some(r) = &f.index {
        p.insert("index_score".into(), r.score.into());
        p.insert("index_rank".into(), r.rank.into());
        p.insert("index_quintile".into(), r.quintile.into());
    }
    p.insert("incidents".into(), f.incidents.into());
    p.insert("incidents_per_1000".into(), f.per_1000().into());
    p.insert("incidents_eb_per_1000".into(), f.eb_per_1000.into());
    p.insert("incidents_seb_per_1000".into(), f.seb_per_1000.into());
    if let (Some(z), Some(bin)) = (f.gi_z, f.gi_bin) {
        p.insert("gi_z".into(), z.into());
        p.insert("gi_bin".into(), bin.into());
    }
    if let Some(s) = &f.est {
        p.insert("est_week".into(), s.iso_week.clone().into());
        p.insert("est_status".into(), serde_json::to_value(s.status).unwrap_or(Value::Null));
        p.insert("est_score".into(), s.score.into());
    }
    p
}

fn counts_props(f: &AreaFacts) -> Map<String, Value> {
    let mut cp = Map::new();
    cp.insert("deso".into(), f.area.deso.clone().into());
    cp.insert("regso_name".into(), f.area.regso_name.clone().into());
    cp.insert("incidents".into(), f.incidents.into());
    for c in crate::model::Category::ALL {
        cp.insert(format!("n_{}", c.as_str()), f.by_category.get(&c).copied().unwrap_or(0).into());
    }
    cp
}

/// RegSO: the union of its DeSO, counts summed, population-weighted shares.
fn regso_features(areas: &[AreaFacts], shown: &[geo::MultiPolygon<f64>]) -> Vec<Feat> {
    let mut groups: BTreeMap<String, Vec<(&AreaFacts, &geo::MultiPolygon<f64>)>> = BTreeMap::new();
    for (f, g) in areas.iter().zip(shown) {
        groups.entry(f.area.regso.clone()).or_default().push((f, g));
    }
    groups
        .iter()
        .map(|(code, members)| {
            let parts: Vec<geo::Polygon<f64>> = members.iter().flat_map(|(_, g)| g.0.iter().cloned()).collect();
            let members: Vec<&AreaFacts> = members.iter().map(|(f, _)| *f).collect();
            let geom = geo::unary_union(parts.iter());
            let mut p = Map::new();
            p.insert("regso".into(), code.clone().into());
            p.insert("regso_name".into(), members[0].area.regso_name.clone().into());
            p.insert("kommun".into(), members[0].area.kommun.clone().into());
            p.insert("deso_count".into(), members.len().into());
            let popn: f64 = members.iter().filter_map(|f| f.population).sum();
            let n: u64 = members.iter().map(|f| f.incidents).sum();
            p.insert("population".into(), popn.into());
            p.insert("incidents".into(), n.into());
            p.insert("incidents_per_1000".into(), (popn > 0.0).then(|| 1000.0 * n as f64 / popn).into());
            if let Some(t) = members.iter().find_map(|f| f.omradestyp) {
                p.insert("omradestyp".into(), (t as f64).into());
            }
            feat(code.clone(), p, geom.into(), None)
        })
        .collect()
}
