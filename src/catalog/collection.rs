//! A built collection: its features in both CRSs and what the routes need to serve them, and the
//! view of one feature a role may see (the rules themselves are `privacy`'s).

use crate::privacy::Role;
use chrono::NaiveDateTime;
use geo::BoundingRect;
use serde_json::{json, Map, Value};
use std::sync::Arc;

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
    /// An open collection without parameters.
    pub fn new(id: &'static str, title: &'static str, description: String, access: Access, count_fields: Vec<&'static str>, features: Vec<Feat>) -> Collection {
        Collection { id, title, description, access, count_fields, features, temporal: false, parameters: json!({}) }
    }

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
                crate::privacy::suppress(&mut p, &c.count_fields, min_count);
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
            let geo::Geometry::Point(p) = &f.g3006 else { return None };
            let (props, snapped, id) = crate::privacy::partner_incident(&f.props, p, &f.id);
            let snapped = geo::Geometry::Point(snapped);
            let wgs = crate::crs::to_wgs84(&snapped).ok()?;
            Some((props, snapped, wgs, id))
        }
    }
}

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
