//! Layers that are registered analyses run with the service's defaults over the picture's point
//! incidents (`hotspots_grid`, `density`, `emerging`), built on first use, and the conversion of
//! any analysis result into a collection (also used by `GET /analysis/{id}`).

use super::{feat, feat_from, Access, Building, Collection, Context, GeometryKind, Layer, LayerInfo};
use crate::analysis::{About, Event, Limits, Output, Params};
use crate::privacy::Role;
use serde_json::{json, Map, Value};

/// Optimized hot spots over a set of points, or why there are none.
pub type HotspotCells = crate::analysis::hotspots::BoundedHotspots;

const fn lazy(id: &'static str, title: &'static str, analysis: &'static str, min_zoom: u8) -> LayerInfo {
    LayerInfo { building: Building::OnFirstUse, analysis: Some(analysis), ..LayerInfo::open(id, title, GeometryKind::Polygon, min_zoom) }
}

/// The layer as a collection without features, for listings.
fn outline(info: LayerInfo, description: &str) -> Option<Collection> {
    let mut c = lazy_collection(info, description, None);
    c.features.clear();
    c.parameters = json!({});
    Some(c)
}

/// Points are gathered only when a lazy layer is first built, not on every request.
fn events(cx: &Context) -> Vec<Event> {
    cx.catalog.picture.point_incidents().map(|i| Event { xy: [i.location.x(), i.location.y()], at: Some(i.occurred_at) }).collect()
}

pub struct HotspotsGrid;

const HOTSPOTS: &str = "Gi* per rutcell med automatiskt vald cellstorlek och avståndsband (som Esris Optimized Hot Spot Analysis), FDR-korrigerat.";

impl Layer for HotspotsGrid {
    fn info(&self) -> LayerInfo {
        lazy("hotspots_grid", "Hotspots (rutnät, Gi*)", "hotspots", 10)
    }

    fn features(&self, cx: &Context, _role: Role) -> Option<Collection> {
        Some(hotspot_grid_from(&cx.catalog.hotspot_cells()))
    }

    fn outline(&self, _cx: &Context) -> Option<Collection> {
        outline(self.info(), HOTSPOTS)
    }
}

/// A registered analysis run with the service's defaults over the picture's point incidents
/// (`density`, `emerging`): a new layer of this kind is one line in `Catalog::build`.
pub struct PointAnalysis {
    pub id: &'static str,
    pub title: &'static str,
    /// The id in `crate::analysis::REGISTRY`.
    pub analysis: &'static str,
    pub min_zoom: u8,
    pub description: &'static str,
}

impl Layer for PointAnalysis {
    fn info(&self) -> LayerInfo {
        lazy(self.id, self.title, self.analysis, self.min_zoom)
    }

    fn features(&self, cx: &Context, _role: Role) -> Option<Collection> {
        Some(lazy_collection(self.info(), self.description, run_default(self.analysis, events(cx))))
    }

    fn outline(&self, _cx: &Context) -> Option<Collection> {
        outline(self.info(), self.description)
    }
}

pub const DENSITY: PointAnalysis = PointAnalysis {
    id: "density",
    title: "Händelsetäthet (kerneltäthet)",
    analysis: "density",
    min_zoom: 9,
    description: "Kerneltäthet (kvartisk kärna, ArcGIS formel) i fem klasser.",
};

pub const EMERGING: PointAnalysis = PointAnalysis {
    id: "emerging",
    title: "Framväxande hotspots",
    analysis: "emerging",
    min_zoom: 10,
    description: "Framväxande hotspots per 250 m-ruta och vecka (rum-tid Gi*, Mann–Kendall, Esris kategorier).",
};

/// A lazy analysis layer from its result; without one (the statistic is undefined for the
/// data), without features.
fn lazy_collection(info: LayerInfo, description: &str, out: Option<Output>) -> Collection {
    let analysis = info.analysis.unwrap_or("hotspots");
    let about = crate::analysis::find(analysis).map(|a| a.about()).unwrap_or(crate::analysis::hotspots::ABOUT);
    let out = out.unwrap_or_else(|| Output { parameters: json!({}), ..Default::default() });
    analysis_collection(info.id, info.title, description.into(), &about, out, None)
}

/// The registered analysis with the service's defaults over the given points.
fn run_default(id: &str, events: Vec<Event>) -> Option<Output> {
    let a = crate::analysis::find(id).ok()?;
    let about = a.about();
    a.run(&crate::analysis::Input::Points(events), &Params::defaults(&about, &Limits::SERVICE), &Limits::SERVICE).ok()
}

/// The hot spot cells as a collection; a statistic undefined for the data is named in `parameters`.
pub fn hotspot_grid_from(h: &HotspotCells) -> Collection {
    let info = HotspotsGrid.info();
    match (crate::analysis::hotspots::output(h), &h.result) {
        (Ok(out), _) => lazy_collection(info, HOTSPOTS, Some(out)),
        (Err(_), Err(e)) => {
            let parameters = json!({"method": "optimized hot spots (Gi*, FDR)", "error": e.to_string()});
            lazy_collection(info, HOTSPOTS, Some(Output { parameters, ..Default::default() }))
        }
        (Err(_), Ok(_)) => lazy_collection(info, HOTSPOTS, None),
    }
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
    let count_fields = about.fields.iter().filter(|f| f.count).map(|f| f.name).collect();
    Collection { parameters: out.parameters, ..Collection::new(id, title, description, Access::Open, count_fields, features) }
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
