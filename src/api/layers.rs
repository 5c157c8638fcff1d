//! The collections the service publishes, built once from the store (analysis layers lazily, on
//! first use), and the role-dependent view of each feature.

use super::auth::Role;
use crate::analysis::{About, Limits, Output, Params};
use crate::picture::{AreaFacts, AreaPicture};
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
    /// DeSO, RegSO and imported places by name (reports, EST theme, åtgärdsplan, profile).
    pub units: Arc<crate::units::Units>,
    hotspot_cells: OnceLock<Arc<HotspotCells>>,
    /// Incident points as features: large (a feature per incident), so built on first use.
    incident_points: OnceLock<Arc<Collection>>,
    hotspots_grid: OnceLock<Arc<Collection>>,
    density: OnceLock<Arc<Collection>>,
    emerging: OnceLock<Arc<Collection>>,
}

/// Optimized hot spots over a set of points, or why there are none.
pub type HotspotCells = crate::analysis::hotspots::BoundedHotspots;

pub const LAZY: &[(&str, &str)] =
    &[("hotspots_grid", "Hotspots (rutnät, Gi*)"), ("density", "Händelsetäthet (kerneltäthet)"), ("emerging", "Framväxande hotspots")];

impl LayerSet {
    /// Adds the analysis units and publishes the imported places as the `places` collection
    /// (and so as tiles): name, kind, residents, incidents (suppressed like every count) and the
    /// latest EST week, computed as for DeSO.
    pub fn with_units(mut self, units: crate::units::Units) -> LayerSet {
        let feats: Vec<Feat> = units
            .of_level("place")
            .map(|u| {
                let mut p = Map::new();
                p.insert("name".into(), u.name.clone().into());
                p.insert("kind".into(), u.kind.clone().into());
                p.insert("population".into(), u.population.map(|x| x.round()).into());
                p.insert("incidents".into(), u.incidents.len().into());
                p.insert("incidents_per_1000".into(), u.population.filter(|x| *x > 0.0).map(|x| 1000.0 * u.incidents.len() as f64 / x).into());
                p.insert("method".into(), u.method.clone().into());
                feat(u.name.clone(), p, u.geometry.clone().into(), None)
            })
            .collect();
        if !feats.is_empty() {
            let c = collection(
                "places",
                "Egna områden",
                "Kommundelar, platser och insatsområden som importerats med lagesbild import places.".into(),
                Access::Open,
                vec!["incidents"],
                feats,
            );
            self.base.push(Arc::new(c));
        }
        self.units = Arc::new(units);
        self
    }

    pub fn get(&self, id: &str) -> Option<Arc<Collection>> {
        if let Some(c) = self.base.iter().find(|c| c.id == id) {
            return Some(c.clone());
        }
        // Points are gathered only when a lazy layer is first built, not on every request.
        let events = || -> Vec<crate::analysis::Event> {
            self.picture.point_incidents().map(|i| crate::analysis::Event { xy: [i.location.x(), i.location.y()], at: Some(i.occurred_at) }).collect()
        };
        match id {
            "incidents" => Some(self.incident_points.get_or_init(|| Arc::new(incident_collection(&self.picture))).clone()),
            "hotspots_grid" => Some(self.hotspots_grid.get_or_init(|| Arc::new(hotspot_grid_from(&self.hotspot_cells()))).clone()),
            "density" => Some(self.density.get_or_init(|| Arc::new(lazy_collection(1, run_default("density", events())))).clone()),
            "emerging" => Some(self.emerging.get_or_init(|| Arc::new(lazy_collection(2, run_default("emerging", events())))).clone()),
            _ => None,
        }
    }

    /// The hot spot cells of all point incidents, computed once; the grid layer and the route
    /// report read them.
    pub fn hotspot_cells(&self) -> Arc<HotspotCells> {
        self.hotspot_cells
            .get_or_init(|| {
                let points: Vec<[f64; 2]> = self.picture.point_incidents().map(|i| [i.location.x(), i.location.y()]).collect();
                Arc::new(crate::analysis::hotspots::bounded_hot_spots(&points, crate::spatial::grid::Shape::Square, &Limits::SERVICE))
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
            "hotspots_grid" => Some(self.hotspots_grid.get().cloned().unwrap_or_else(|| unbuilt(lazy_collection(0, None)))),
            "density" => Some(self.density.get().cloned().unwrap_or_else(|| unbuilt(lazy_collection(1, None)))),
            "emerging" => Some(self.emerging.get().cloned().unwrap_or_else(|| unbuilt(lazy_collection(2, None)))),
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
/// `social_services`: indicators (from the catalogue) whose DeSO values are counts of people,
/// suppressed below the threshold like incident counts.
pub fn build(
    picture: Arc<AreaPicture>,
    police: &[crate::classify::goals::PoliceArea],
    boundaries: &[(String, String, geo::MultiPolygon<f64>)],
    social_services: &[String],
) -> LayerSet {
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
        std::iter::once("incidents").chain(social_services.iter().map(|n| crate::privacy::count_field(n))).collect(),
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
        units: Default::default(),
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

/// A registered analysis's result as a collection. Rows carry their own geometry (grid cells,
/// classes), or are areas: then each takes the geometry and id of the area layer's feature at
/// its position, with `deso` and, given, the analysed `value`.
pub fn analysis_collection(
    id: &'static str,
    title: &'static str,
    description: String,
    about: &About,
    out: Output,
    areas: Option<(&Collection, Option<&[f64]>)>,
) -> Collection {
    let mut features = Vec::with_capacity(out.rows.len());
    for (k, row) in out.rows.into_iter().enumerate() {
        let mut p = Map::new();
        if let Some((layer, values)) = areas {
            let Some(f) = layer.features.get(k) else { continue };
            p.insert("deso".into(), f.id.clone().into());
            if let Some(v) = values.and_then(|v| v.get(k)) {
                p.insert("value".into(), (*v).into());
            }
            fields_into(&mut p, about, row.values);
            features.push(feat_from(f.id.clone(), p, f.g3006.clone(), f.gwgs.clone(), f.bbox_wgs));
        } else if let Some(g) = row.geometry {
            fields_into(&mut p, about, row.values);
            features.push(feat(row.id, p, g, None));
        }
    }
    Collection {
        id,
        title,
        description,
        access: Access::Open,
        count_fields: about.fields.iter().filter(|f| f.count).map(|f| f.name).collect(),
        features,
        temporal: false,
        parameters: out.parameters,
    }
}

fn fields_into(p: &mut Map<String, Value>, about: &About, values: Vec<crate::io::Value>) {
    use crate::io::Value as V;
    for (f, v) in about.fields.iter().zip(values) {
        let v = match v {
            V::Null => Value::Null,
            V::Int(i) => i.into(),
            V::Real(x) => x.into(),
            V::Text(t) => t.into(),
        };
        p.insert(f.name.into(), v);
    }
}

/// The lazy analysis layers: collection id, analysis id, description.
const LAZY_ANALYSES: [(&str, &str, &str); 3] = [
    ("hotspots_grid", "hotspots", "Gi* per rutcell med automatiskt vald cellstorlek och avståndsband (som Esris Optimized Hot Spot Analysis), FDR-korrigerat."),
    ("density", "density", "Kerneltäthet (kvartisk kärna, ArcGIS formel) i fem klasser."),
    ("emerging", "emerging", "Framväxande hotspots per 250 m-ruta och vecka (rum-tid Gi*, Mann–Kendall, Esris kategorier)."),
];

/// A lazy analysis layer from its result; without one (not built yet, or the statistic is
/// undefined for the data), without features.
fn lazy_collection(k: usize, out: Option<Output>) -> Collection {
    let (id, analysis, description) = LAZY_ANALYSES[k];
    let about = crate::analysis::find(analysis).map(|a| a.about()).unwrap_or(crate::analysis::hotspots::ABOUT);
    let out = out.unwrap_or_else(|| Output { parameters: json!({}), ..Default::default() });
    analysis_collection(id, LAZY[k].1, description.into(), &about, out, None)
}

/// The registered analysis with the service's defaults over the given points.
fn run_default(id: &str, events: Vec<crate::analysis::Event>) -> Option<Output> {
    let a = crate::analysis::find(id).ok()?;
    let about = a.about();
    a.run(&crate::analysis::Input::Points(events), &Params::defaults(&about, &Limits::SERVICE), &Limits::SERVICE).ok()
}

/// The hot spot cells as a collection; a statistic undefined for the data is named in `parameters`.
pub fn hotspot_grid_from(h: &HotspotCells) -> Collection {
    match (crate::analysis::hotspots::output(h), &h.result) {
        (Ok(out), _) => lazy_collection(0, Some(out)),
        (Err(_), Err(e)) => {
            lazy_collection(0, Some(Output { parameters: json!({"method": "optimized hot spots (Gi*, FDR)", "error": e.to_string()}), ..Default::default() }))
        }
        (Err(_), Ok(_)) => lazy_collection(0, None),
    }
}

/// Walks and observations as collections, read from the walk store on each request (they change
/// while the service runs), so QGIS can add them through OGC API Features like any other layer.
/// What `role` sees of them is `privacy::walk_view`'s decision, as on the walk API.
pub fn walk_collection(store: &dyn crate::store::WalkStore, id: &str, role: crate::privacy::Role) -> Option<Collection> {
    let view = crate::privacy::walk_view(role);
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
                // Lists as text: QGIS and GeoPackage columns hold no arrays.
                p.insert("organisations".into(), w.organisations.join(", ").into());
                p.insert("participants".into(), serde_json::to_string(&w.participants).unwrap_or_default().into());
                p.insert("stops".into(), serde_json::to_string(&w.stops).unwrap_or_default().into());
                let mut p = view.walk(p);
                if let Some(Value::String(stops)) = p.get("stops").cloned() {
                    // The public view drops the stops' free text from the JSON text too.
                    let parsed: Vec<Value> = serde_json::from_str(&stops).unwrap_or_default();
                    let mut m = Map::new();
                    m.insert("stops".into(), Value::Array(parsed));
                    p.insert("stops".into(), serde_json::to_string(&view.walk(m)["stops"]).unwrap_or_default().into());
                }
                feat(w.id.clone(), p, w.route.clone().into(), Some(w.planned_at))
            })
            .collect(),
        "observations" => {
            let today = chrono::Local::now().date_naive();
            store
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
                    p.insert("overdue".into(), o.is_overdue(today).into());
                    let (p, at) = view.observation(p, o.point.x(), o.point.y());
                    feat(o.id.clone(), p, at.into(), Some(o.created_at))
                })
                .collect()
        }
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
