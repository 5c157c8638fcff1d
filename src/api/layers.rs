//! The collections the service publishes, built once from the store (analysis layers lazily, on
//! first use), and the role-dependent view of each feature.

use super::auth::Role;
use crate::model::Incident;
use crate::picture::{AreaFacts, AreaPicture};
use crate::spatial::grid::GridSpec;
use crate::stats;
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
            let (snapped, cell_id) = crate::privacy::snap_for_partner(p.x(), p.y());
            let snapped = geo::Geometry::Point(snapped);
            let wgs = crate::crs::to_wgs84(&snapped).ok()?;
            let mut props = Map::new();
            for k in crate::privacy::PARTNER_INCIDENT_FIELDS {
                if let Some(v) = f.props.get(k) {
                    props.insert(k.into(), v.clone());
                }
            }
            props.insert("cell_id".into(), cell_id.into());
            props.insert("precision".into(), "grid_250m".into());
            // An opaque id: the raw id would link partner views to raw records.
            let id = format!("p{}", &crate::api::auth::hash_token(&f.id)[..16]);
            Some((props, snapped, wgs, id))
        }
    }
}

pub use crate::privacy::suppress;

pub fn feat(id: String, props: Map<String, Value>, g3006: geo::Geometry<f64>, time: Option<NaiveDateTime>) -> Feat {
    let gwgs = crate::crs::to_wgs84(&g3006).unwrap_or_else(|_| g3006.clone());
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
    /// The lägesbild the layers show; analyses and reports read its typed fields.
    pub picture: Arc<AreaPicture>,
    hotspot_cells: OnceLock<Arc<HotspotCells>>,
    /// Incident points as features: large (a feature per incident), so built on first use.
    incident_points: OnceLock<Arc<Collection>>,
    hotspots_grid: OnceLock<Arc<Collection>>,
    density: OnceLock<Arc<Collection>>,
    emerging: OnceLock<Arc<Collection>>,
}

/// Optimized hot spots over a set of points, or why there are none.
pub type HotspotCells = BoundedHotspots;

/// Optimized hot spots and, when the work bound made the grid coarser, the automatic and the
/// used cell size (metres).
pub struct BoundedHotspots {
    pub result: Result<stats::optimized::OptimizedResult, stats::StatsError>,
    pub coarsened: Option<(f64, f64)>,
}

pub const LAZY: &[(&str, &str)] =
    &[("hotspots_grid", "Hotspots (rutnät, Gi*)"), ("density", "Händelsetäthet (kerneltäthet)"), ("emerging", "Framväxande hotspots")];

impl LayerSet {
    pub fn get(&self, id: &str) -> Option<Arc<Collection>> {
        if let Some(c) = self.base.iter().find(|c| c.id == id) {
            return Some(c.clone());
        }
        // Points are gathered only when a lazy layer is first built, not on every request.
        let points = || -> Vec<[f64; 2]> { self.picture.point_incidents().map(|i| [i.location.x(), i.location.y()]).collect() };
        match id {
            "incidents" => Some(self.incident_points.get_or_init(|| Arc::new(incident_collection(&self.picture))).clone()),
            "hotspots_grid" => Some(self.hotspots_grid.get_or_init(|| Arc::new(hotspot_grid_from(&self.hotspot_cells()))).clone()),
            "density" => Some(self.density.get_or_init(|| Arc::new(density_collection(&points(), None))).clone()),
            "emerging" => Some(self.emerging.get_or_init(|| Arc::new(emerging_collection(&self.picture.incidents, 250.0, 7))).clone()),
            _ => None,
        }
    }

    /// The hot spot cells of all point incidents, computed once; the grid layer and the route
    /// report read them.
    pub fn hotspot_cells(&self) -> Arc<HotspotCells> {
        self.hotspot_cells
            .get_or_init(|| {
                let points: Vec<[f64; 2]> = self.picture.point_incidents().map(|i| [i.location.x(), i.location.y()]).collect();
                Arc::new(bounded_hot_spots(&points))
            })
            .clone()
    }

    /// The collection as far as it is built: lazy ones not built yet come without features, so
    /// a listing of collections does not start their work.
    pub fn peek(&self, id: &str) -> Option<Arc<Collection>> {
        if let Some(c) = self.base.iter().find(|c| c.id == id) {
            return Some(c.clone());
        }
        let unbuilt = |mut c: Collection| {
            c.parameters = json!({});
            c.features.clear();
            Arc::new(c)
        };
        match id {
            "incidents" => Some(self.incident_points.get().cloned().unwrap_or_else(|| unbuilt(incident_collection_of(&self.picture, false)))),
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
fn regso_features(picture: &AreaPicture, shown: &[geo::MultiPolygon<f64>]) -> Vec<Feat> {
    let mut groups: BTreeMap<String, Vec<(&AreaFacts, &geo::MultiPolygon<f64>)>> = BTreeMap::new();
    for (f, g) in picture.areas.iter().zip(shown) {
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

/// Incident points (point precision only) with their DeSO.
pub(crate) fn incident_collection(picture: &AreaPicture) -> Collection {
    incident_collection_of(picture, true)
}

fn incident_collection_of(picture: &AreaPicture, with_features: bool) -> Collection {
    let mut c = collection(
        "incidents",
        "Händelser (begränsad)",
        "Händelser med punktläge. Rådata endast för analytiker; partner ser punkter flyttade till 250 m-rutor; allmänheten ser endast aggregat.".into(),
        Access::Incidents,
        vec![],
        if with_features { incident_features(picture) } else { Vec::new() },
    );
    c.temporal = true;
    c.parameters = json!({"precision": "exact, address, street (area and municipality precision left out)"});
    c
}

fn incident_features(picture: &AreaPicture) -> Vec<Feat> {
    let mut out = Vec::new();
    for (i, j) in picture.incidents.iter().zip(&picture.area_of_incident) {
        if !i.precision.is_point_statistic() {
            continue; // centroid-located events would make a false cluster on the map
        }
        let mut p = Map::new();
        p.insert("category".into(), i.category.as_str().into());
        p.insert("category_sv".into(), i.category.label_sv().into());
        p.insert("occurred_at".into(), crate::model::time::with_offset(i.occurred_at).into());
        p.insert("iso_week".into(), crate::model::iso_week(&i.occurred_at).into());
        p.insert("reported_by".into(), i.reported_by.clone().into());
        p.insert("precision".into(), i.precision.as_str().into());
        p.insert("description".into(), i.description.clone().into());
        p.insert("deso".into(), j.map(|a| picture.areas[a as usize].area.deso.clone()).into());
        out.push(feat(i.id.clone(), p, i.location.into(), Some(i.occurred_at)));
    }
    out
}

fn reference_features(police: &[crate::classify::goals::PoliceArea], boundaries: &[(String, String, geo::MultiPolygon<f64>)]) -> (Vec<Feat>, Vec<Feat>) {
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
    (police_feats, boundary_feats)
}

fn collection(id: &'static str, title: &'static str, description: String, access: Access, count_fields: Vec<&'static str>, features: Vec<Feat>) -> Collection {
    Collection { id, title, description, access, count_fields, features, temporal: false, parameters: json!({}) }
}

/// Gaps between neighbouring areas up to this mean width (metres) and area (m²) are slivers of
/// independent simplification, closed on the map (DeSO cover the country without holes).
const MAX_SLIVER_WIDTH_M: f64 = 150.0;
const MAX_SLIVER_AREA_M2: f64 = 1_000_000.0;

/// Builds the published collections from the picture.
pub fn build(picture: Arc<AreaPicture>, police: &[crate::classify::goals::PoliceArea], boundaries: &[(String, String, geo::MultiPolygon<f64>)]) -> LayerSet {
    // What the map draws: the same areas with one border between neighbours, so that no slivers
    // show (the picture's statistics use the stored polygons as they are).
    let polys: Vec<geo::MultiPolygon<f64>> = picture.areas.iter().map(|f| f.area.geometry.clone()).collect();
    let codes: Vec<&str> = picture.areas.iter().map(|f| f.area.deso.as_str()).collect();
    let (shown, _) = crate::spatial::topology::share_boundaries(&polys, &codes, MAX_SLIVER_WIDTH_M, MAX_SLIVER_AREA_M2);
    let deso: Vec<Feat> = picture.areas.iter().zip(&shown).map(|(f, g)| feat(f.area.deso.clone(), deso_props(f), g.clone().into(), None)).collect();
    let counts: Vec<Feat> = picture.areas.iter().zip(&shown).map(|(f, g)| feat(f.area.deso.clone(), counts_props(f), g.clone().into(), None)).collect();
    let (police_feats, boundary_feats) = reference_features(police, boundaries);
    let rules = &picture.rules;
    let mut deso = collection(
        "deso",
        "DeSO-områden",
        format!("DeSO {} med indikatorer, områdestyp, index, boendeklasser, antal händelser och hotspotstatus. Källa: SCB.", picture.edition()),
        Access::Open,
        vec!["incidents"],
        deso,
    );
    deso.parameters = json!({"hotspot": {"statistic": "Gi*", "weights": "queen", "tolerance_m": rules.tolerance_m, "transform": "B", "fdr": true}, "index": rules.index, "est_rule": rules.est_rule.describe_sv()});
    let base = vec![
        Arc::new(deso),
        Arc::new(collection(
            "regso",
            "RegSO-områden",
            "RegSO som union av sina DeSO. Källa: SCB.".into(),
            Access::Open,
            vec!["incidents"],
            regso_features(&picture, &shown),
        )),
        Arc::new(collection(
            "incident_counts",
            "Händelser per DeSO och kategori",
            "Antal händelser per DeSO och kategori; små tal undertrycks för allmänhet och partner.".into(),
            Access::Open,
            std::iter::once("incidents").chain(crate::model::Category::ALL.iter().map(|c| leak_count_field(c.as_str()))).collect(),
            counts,
        )),
        Arc::new(collection("police_areas", "Polisens utsatta områden", "Källa: Polisen.".into(), Access::Open, vec![], police_feats)),
        Arc::new(collection("municipalities", "Kommungränser", "Generaliserade kommungränser. Källa: SCB.".into(), Access::Open, vec![], boundary_feats)),
    ];
    LayerSet {
        base,
        picture,
        hotspot_cells: OnceLock::new(),
        incident_points: OnceLock::new(),
        hotspots_grid: OnceLock::new(),
        density: OnceLock::new(),
        emerging: OnceLock::new(),
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
    hotspot_grid_from(&bounded_hot_spots(points))
}

/// Optimized hot spots within the work bound: a grid finer than the limit allows gets the
/// smallest cell that fits, named in `parameters` (a dense county-wide selection would otherwise
/// ask for millions of cells).
fn bounded_hot_spots(points: &[[f64; 2]]) -> BoundedHotspots {
    let coarse = super::bounded::bbox(points).map(super::bounded::smallest_cell).filter(|c| *c > 10.0);
    let chosen = match coarse {
        Some(min) => stats::optimized::auto_cell_size(points).filter(|auto| *auto < min).map(|auto| (auto, min)),
        None => None,
    };
    BoundedHotspots { result: stats::optimized::optimized_hot_spots(points, None, chosen.map(|c| c.1), None), coarsened: chosen }
}

/// The hot spot cells as a collection.
pub fn hotspot_grid_from(h: &HotspotCells) -> Collection {
    let mut features = Vec::new();
    let mut parameters = json!({"method": "optimized hot spots (Gi*, FDR)"});
    match &h.result {
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
            if let Some((auto, used)) = h.coarsened {
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
