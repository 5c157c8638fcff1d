//! The collections the service publishes, built once from the store (analysis layers lazily, on
//! first use), and the role-dependent view of each feature.

use super::auth::Role;
use crate::classify::est::{self, EstRule};
use crate::classify::housing::{classify_housing, CrowdingRule};
use crate::classify::index::{composite, IndexConfig};
use crate::model::{Area, Incident, IndicatorValue};
use crate::spatial::grid::GridSpec;
use crate::spatial::AreaIndex;
use crate::stats::{self, getis_ord, GiParams, Transform, Weights};
use chrono::NaiveDateTime;
use geo::BoundingRect;
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, OnceLock};

/// Who may read a collection, and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Aggregates and reference data: every role; small counts hidden from public and partner.
    Open,
    /// Incident points: analyst and up raw (audited), partner snapped to 250 m, public refused.
    Incidents,
}

#[derive(Debug, Clone)]
pub struct Feat {
    pub id: String,
    pub props: Map<String, Value>,
    /// Geometry in SWEREF 99 TM.
    pub g3006: geo::Geometry<f64>,
    /// Geometry in WGS84 lon/lat.
    pub gwgs: geo::Geometry<f64>,
    pub bbox_wgs: [f64; 4],
    pub time: Option<NaiveDateTime>,
    /// The WGS84 geometry serialised once, since most requests want exactly this.
    pub gwgs_json: Arc<str>,
}

/// GeoJSON text of a geometry.
pub fn geometry_text(g: &geo::Geometry<f64>) -> Arc<str> {
    serde_json::to_string(&geojson::Geometry::new(geojson::Value::from(g))).unwrap_or_else(|_| "null".into()).into()
}

#[derive(Debug, Clone)]
pub struct Collection {
    pub id: &'static str,
    pub title: &'static str,
    pub description: String,
    pub access: Access,
    /// Properties that are counts of incidents (suppressed below the threshold for public/partner).
    pub count_fields: Vec<&'static str>,
    pub features: Vec<Feat>,
    pub temporal: bool,
    /// How the layer was made (weights, parameters), for the map's "explain" text.
    pub parameters: Value,
}

impl Collection {
    pub fn extent_wgs84(&self) -> Option<[f64; 4]> {
        self.features.iter().map(|f| f.bbox_wgs).reduce(|a, b| [a[0].min(b[0]), a[1].min(b[1]), a[2].max(b[2]), a[3].max(b[3])])
    }

    pub fn time_extent(&self) -> Option<(NaiveDateTime, NaiveDateTime)> {
        let mut it = self.features.iter().filter_map(|f| f.time);
        let first = it.next()?;
        Some(it.fold((first, first), |(a, b), t| (a.min(t), b.max(t))))
    }

    /// Property names for the schema and filters.
    pub fn property_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.features.iter().flat_map(|f| f.props.keys().cloned()).collect();
        names.sort();
        names.dedup();
        names
    }
}

/// A feature as a given role may see it, or None when the role may not see it at all.
pub fn view(c: &Collection, f: &Feat, role: Role, min_count: u64) -> Option<(Map<String, Value>, geo::Geometry<f64>, geo::Geometry<f64>, String)> {
    match c.access {
        Access::Open => {
            let mut p = f.props.clone();
            if role.suppresses_small_counts() {
                suppress(&mut p, &c.count_fields, min_count);
            }
            Some((p, f.g3006.clone(), f.gwgs.clone(), f.id.clone()))
        }
        Access::Incidents => {
            if role.raw_points() {
                return Some((f.props.clone(), f.g3006.clone(), f.gwgs.clone(), f.id.clone()));
            }
            if role != Role::Partner {
                return None;
            }
            // Partner: the point moves to the centre of its 250 m cell; only category and week remain.
            let geo::Geometry::Point(p) = &f.g3006 else { return None };
            let g = GridSpec::square(250.0);
            let cell = g.cell(&g.key_of(p.x(), p.y()));
            let snapped = geo::Geometry::Point(geo::Point::new(cell.centre[0], cell.centre[1]));
            let wgs = to_wgs84(&snapped).ok()?;
            let mut props = Map::new();
            for k in ["category", "category_sv", "iso_week"] {
                if let Some(v) = f.props.get(k) {
                    props.insert(k.into(), v.clone());
                }
            }
            props.insert("cell_id".into(), cell.id.clone().into());
            props.insert("precision".into(), "grid_250m".into());
            // An opaque id: the raw id would link partner views to raw records.
            let id = format!("p{}", &crate::api::auth::hash_token(&f.id)[..16]);
            Some((props, snapped, wgs, id))
        }
    }
}

/// Counts from 1 to `min − 1` become null, with `<field>_suppressed: true`. Zero stays zero.
pub fn suppress(p: &mut Map<String, Value>, fields: &[&str], min: u64) {
    for f in fields {
        if let Some(v) = p.get(*f).and_then(|v| v.as_f64()) {
            if v > 0.0 && v < min as f64 {
                p.insert((*f).to_string(), Value::Null);
                p.insert(format!("{f}_suppressed"), Value::Bool(true));
                // A rate derived from a suppressed count would reveal it (smoothed ones too).
                for rate in [format!("{f}_per_1000"), format!("{f}_eb_per_1000"), format!("{f}_seb_per_1000")] {
                    if p.contains_key(&rate) {
                        p.insert(rate, Value::Null);
                    }
                }
            }
        }
    }
}

/// Reprojects EPSG:3006 → WGS84 lon/lat, rounded to 7 decimals (~1 cm).
pub fn to_wgs84(g: &geo::Geometry<f64>) -> Result<geo::Geometry<f64>, String> {
    thread_local! {
        static T: gdal::spatial_ref::CoordTransform = crate::io::transform_between(3006, 4326).expect("EPSG:3006 -> 4326");
    }
    T.with(|t| crate::analysis::reproject(g, t)).map(|g| {
        use geo::MapCoords;
        g.map_coords(|c| geo::coord! { x: (c.x * 1e7).round() / 1e7, y: (c.y * 1e7).round() / 1e7 })
    })
}

pub fn feat(id: String, props: Map<String, Value>, g3006: geo::Geometry<f64>, time: Option<NaiveDateTime>) -> Feat {
    let gwgs = to_wgs84(&g3006).unwrap_or_else(|_| g3006.clone());
    let bbox_wgs = gwgs.bounding_rect().map(|r| [r.min().x, r.min().y, r.max().x, r.max().y]).unwrap_or([0.0; 4]);
    let gwgs_json = geometry_text(&gwgs);
    Feat { id, props, g3006, gwgs, bbox_wgs, time, gwgs_json }
}

/// A feature from parts already in both CRSs (analysis results).
pub fn feat_from(id: String, props: Map<String, Value>, g3006: geo::Geometry<f64>, gwgs: geo::Geometry<f64>, bbox_wgs: [f64; 4]) -> Feat {
    let gwgs_json = geometry_text(&gwgs);
    Feat { id, props, g3006, gwgs, bbox_wgs, time: None, gwgs_json }
}

/// Everything the layer service publishes.
pub struct LayerSet {
    pub base: Vec<Arc<Collection>>,
    /// The store's incidents, shared with the snapshot (one copy in memory).
    pub incidents: Arc<Vec<Incident>>,
    pub areas: Vec<Area>,
    pub deso_of_incident: Vec<Option<u32>>,
    /// Incident points as features: large (a feature per incident), so built on first use.
    incident_points: OnceLock<Arc<Collection>>,
    hotspots_grid: OnceLock<Arc<Collection>>,
    density: OnceLock<Arc<Collection>>,
    emerging: OnceLock<Arc<Collection>>,
}

pub const LAZY: &[(&str, &str)] =
    &[("hotspots_grid", "Hotspots (rutnät, Gi*)"), ("density", "Händelsetäthet (kerneltäthet)"), ("emerging", "Framväxande hotspots")];

impl LayerSet {
    pub fn get(&self, id: &str) -> Option<Arc<Collection>> {
        if let Some(c) = self.base.iter().find(|c| c.id == id) {
            return Some(c.clone());
        }
        // Points are gathered only when a lazy layer is first built, not on every request.
        let points =
            || -> Vec<[f64; 2]> { self.incidents.iter().filter(|i| i.precision.is_point_statistic()).map(|i| [i.location.x(), i.location.y()]).collect() };
        match id {
            "incidents" => {
                Some(self.incident_points.get_or_init(|| Arc::new(incident_collection(&self.incidents, &self.deso_of_incident, &self.areas))).clone())
            }
            "hotspots_grid" => Some(self.hotspots_grid.get_or_init(|| Arc::new(hotspot_grid_collection(&points()))).clone()),
            "density" => Some(self.density.get_or_init(|| Arc::new(density_collection(&points(), None))).clone()),
            "emerging" => Some(self.emerging.get_or_init(|| Arc::new(emerging_collection(&self.incidents, 250.0, 7))).clone()),
            _ => None,
        }
    }

    /// The collection as far as it is built: lazy ones not built yet come without features, so
    /// a listing of collections does not start their work.
    pub fn peek(&self, id: &str) -> Option<Arc<Collection>> {
        if let Some(c) = self.base.iter().find(|c| c.id == id) {
            return Some(c.clone());
        }
        let unbuilt = |mut c: Collection| {
            c.parameters = json!({});
            Arc::new(c)
        };
        match id {
            "incidents" => Some(self.incident_points.get().cloned().unwrap_or_else(|| unbuilt(incident_collection(&[], &[], &[])))),
            "hotspots_grid" => Some(self.hotspots_grid.get().cloned().unwrap_or_else(|| unbuilt(hotspot_grid_collection(&[])))),
            "density" => Some(self.density.get().cloned().unwrap_or_else(|| unbuilt(density_collection(&[], None)))),
            "emerging" => Some(self.emerging.get().cloned().unwrap_or_else(|| unbuilt(emerging_collection(&[], 250.0, 7)))),
            _ => None,
        }
    }

    pub fn ids(&self) -> Vec<&'static str> {
        let mut ids: Vec<&'static str> = self.base.iter().map(|c| c.id).chain(LAZY.iter().map(|(id, _)| *id)).collect();
        // Listed where it always stood, after the area layers.
        let at = ids.iter().position(|i| *i == "regso").map(|k| k + 1).unwrap_or(0);
        ids.insert(at, "incidents");
        ids
    }
}

fn latest_by_area(indicators: &[IndicatorValue]) -> HashMap<String, BTreeMap<String, (i32, f64)>> {
    let mut m: HashMap<String, BTreeMap<String, (i32, f64)>> = HashMap::new();
    for v in indicators {
        let e = m.entry(v.deso.clone()).or_default().entry(v.indicator.clone()).or_insert((v.year, v.value));
        if v.year > e.0 {
            *e = (v.year, v.value);
        }
    }
    m
}

/// Gaps between neighbouring areas up to this mean width (metres) and area (m²) are slivers of
/// independent simplification, closed on the map (DeSO cover the country without holes).
const MAX_SLIVER_WIDTH_M: f64 = 150.0;
const MAX_SLIVER_AREA_M2: f64 = 1_000_000.0;

/// Builds the published collections from store data.
pub fn build(
    areas_all: &[Area],
    indicators: &[IndicatorValue],
    incidents: Arc<Vec<Incident>>,
    police: &[crate::classify::goals::PoliceArea],
    boundaries: &[(String, String, geo::MultiPolygon<f64>)],
) -> LayerSet {
    let areas: Vec<Area> = crate::summary::select_edition(areas_all, None).into_iter().cloned().collect();
    let pop = crate::summary::population_by_area(areas_all, indicators);
    let latest = latest_by_area(indicators);
    let polys: Vec<_> = areas.iter().map(|a| a.geometry.clone()).collect();
    let codes: Vec<&str> = areas.iter().map(|a| a.deso.as_str()).collect();
    let index = AreaIndex::new(&polys, &codes);
    let xy: Vec<(f64, f64)> = incidents.iter().map(|i| (i.location.x(), i.location.y())).collect();
    let mut joined = index.join(&xy).area;
    for (j, i) in joined.iter_mut().zip(incidents.iter()) {
        if !i.precision.is_point_statistic() {
            *j = None;
        }
    }
    let mut counts = vec![0u64; areas.len()];
    let mut by_cat: Vec<BTreeMap<&'static str, u64>> = vec![BTreeMap::new(); areas.len()];
    for (j, i) in joined.iter().zip(incidents.iter()) {
        if let Some(a) = j {
            counts[*a as usize] += 1;
            *by_cat[*a as usize].entry(i.category.as_str()).or_default() += 1;
        }
    }
    // Hotspot status per DeSO: Gi* on counts, queen with a 25 m tolerance for simplified polygons.
    let w = Weights::contiguity(&polys, true, 25.0);
    // Smoothed rates: DeSO have 700–2,700 residents, so crude rates jump with a handful of
    // incidents. Empirical Bayes (clipped, as GeoDa/ArcGIS) and spatial EB over the queen window;
    // areas without population are left out of the smoothing.
    let with_pop: Vec<usize> = (0..areas.len()).filter(|k| pop.get(&areas[*k].deso).is_some_and(|p| *p > 0.0)).collect();
    let mut eb = vec![None; areas.len()];
    let mut seb = vec![None; areas.len()];
    if with_pop.len() >= 3 {
        let e: Vec<f64> = with_pop.iter().map(|k| counts[*k] as f64).collect();
        let b: Vec<f64> = with_pop.iter().map(|k| pop[&areas[*k].deso]).collect();
        let nb: Vec<Vec<usize>> =
            with_pop.iter().map(|k| w.row(*k).0.iter().filter_map(|j| with_pop.iter().position(|x| *x == *j as usize)).collect()).collect();
        if let (Ok(r), Ok(wsub)) = (stats::smoothing::rates(&e, &b), Weights::from_neighbors(&nb, stats::WeightsKind::Custom)) {
            let sr = stats::smoothing::spatial_rates(&e, &b, &wsub).ok();
            for (i, k) in with_pop.iter().enumerate() {
                eb[*k] = Some(1000.0 * r.eb_clipped[i]);
                seb[*k] = sr.as_ref().map(|s| 1000.0 * s.spatial_eb[i]);
            }
        }
    }
    let y: Vec<f64> = counts.iter().map(|c| *c as f64).collect();
    let gi = getis_ord(&y, &w, &GiParams { star: true, transform: Transform::B, permutations: 0, seed: 0, fdr: true }).ok();
    // Index and housing.
    let idx_cfg = IndexConfig::default();
    let table: BTreeMap<String, BTreeMap<String, f64>> = areas
        .iter()
        .map(|a| (a.deso.clone(), latest.get(&a.deso).map(|m| m.iter().map(|(k, (_, v))| (k.clone(), *v)).collect()).unwrap_or_default()))
        .collect();
    let index_rows: HashMap<String, crate::classify::index::IndexRow> = composite(&table, &idx_cfg).into_iter().map(|r| (r.area.clone(), r)).collect();
    // EST status of the last full week.
    let rule = EstRule::default();
    let mut est_last: HashMap<String, (String, est::Status, f64)> = HashMap::new();
    let times: Vec<NaiveDateTime> = incidents.iter().filter(|i| i.precision.is_point_statistic()).map(|i| i.occurred_at).collect();
    if let (Some(first), Some(last)) = (times.iter().min(), times.iter().max()) {
        let weeks = est::weeks_between(first.date(), last.date());
        let list: Vec<(Vec<String>, &Incident)> =
            joined.iter().zip(incidents.iter()).filter_map(|(j, i)| j.map(|a| (vec![areas[a as usize].deso.clone()], i))).collect();
        let names: Vec<String> = areas.iter().map(|a| a.deso.clone()).collect();
        if let Some(lw) = weeks.last() {
            for s in est::weekly_status(&names, std::slice::from_ref(lw), &list, &rule) {
                est_last.insert(s.area.clone(), (s.iso_week, s.status, s.score));
            }
        }
    }
    let crowding = CrowdingRule::default();
    // What the map draws: the same areas with one border between neighbours, so that no slivers
    // show (statistics above use the stored polygons as they are).
    let (shown, _) = crate::spatial::topology::share_boundaries(&polys, &codes, MAX_SLIVER_WIDTH_M, MAX_SLIVER_AREA_M2);
    let mut deso = Vec::new();
    let mut counts_feats = Vec::new();
    for (k, a) in areas.iter().enumerate() {
        let mut p = Map::new();
        p.insert("deso".into(), a.deso.clone().into());
        p.insert("regso".into(), a.regso.clone().into());
        p.insert("regso_name".into(), a.regso_name.clone().into());
        p.insert("kommun".into(), a.kommun.clone().into());
        p.insert("version".into(), a.version.clone().into());
        let population = pop.get(&a.deso).copied();
        p.insert("population".into(), population.into());
        if let Some(m) = latest.get(&a.deso) {
            for (name, (year, v)) in m {
                p.insert(name.clone(), (*v).into());
                p.insert(format!("{name}_year"), (*year).into());
            }
        }
        let get = |n: &str| latest.get(&a.deso).and_then(|m| m.get(n)).map(|x| x.1);
        let h = classify_housing(get("tenure_hyresratt"), get("tenure_bostadsratt"), get("tenure_aganderatt"), get("crowding_pct"), &crowding);
        p.insert("dominant_tenure".into(), h.dominant_tenure.into());
        p.insert("tenure_diversity".into(), h.tenure_diversity.into());
        p.insert("crowding_class".into(), h.crowding_class.map(Value::from).unwrap_or(Value::Null));
        if let Some(r) = index_rows.get(&a.deso) {
            p.insert("index_score".into(), r.score.into());
            p.insert("index_rank".into(), r.rank.into());
            p.insert("index_quintile".into(), r.quintile.into());
        }
        p.insert("incidents".into(), counts[k].into());
        p.insert("incidents_per_1000".into(), population.filter(|x| *x > 0.0).map(|x| 1000.0 * counts[k] as f64 / x).into());
        p.insert("incidents_eb_per_1000".into(), eb[k].into());
        p.insert("incidents_seb_per_1000".into(), seb[k].into());
        if let Some(g) = &gi {
            p.insert("gi_z".into(), g.z[k].into());
            p.insert("gi_bin".into(), g.bin[k].into());
        }
        if let Some((w, s, score)) = est_last.get(&a.deso) {
            p.insert("est_week".into(), w.clone().into());
            p.insert("est_status".into(), serde_json::to_value(s).unwrap_or(Value::Null));
            p.insert("est_score".into(), (*score).into());
        }
        deso.push(feat(a.deso.clone(), p, shown[k].clone().into(), None));
        let mut cp = Map::new();
        cp.insert("deso".into(), a.deso.clone().into());
        cp.insert("regso_name".into(), a.regso_name.clone().into());
        cp.insert("incidents".into(), counts[k].into());
        for c in crate::model::Category::ALL {
            cp.insert(format!("n_{}", c.as_str()), by_cat[k].get(c.as_str()).copied().unwrap_or(0).into());
        }
        counts_feats.push(feat(a.deso.clone(), cp, shown[k].clone().into(), None));
    }
    // RegSO: the union of its DeSO, counts summed, population-weighted shares.
    let mut groups: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (k, a) in areas.iter().enumerate() {
        groups.entry(a.regso.clone()).or_default().push(k);
    }
    let mut regso = Vec::new();
    for (code, members) in &groups {
        let parts: Vec<geo::Polygon<f64>> = members.iter().flat_map(|k| shown[*k].0.iter().cloned()).collect();
        let geom = geo::unary_union(parts.iter());
        let mut p = Map::new();
        p.insert("regso".into(), code.clone().into());
        p.insert("regso_name".into(), areas[members[0]].regso_name.clone().into());
        p.insert("kommun".into(), areas[members[0]].kommun.clone().into());
        p.insert("deso_count".into(), members.len().into());
        let popn: f64 = members.iter().filter_map(|k| pop.get(&areas[*k].deso)).sum();
        let n: u64 = members.iter().map(|k| counts[*k]).sum();
        p.insert("population".into(), popn.into());
        p.insert("incidents".into(), n.into());
        p.insert("incidents_per_1000".into(), (popn > 0.0).then(|| 1000.0 * n as f64 / popn).into());
        if let Some(t) = members.iter().find_map(|k| latest.get(&areas[*k].deso).and_then(|m| m.get("omradestyp")).map(|x| x.1)) {
            p.insert("omradestyp".into(), t.into());
        }
        regso.push(feat(code.clone(), p, geom.into(), None));
    }
    let police_feats = police
        .iter()
        .enumerate()
        .map(|(k, a)| {
            let mut p = Map::new();
            p.insert("name".into(), a.name.clone().into());
            p.insert("class".into(), a.class.clone().into());
            p.insert("since".into(), a.since.clone().into());
            feat(format!("uso{}", k + 1), p, a.geometry.clone().into(), None)
        })
        .collect();
    let boundary_feats = boundaries
        .iter()
        .map(|(code, name, g)| {
            let mut p = Map::new();
            p.insert("kommun".into(), code.clone().into());
            p.insert("name".into(), name.clone().into());
            feat(code.clone(), p, g.clone().into(), None)
        })
        .collect();
    let version = areas.first().map(|a| a.version.clone()).unwrap_or_default();
    let base = vec![
        Arc::new(Collection {
            id: "deso",
            title: "DeSO-områden",
            description: format!("DeSO {version} med indikatorer, områdestyp, index, boendeklasser, antal händelser och hotspotstatus. Källa: SCB."),
            access: Access::Open,
            count_fields: vec!["incidents"],
            features: deso,
            temporal: false,
            parameters: json!({"hotspot": {"statistic": "Gi*", "weights": "queen", "tolerance_m": 25.0, "transform": "B", "fdr": true}, "index": idx_cfg, "est_rule": rule.describe_sv()}),
        }),
        Arc::new(Collection {
            id: "regso",
            title: "RegSO-områden",
            description: "RegSO som union av sina DeSO. Källa: SCB.".into(),
            access: Access::Open,
            count_fields: vec!["incidents"],
            features: regso,
            temporal: false,
            parameters: json!({}),
        }),
        Arc::new(Collection {
            id: "incident_counts",
            title: "Händelser per DeSO och kategori",
            description: "Antal händelser per DeSO och kategori; små tal undertrycks för allmänhet och partner.".into(),
            access: Access::Open,
            count_fields: std::iter::once("incidents").chain(crate::model::Category::ALL.iter().map(|c| leak_count_field(c.as_str()))).collect(),
            features: counts_feats,
            temporal: false,
            parameters: json!({}),
        }),
        Arc::new(Collection {
            id: "police_areas",
            title: "Polisens utsatta områden",
            description: "Källa: Polisen.".into(),
            access: Access::Open,
            count_fields: vec![],
            features: police_feats,
            temporal: false,
            parameters: json!({}),
        }),
        Arc::new(Collection {
            id: "municipalities",
            title: "Kommungränser",
            description: "Generaliserade kommungränser. Källa: SCB.".into(),
            access: Access::Open,
            count_fields: vec![],
            features: boundary_feats,
            temporal: false,
            parameters: json!({}),
        }),
    ];
    LayerSet {
        base,
        incidents,
        areas,
        deso_of_incident: joined,
        incident_points: OnceLock::new(),
        hotspots_grid: OnceLock::new(),
        density: OnceLock::new(),
        emerging: OnceLock::new(),
    }
}

/// Incident points (point precision only) with their DeSO.
pub(crate) fn incident_collection(incidents: &[Incident], joined: &[Option<u32>], areas: &[Area]) -> Collection {
    let mut inc_feats = Vec::new();
    for (i, j) in incidents.iter().zip(joined) {
        if !i.precision.is_point_statistic() {
            continue; // centroid-located events would make a false cluster on the map
        }
        let mut p = Map::new();
        p.insert("category".into(), i.category.as_str().into());
        p.insert("category_sv".into(), i.category.label_sv().into());
        p.insert("occurred_at".into(), i.occurred_at.format("%Y-%m-%dT%H:%M:%S").to_string().into());
        p.insert("iso_week".into(), crate::summary::iso_week(&i.occurred_at).into());
        p.insert("reported_by".into(), i.reported_by.clone().into());
        p.insert("precision".into(), i.precision.as_str().into());
        p.insert("description".into(), i.description.clone().into());
        p.insert("deso".into(), j.map(|a| areas[a as usize].deso.clone()).into());
        inc_feats.push(feat(i.id.clone(), p, i.location.into(), Some(i.occurred_at)));
    }
    Collection {
        id: "incidents",
        title: "Händelser (begränsad)",
        description: "Händelser med punktläge. Rådata endast för analytiker; partner ser punkter flyttade till 250 m-rutor; allmänheten ser endast aggregat."
            .into(),
        access: Access::Incidents,
        count_fields: vec![],
        features: inc_feats,
        temporal: true,
        parameters: json!({"precision": "exact, address, street (area and municipality precision left out)"}),
    }
}

/// Count field names are static strings; the set of categories is fixed, so this leaks a few bytes once.
fn leak_count_field(cat: &str) -> &'static str {
    static NAMES: OnceLock<HashMap<String, &'static str>> = OnceLock::new();
    NAMES.get_or_init(|| {
        crate::model::Category::ALL.iter().map(|c| (c.as_str().to_string(), &*Box::leak(format!("n_{}", c.as_str()).into_boxed_str()))).collect()
    })[cat]
}

/// Optimized hot spots over the given points as a collection (empty when too few points).
pub fn hotspot_grid_collection(points: &[[f64; 2]]) -> Collection {
    let mut features = Vec::new();
    let mut parameters = json!({"method": "optimized hot spots (Gi*, FDR)"});
    // Work bound: a grid finer than the limit allows gets the smallest cell that fits, named in
    // `parameters` (a dense county-wide selection would otherwise ask for millions of cells).
    let coarse = super::bounded::bbox(points).map(super::bounded::smallest_cell).filter(|c| *c > 10.0);
    let chosen = match coarse {
        Some(min) => stats::optimized::auto_cell_size(points).filter(|auto| *auto < min).map(|auto| (auto, min)),
        None => None,
    };
    match stats::optimized::optimized_hot_spots(points, None, chosen.map(|c| c.1), None) {
        Ok(r) => {
            for (k, c) in r.cells.iter().enumerate() {
                let mut p = Map::new();
                p.insert("cell_id".into(), c.id.clone().into());
                p.insert("count".into(), (r.counts[k] as u64).into());
                p.insert("gi_z".into(), r.gi.z[k].into());
                p.insert("gi_p".into(), r.gi.p_norm[k].into());
                p.insert("gi_bin".into(), r.fdr_bin[k].into());
                features.push(feat(c.id.clone(), p, c.polygon.clone().into(), None));
            }
            parameters = json!({"method": "optimized hot spots (Gi*, FDR)", "choices": r.choices});
            if let Some((auto, used)) = chosen {
                parameters["cell_coarsened"] = json!({"automatic_cell_m": auto, "cell_size_m": used, "reason": format!("a {auto} m grid over this selection exceeds {} cells", super::bounded::limits::MAX_CELLS)});
            }
        }
        Err(e) => parameters["error"] = e.to_string().into(),
    }
    Collection {
        id: "hotspots_grid",
        title: LAZY[0].1,
        description: "Gi* per rutcell med automatiskt vald cellstorlek och avståndsband (som Esris Optimized Hot Spot Analysis), FDR-korrigerat.".into(),
        access: Access::Open,
        count_fields: vec!["count"],
        features,
        temporal: false,
        parameters,
    }
}

/// Raster cell of a density surface: 50 m, or the smallest coarser one (in steps of 10 m) that
/// keeps kernel evaluations and raster cells within the work limits.
pub fn density_cell(points: &[[f64; 2]], radius: f64) -> f64 {
    use super::bounded::limits::{MAX_KERNEL_EVALS, MAX_RASTER_CELLS};
    let Some(b) = super::bounded::bbox(points) else { return 50.0 };
    let b = [b[0] - radius, b[1] - radius, b[2] + radius, b[3] + radius];
    let mut cell = 50.0;
    loop {
        let evals = points.len() as f64 * std::f64::consts::PI * (radius / cell).powi(2).max(1.0);
        if (evals <= MAX_KERNEL_EVALS && super::bounded::grid_cells(b, cell) <= MAX_RASTER_CELLS) || cell >= radius.max(50.0) * 4.0 {
            return cell;
        }
        cell += 10.0;
    }
}

/// Quartic kernel density (ArcGIS default radius unless given) as five quantile classes.
pub fn density_collection(points: &[[f64; 2]], radius: Option<f64>) -> Collection {
    let mut features = Vec::new();
    let mut parameters = json!({});
    if points.len() >= 2 {
        let r = radius.or_else(|| stats::kde::default_bandwidth(points, None).map(|b| b.search_radius)).unwrap_or(300.0);
        let cell = density_cell(points, r);
        let raster = stats::kde::density_around(points, None, r, cell);
        let breaks = stats::kde::quantile_breaks(&raster, 5);
        for (class, lo, hi, g) in stats::kde::class_polygons(&raster, &breaks) {
            let mut p = Map::new();
            p.insert("class".into(), class.into());
            p.insert("min_per_km2".into(), (lo * 1e6).into());
            p.insert("max_per_km2".into(), if hi.is_finite() { (hi * 1e6).into() } else { Value::Null });
            features.push(feat(format!("class{class}"), p, g.into(), None));
        }
        parameters =
            json!({"kernel": "quartic (ArcGIS)", "radius_m": r, "cell_size_m": cell, "classes": "quantiles of non-zero density", "points": points.len()});
    }
    Collection {
        id: "density",
        title: LAZY[1].1,
        description: "Kerneltäthet (kvartisk kärna, ArcGIS formel) i fem klasser.".into(),
        access: Access::Open,
        count_fields: vec![],
        features,
        temporal: false,
        parameters,
    }
}

/// Emerging hot spots per square cell and time step (days).
pub fn emerging_collection(incidents: &[Incident], cell: f64, step_days: i64) -> Collection {
    let pts: Vec<([f64; 2], NaiveDateTime)> =
        incidents.iter().filter(|i| i.precision.is_point_statistic()).map(|i| ([i.location.x(), i.location.y()], i.occurred_at)).collect();
    let asked = cell;
    let cell = emerging_cell(&pts, cell, step_days);
    let mut features = Vec::new();
    let mut parameters = json!({"cell_size_m": cell, "time_step_days": step_days});
    if let Some(cube) = crate::spatial::grid::space_time_cube(&pts, &GridSpec::square(cell), step_days) {
        let (cells, counts, start, steps) = (cube.cells, cube.counts, cube.start, cube.steps);
        let xy: Vec<[f64; 2]> = cells.iter().map(|c| c.centre).collect();
        let params = stats::emerging::EmergingParams { distance: cell * 1.5, time_steps: 1, alpha: 0.05 };
        if let Ok(r) = stats::emerging::emerging_hot_spots(&xy, &counts, &params) {
            for (k, c) in cells.iter().enumerate() {
                let mut p = Map::new();
                p.insert("cell_id".into(), c.id.clone().into());
                p.insert("pattern".into(), serde_json::to_value(r.pattern[k]).unwrap_or(Value::Null));
                p.insert("pattern_sv".into(), r.pattern[k].label_sv().into());
                p.insert("count".into(), (counts[k].iter().sum::<f64>() as u64).into());
                p.insert("trend_z".into(), r.trend[k].z.into());
                p.insert("trend_p".into(), r.trend[k].p.into());
                features.push(feat(c.id.clone(), p, c.polygon.clone().into(), None));
            }
            parameters = json!({"cell_size_m": cell, "time_step_days": step_days, "steps": steps, "first_step": start.to_string(), "params": params, "unverified": "hot/cold and trend thresholds not verified against ArcGIS"});
            if cell > asked {
                parameters["cell_coarsened"] = json!({"requested_cell_m": asked, "cell_size_m": cell, "reason": format!("a {asked} m cube over this selection exceeds {} cell-steps", super::bounded::limits::MAX_CUBE)});
            }
        }
    }
    Collection {
        id: "emerging",
        title: LAZY[2].1,
        description: "Framväxande hotspots per 250 m-ruta och vecka (rum-tid Gi*, Mann–Kendall, Esris kategorier).".into(),
        access: Access::Open,
        count_fields: vec!["count"],
        features,
        temporal: false,
        parameters,
    }
}

/// The cell of a space-time cube: the given one, or the smallest multiple of 50 m above it for
/// which cells × time steps stay within the work limit.
pub fn emerging_cell(pts: &[([f64; 2], NaiveDateTime)], cell: f64, step_days: i64) -> f64 {
    let xy: Vec<[f64; 2]> = pts.iter().map(|p| p.0).collect();
    let (Some(b), Some(t0), Some(t1)) = (super::bounded::bbox(&xy), pts.iter().map(|p| p.1).min(), pts.iter().map(|p| p.1).max()) else { return cell };
    let steps = ((t1 - t0).num_days() / step_days.max(1) + 2) as f64;
    let mut c = cell;
    while super::bounded::grid_cells(b, c) * steps > super::bounded::limits::MAX_CUBE {
        c = ((c / 50.0).floor() + 1.0) * 50.0;
    }
    c
}

/// Walks and observations as collections, read from the walk store on each request (they change
/// while the service runs), so QGIS can add them through OGC API Features like any other layer.
pub fn walk_collection(store: &dyn crate::store::WalkStore, id: &str) -> Option<Collection> {
    let features = match id {
        "walks" => store
            .walks()
            .ok()?
            .into_iter()
            .map(|w| {
                let mut p = match serde_json::to_value(&w) {
                    Ok(Value::Object(m)) => m,
                    _ => Map::new(),
                };
                p.insert("organisations".into(), w.organisations.join(", ").into());
                feat(w.id.clone(), p, w.route.clone().into(), Some(w.planned_at))
            })
            .collect(),
        "observations" => store
            .observations(None)
            .ok()?
            .into_iter()
            .map(|o| {
                let mut p = match serde_json::to_value(&o) {
                    Ok(Value::Object(m)) => m,
                    _ => Map::new(),
                };
                p.insert("ratings".into(), serde_json::to_string(&o.ratings).unwrap_or_default().into());
                p.insert("category_sv".into(), crate::walks::category_label(&o.category).into());
                feat(o.id.clone(), p, o.point.into(), Some(o.created_at))
            })
            .collect(),
        _ => return None,
    };
    Some(Collection {
        id: if id == "walks" { "walks" } else { "observations" },
        title: if id == "walks" { "Trygghetsvandringar" } else { "Observationer från trygghetsvandringar" },
        description: "Rutter och observationer; ändras via /walks och /observations (editor).".into(),
        access: Access::Open,
        count_fields: vec![],
        features,
        temporal: true,
        parameters: json!({}),
    })
}
