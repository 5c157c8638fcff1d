//! Place search and map labels from our own data: RegSO names, DeSO codes, Polisen's area names,
//! municipalities and walk titles.
//!
//! `GET /api/search?q=TEXT[&limit=N]` matches the start of a name or of any word in it, with
//! case and Swedish letters folded ("sodra" finds "Södra"). `GET /api/labels` gives one point
//! per area for the map's label layers, plus the county outline (union of the municipalities).

use super::error::{check_params, ApiError};
use super::AppState;
use crate::catalog::Catalog;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use serde_json::{json, Value};
use std::sync::{Arc, Mutex, OnceLock, Weak};

/// Longest query accepted, in characters.
pub const MAX_QUERY: usize = 100;
/// Hits returned without `limit`, and the most `limit` may ask for.
pub const DEFAULT_LIMIT: usize = 10;
pub const MAX_LIMIT: usize = 50;

/// One searchable place.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Hit {
    /// `regso`, `deso`, `police_area`, `kommun` or `walk`.
    pub kind: &'static str,
    pub id: String,
    pub name: String,
    /// West, south, east, north in WGS84 degrees.
    pub bbox: [f64; 4],
}

/// How well a folded name matches a folded query; lower is better, None is no match.
fn rank(name: &str, q: &str) -> Option<u8> {
    if name == q {
        Some(0)
    } else if name.starts_with(q) {
        Some(1)
    } else if name.split(' ').any(|w| w.starts_with(q)) {
        Some(2)
    } else {
        None
    }
}

fn kind_order(kind: &str) -> u8 {
    match kind {
        "regso" => 0,
        "police_area" => 1,
        "kommun" => 2,
        "walk" => 3,
        _ => 4,
    }
}

/// Every place of the published layers, in a fixed order.
pub fn places(layers: &Catalog) -> Vec<Hit> {
    let mut out = Vec::new();
    let mut push = |coll: &str, kind: &'static str, name_field: &str| {
        if let Some(c) = layers.get(coll) {
            for f in &c.features {
                let name = f.props.get(name_field).and_then(Value::as_str).unwrap_or("").to_string();
                if !name.is_empty() {
                    out.push(Hit { kind, id: f.id.clone(), name, bbox: f.bbox_wgs });
                }
            }
        }
    };
    push("regso", "regso", "regso_name");
    push("deso", "deso", "deso");
    push("police_areas", "police_area", "name");
    push("municipalities", "kommun", "name");
    out
}

/// Finds places whose name (or DeSO code) starts with the query or has a word that does.
pub fn search(places: &[Hit], q: &str, limit: usize) -> Vec<Hit> {
    let fq = crate::model::fold(q);
    if fq.is_empty() {
        return vec![];
    }
    let mut hits: Vec<(u8, u8, &Hit)> = places
        .iter()
        .filter_map(|p| {
            let r = rank(&crate::model::fold(&p.name), &fq).or_else(|| rank(&crate::model::fold(&p.id), &fq).map(|r| r.max(1)));
            r.map(|r| (r, kind_order(p.kind), p))
        })
        .collect();
    hits.sort_by(|a, b| (a.0, a.1, &a.2.name, &a.2.id).cmp(&(b.0, b.1, &b.2.name, &b.2.id)));
    hits.into_iter().take(limit).map(|(_, _, h)| h.clone()).collect()
}

fn walk_places(state: &AppState) -> Result<Vec<Hit>, ApiError> {
    let Some(ws) = &state.walks else { return Ok(vec![]) };
    let walks = ws.store.walks().map_err(|e| ApiError::Internal(e.into()))?;
    Ok(walks
        .iter()
        .filter_map(|w| {
            use geo::BoundingRect;
            let g = crate::crs::to_wgs84(&w.route.clone().into()).ok()?;
            let r = g.bounding_rect()?;
            Some(Hit { kind: "walk", id: w.id.clone(), name: w.title.clone(), bbox: [r.min().x, r.min().y, r.max().x, r.max().y] })
        })
        .collect())
}

/// `GET /api/search?q=TEXT[&limit=N]`.
pub async fn search_handler(State(s): State<AppState>, RawQuery(raw): RawQuery) -> Result<Response, ApiError> {
    let pairs = check_params(raw.as_deref(), &["q", "limit"])?;
    let get = |k: &str| pairs.iter().find(|(a, _)| a == k).map(|(_, v)| v.as_str());
    let q = get("q").ok_or_else(|| ApiError::BadRequest("q is required".into()))?;
    if q.chars().count() > MAX_QUERY {
        return Err(ApiError::BadRequest(format!("q is longer than {MAX_QUERY} characters")));
    }
    if crate::model::fold(q).is_empty() {
        return Err(ApiError::BadRequest("q is empty".into()));
    }
    let limit = match get("limit") {
        None => DEFAULT_LIMIT,
        Some(l) => match l.parse::<usize>() {
            Ok(n) if (1..=MAX_LIMIT).contains(&n) => n,
            _ => return Err(ApiError::BadRequest(format!("limit '{l}' is not a number from 1 to {MAX_LIMIT}"))),
        },
    };
    let q = q.to_string();
    let hits = tokio::task::spawn_blocking(move || -> Result<Vec<Hit>, ApiError> {
        let mut all = places(&s.layers);
        all.extend(walk_places(&s)?);
        Ok(search(&all, &q, limit))
    })
    .await
    .map_err(|e| ApiError::Internal(e.into()))??;
    Ok(Json(json!({ "hits": hits })).into_response())
}

/// Label points and the county outline as GeoJSON (WGS84).
pub fn labels(layers: &Catalog) -> Value {
    use geo::InteriorPoint;
    let mut feats = Vec::new();
    let mut point = |kind: &str, id: &str, name: &str, g: &geo::Geometry<f64>| {
        // The interior point is computed in SWEREF 99 TM (metres), where "inside" is exact.
        let Some(p) = g.interior_point() else { return };
        let Ok(geo::Geometry::Point(w)) = crate::crs::to_wgs84(&geo::Geometry::Point(p)) else { return };
        feats.push(json!({"type": "Feature", "properties": {"kind": kind, "id": id, "name": name},
            "geometry": {"type": "Point", "coordinates": [w.x(), w.y()]}}));
    };
    for (coll, kind, field) in
        [("regso", "regso", "regso_name"), ("deso", "deso", "deso"), ("police_areas", "police_area", "name"), ("municipalities", "kommun", "name")]
    {
        if let Some(c) = layers.get(coll) {
            for f in &c.features {
                let name = f.props.get(field).and_then(Value::as_str).unwrap_or("");
                if !name.is_empty() {
                    point(kind, &f.id, name, &f.g3006);
                }
            }
        }
    }
    if let Some(c) = layers.get("municipalities") {
        let polys: Vec<geo::Polygon<f64>> = c
            .features
            .iter()
            .flat_map(|f| match &f.gwgs {
                geo::Geometry::Polygon(p) => vec![p.clone()],
                geo::Geometry::MultiPolygon(m) => m.0.clone(),
                _ => vec![],
            })
            .collect();
        if !polys.is_empty() {
            let county = geo::unary_union(polys.iter());
            let g = geojson::Geometry::new(geojson::Value::from(&geo::Geometry::MultiPolygon(county)));
            feats.push(json!({"type": "Feature", "properties": {"kind": "lan", "id": "lan", "name": "Länsgräns"}, "geometry": g}));
        }
    }
    json!({"type": "FeatureCollection", "features": feats})
}

/// The labels of the current layer set, computed once per layer set (the layers are rebuilt when
/// the data changes, and a new set gets new labels).
fn cached_labels(layers: &Arc<Catalog>) -> Arc<String> {
    type Slot = Mutex<Option<(Weak<Catalog>, Arc<String>)>>;
    static SLOT: OnceLock<Slot> = OnceLock::new();
    let slot = SLOT.get_or_init(Default::default);
    if let Ok(g) = slot.lock() {
        if let Some((w, v)) = g.as_ref() {
            if w.upgrade().is_some_and(|l| Arc::ptr_eq(&l, layers)) {
                return v.clone();
            }
        }
    }
    let v = Arc::new(labels(layers).to_string());
    if let Ok(mut g) = slot.lock() {
        *g = Some((Arc::downgrade(layers), v.clone()));
    }
    v
}

/// `GET /api/labels`.
pub async fn labels_handler(State(s): State<AppState>, RawQuery(raw): RawQuery) -> Result<Response, ApiError> {
    check_params(raw.as_deref(), &[])?;
    let layers = s.layers.clone();
    let body = tokio::task::spawn_blocking(move || cached_labels(&layers)).await.map_err(|e| ApiError::Internal(e.into()))?;
    let mut r = ([(header::CONTENT_TYPE, "application/geo+json")], body.as_str().to_owned()).into_response();
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=60"));
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hit(kind: &'static str, id: &str, name: &str) -> Hit {
        Hit { kind, id: id.into(), name: name.into(), bbox: [0.0; 4] }
    }

    #[test]
    fn a_folded_prefix_of_any_word_matches_and_exact_names_come_first() {
        let places = vec![
            hit("regso", "r1", "Sollentuna Södra"),
            hit("regso", "r2", "Södra Tureberg"),
            hit("police_area", "p", "Södra"),
            hit("regso", "r3", "Norrviken"),
        ];
        let names: Vec<String> = search(&places, "sodra", 10).into_iter().map(|h| h.name).collect();
        assert_eq!(names, ["Södra", "Södra Tureberg", "Sollentuna Södra"]);
        assert!(search(&places, "odra", 10).is_empty(), "only prefixes match");
    }

    #[test]
    fn deso_codes_match_by_prefix_and_the_limit_holds() {
        let places: Vec<Hit> = (0..20).map(|k| hit("deso", &format!("0163C11{k:02}"), &format!("0163C11{k:02}"))).collect();
        assert_eq!(search(&places, "0163c11", 5).len(), 5);
        assert_eq!(search(&places, "0163C1107", 5)[0].id, "0163C1107");
    }
}
