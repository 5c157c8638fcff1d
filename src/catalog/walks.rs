//! Walks and observations as collections, read from the walk store on each request (they change
//! while the service runs), so QGIS can add them through OGC API Features like any other layer.
//! What a role sees of them is `privacy::walk_view`'s decision, as on the walk API.

use super::{feat, Access, Building, Collection, Context, GeometryKind, Layer, LayerInfo};
use crate::privacy::Role;
use serde_json::{Map, Value};

const DESCRIPTION: &str = "Rutter och observationer; ändras via /walks och /observations (editor).";

fn info(id: &'static str, title: &'static str, geometry: GeometryKind) -> LayerInfo {
    LayerInfo { building: Building::PerRequest, ..LayerInfo::open(id, title, geometry, 10) }
}

fn collection(info: LayerInfo, features: Vec<super::Feat>) -> Collection {
    Collection { temporal: true, ..Collection::new(info.id, info.title, DESCRIPTION.into(), Access::Open, vec![], features) }
}

pub struct Walks;

impl Layer for Walks {
    fn info(&self) -> LayerInfo {
        info("walks", "Trygghetsvandringar", GeometryKind::LineString)
    }

    fn present(&self, cx: &Context) -> bool {
        cx.walks.is_some()
    }

    fn features(&self, cx: &Context, role: Role) -> Option<Collection> {
        let view = crate::privacy::walk_view(role);
        let features = cx
            .walks?
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
                    let m = Map::from_iter([("stops".to_string(), Value::Array(parsed))]);
                    p.insert("stops".into(), serde_json::to_string(&view.walk(m)["stops"]).unwrap_or_default().into());
                }
                feat(w.id.clone(), p, w.route.clone().into(), Some(w.planned_at))
            })
            .collect();
        Some(collection(self.info(), features))
    }
}

pub struct Observations;

impl Layer for Observations {
    fn info(&self) -> LayerInfo {
        info("observations", "Observationer från trygghetsvandringar", GeometryKind::Point)
    }

    fn present(&self, cx: &Context) -> bool {
        cx.walks.is_some()
    }

    fn features(&self, cx: &Context, role: Role) -> Option<Collection> {
        let view = crate::privacy::walk_view(role);
        let today = chrono::Local::now().date_naive();
        let features = cx
            .walks?
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
            .collect();
        Some(collection(self.info(), features))
    }
}
