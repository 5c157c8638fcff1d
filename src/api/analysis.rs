//! Analysis on demand: hotspots, LISA, density and emerging hot spots over a chosen period and
//! set of categories. Results are cached by their parameters and the data generation, and
//! returned with them; the cache, the number computing at once and the work of each are bounded
//! (see `bounded`).

use super::auth::Caller;
use super::error::{check_params, ApiError};
use super::features::{geometry_json, Crs};
use super::layers::{self, Collection};
use super::AppState;
use crate::model::{Category, Incident};
use crate::privacy::{cache_control, suppress, Resource};
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use std::sync::Arc;

struct Filter {
    from: Option<chrono::NaiveDate>,
    to: Option<chrono::NaiveDate>,
    categories: Option<Vec<Category>>,
}

fn date(v: &str, what: &str) -> Result<chrono::NaiveDate, ApiError> {
    if let Some((y, w)) = v.split_once("-W") {
        // ISO week: from its Monday / to its Sunday.
        let y: i32 = y.parse().map_err(|_| ApiError::BadRequest(format!("{what} '{v}' is not a date or ISO week")))?;
        let w: u32 = w.parse().map_err(|_| ApiError::BadRequest(format!("{what} '{v}' is not a date or ISO week")))?;
        let wd = if what == "to" { chrono::Weekday::Sun } else { chrono::Weekday::Mon };
        return chrono::NaiveDate::from_isoywd_opt(y, w, wd).ok_or_else(|| ApiError::BadRequest(format!("{what} '{v}' is not a valid ISO week")));
    }
    chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d")
        .map_err(|_| ApiError::BadRequest(format!("{what} '{v}' is not a date (2025-03-14) or ISO week (2025-W11)")))
}

fn filter(pairs: &[(String, String)]) -> Result<Filter, ApiError> {
    let get = |k: &str| pairs.iter().find(|(a, _)| a == k).map(|(_, v)| v.as_str());
    let categories = match get("categories") {
        None | Some("") => None,
        Some(list) => Some(
            list.split(',')
                .map(|c| {
                    Category::from_canonical(c.trim())
                        .ok_or_else(|| ApiError::BadRequest(format!("unknown category '{c}' (one of: {})", Category::ALL.map(|c| c.as_str()).join(", "))))
                })
                .collect::<Result<Vec<_>, _>>()?,
        ),
    };
    let f = Filter { from: get("from").map(|v| date(v, "from")).transpose()?, to: get("to").map(|v| date(v, "to")).transpose()?, categories };
    if let (Some(a), Some(b)) = (f.from, f.to) {
        if a > b {
            return Err(ApiError::BadRequest(format!("from {a} is after to {b}")));
        }
    }
    Ok(f)
}

fn selected<'a>(s: &'a AppState, f: &Filter) -> Vec<&'a Incident> {
    s.layers
        .picture
        .point_incidents()
        .filter(|i| f.from.is_none_or(|d| i.occurred_at.date() >= d))
        .filter(|i| f.to.is_none_or(|d| i.occurred_at.date() <= d))
        .filter(|i| f.categories.as_ref().is_none_or(|c| c.contains(&i.category)))
        .collect()
}

/// Refuses an explicit cell or band that would exceed the work limits, saying what to change.
/// Without them, the automatic cell is coarsened when needed (see `layers::hotspot_grid_collection`).
fn check_hotspot_work(pts: &[[f64; 2]], cell: Option<f64>, band: Option<f64>) -> Result<(), ApiError> {
    use super::bounded::{grid_cells, limits, smallest_cell};
    let Some(b) = super::bounded::bbox(pts) else { return Ok(()) };
    if let Some(c) = cell {
        let n = grid_cells(b, c);
        if n > limits::MAX_CELLS {
            return Err(ApiError::BadRequest(format!(
                "cell {c} m gives {n:.0} grid cells over this selection (limit {}); use cell={} or larger, a shorter period (from/to) or fewer categories",
                limits::MAX_CELLS,
                smallest_cell(b)
            )));
        }
    }
    if let Some(d) = band {
        let c = cell.unwrap_or_else(|| smallest_cell(b));
        let pairs = grid_cells(b, c) * std::f64::consts::PI * (d / c).powi(2);
        if pairs > limits::MAX_PAIRS {
            let max_band = c * (limits::MAX_PAIRS / (grid_cells(b, c) * std::f64::consts::PI)).sqrt();
            return Err(ApiError::BadRequest(format!(
                "band {d} m gives about {pairs:.0} neighbour pairs (limit {}); use band={:.0} or smaller, or a larger cell",
                limits::MAX_PAIRS,
                max_band.floor()
            )));
        }
    }
    Ok(())
}

fn num(pairs: &[(String, String)], k: &str, lo: f64, hi: f64) -> Result<Option<f64>, ApiError> {
    match pairs.iter().find(|(a, _)| a == k) {
        None => Ok(None),
        Some((_, v)) => {
            let x: f64 = v.parse().map_err(|_| ApiError::BadRequest(format!("{k} '{v}' is not a number")))?;
            if !(lo..=hi).contains(&x) {
                return Err(ApiError::BadRequest(format!("{k} must lie in {lo}–{hi}, got {x}")));
            }
            Ok(Some(x))
        }
    }
}

pub async fn run(State(s): State<AppState>, caller: Caller, Path(kind): Path<String>, RawQuery(q): RawQuery) -> Result<Response, ApiError> {
    let common = ["from", "to", "categories"];
    let allowed: Vec<&str> = match kind.as_str() {
        "hotspots" => common.iter().copied().chain(["cell", "band"]).collect(),
        "density" => common.iter().copied().chain(["radius"]).collect(),
        "emerging" => common.iter().copied().chain(["cell", "step_days"]).collect(),
        "lisa" => vec!["indicator", "tolerance", "permutations", "seed", "alpha"],
        other => return Err(ApiError::NotFound(format!("no analysis '{other}' (hotspots, density, emerging, lisa)"))),
    };
    let mut pairs = check_params(q.as_deref(), &allowed)?;
    pairs.sort();
    let key = format!("g{}:{kind}?{}", s.generation, pairs.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&"));
    let cached = s.analysis.cache.get(&key);
    let c = match cached {
        Some(c) => c,
        None => {
            // A turn among --analysis-workers, or 503 when the queue is full.
            let permit = s.analysis.limiter.acquire().await?;
            let st = s.clone();
            let kind2 = kind.clone();
            let pairs2 = pairs.clone();
            let c = tokio::task::spawn_blocking(move || {
                let _permit = permit;
                compute(&st, &kind2, &pairs2)
            })
            .await??;
            let c = Arc::new(c);
            s.analysis.cache.put(key.clone(), c.clone());
            c
        }
    };
    let features: Vec<Value> = c
        .features
        .iter()
        .map(|f| {
            let mut p = f.props.clone();
            if let Some(min) = caller.role.min_count(s.config.min_public_count) {
                suppress(&mut p, &c.count_fields, min);
            }
            json!({"type": "Feature", "id": f.id, "geometry": geometry_json(&f.g3006, &f.gwgs, Crs::Crs84), "properties": p})
        })
        .collect();
    let body = json!({"type": "FeatureCollection", "features": features, "numberReturned": c.features.len(), "analysis": kind, "request": pairs.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect::<serde_json::Map<_, _>>(), "parameters": c.parameters, "library": crate::stats::LIBRARY});
    let mut resp = ([(header::CONTENT_TYPE, "application/geo+json")], body.to_string()).into_response();
    resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static(cache_control(caller.role, Resource::Aggregate)));
    resp.headers_mut().insert(header::VARY, HeaderValue::from_static("Authorization"));
    Ok(resp)
}

fn compute(s: &AppState, kind: &str, pairs: &[(String, String)]) -> Result<Collection, ApiError> {
    match kind {
        "hotspots" => {
            let f = filter(pairs)?;
            let pts: Vec<[f64; 2]> = selected(s, &f).iter().map(|i| [i.location.x(), i.location.y()]).collect();
            let cell = num(pairs, "cell", 25.0, 5000.0)?;
            let band = num(pairs, "band", 25.0, 20000.0)?;
            check_hotspot_work(&pts, cell, band)?;
            if cell.is_some() || band.is_some() {
                let r = crate::stats::optimized::optimized_hot_spots(&pts, None, cell, band)
                    .map_err(|e| ApiError::BadRequest(format!("cannot compute hotspots for this selection: {e}")))?;
                let mut c = layers::hotspot_grid_collection(&[]);
                c.features = r
                    .cells
                    .iter()
                    .enumerate()
                    .map(|(k, cell)| {
                        let mut p = serde_json::Map::new();
                        p.insert("cell_id".into(), cell.id.clone().into());
                        p.insert("count".into(), (r.counts[k] as u64).into());
                        p.insert("gi_z".into(), r.gi.z[k].into());
                        p.insert("gi_p".into(), r.gi.p_norm[k].into());
                        p.insert("gi_bin".into(), r.fdr_bin[k].into());
                        let g: geo::Geometry<f64> = cell.polygon.clone().into();
                        let gwgs = crate::crs::to_wgs84(&g).unwrap_or(g.clone());
                        layers::feat_from(cell.id.clone(), p, g, gwgs, [0.0; 4])
                    })
                    .collect();
                c.parameters = json!({"method": "optimized hot spots (Gi*, FDR)", "choices": r.choices});
                Ok(c)
            } else {
                let c = layers::hotspot_grid_collection(&pts);
                if c.features.is_empty() {
                    return Err(ApiError::BadRequest(format!("too few incidents ({}) for hotspots in this selection (at least 60)", pts.len())));
                }
                Ok(c)
            }
        }
        "density" => {
            let f = filter(pairs)?;
            let pts: Vec<[f64; 2]> = selected(s, &f).iter().map(|i| [i.location.x(), i.location.y()]).collect();
            // Too much work for the 50 m raster gets a coarser cell, named in `parameters`.
            Ok(layers::density_collection(&pts, num(pairs, "radius", 10.0, 10000.0)?))
        }
        "emerging" => {
            let f = filter(pairs)?;
            let inc: Vec<Incident> = selected(s, &f).into_iter().cloned().collect();
            let cell = num(pairs, "cell", 50.0, 5000.0)?.unwrap_or(250.0);
            let step = num(pairs, "step_days", 1.0, 92.0)?.unwrap_or(7.0) as i64;
            if pairs.iter().any(|(k, _)| k == "cell") {
                // An explicit cell is honoured or refused, never silently changed.
                let pts: Vec<([f64; 2], chrono::NaiveDateTime)> = inc.iter().map(|i| ([i.location.x(), i.location.y()], i.occurred_at)).collect();
                let fits = layers::emerging_cell(&pts, cell, step);
                if fits > cell {
                    return Err(ApiError::BadRequest(format!(
                        "emerging hot spots with cell {cell} m and step_days {step} exceed the work limit of {} cell-steps for this selection; use cell={fits} or larger, a longer step_days, a shorter period (from/to) or fewer categories",
                        super::bounded::limits::MAX_CUBE
                    )));
                }
            }
            Ok(layers::emerging_collection(&inc, cell, step))
        }
        "lisa" => lisa(s, pairs),
        other => Err(ApiError::NotFound(format!("no analysis '{other}'"))),
    }
}

/// Local Moran of an indicator over the picture's DeSO.
fn lisa(s: &AppState, pairs: &[(String, String)]) -> Result<Collection, ApiError> {
    let name = pairs
        .iter()
        .find(|(k, _)| k == "indicator")
        .map(|(_, v)| v.clone())
        .ok_or_else(|| ApiError::BadRequest("lisa needs indicator=NAME (e.g. low_econ)".into()))?;
    let deso = s.layers.get("deso").ok_or_else(|| ApiError::internal("no deso layer"))?;
    let mut y = Vec::new();
    let mut missing = Vec::new();
    for f in &s.layers.picture.areas {
        match f.latest(&name) {
            Some(v) => y.push(v),
            None => missing.push(f.area.deso.clone()),
        }
    }
    if !missing.is_empty() {
        return Err(ApiError::BadRequest(format!(
            "indicator '{name}' is missing for {} area(s): {}",
            missing.len(),
            missing.iter().take(10).cloned().collect::<Vec<_>>().join(", ")
        )));
    }
    let tol = num(pairs, "tolerance", 0.0, 500.0)?.unwrap_or(25.0);
    let perms = num(pairs, "permutations", 0.0, 9999.0)?.unwrap_or(999.0) as usize;
    let seed = num(pairs, "seed", 0.0, 1e15)?.unwrap_or(20251122.0) as u64;
    let alpha = num(pairs, "alpha", 0.0001, 0.5)?.unwrap_or(0.05);
    let polys: Vec<geo::MultiPolygon<f64>> = s.layers.picture.areas.iter().map(|f| f.area.geometry.clone()).collect();
    let w = crate::stats::Weights::contiguity(&polys, true, tol);
    let params = crate::stats::LisaParams { transform: crate::stats::Transform::R, permutations: perms, seed, alpha };
    let r = crate::stats::local_moran(&y, &w, &params).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let features = deso
        .features
        .iter()
        .enumerate()
        .map(|(k, f)| {
            let mut p = serde_json::Map::new();
            p.insert("deso".into(), f.id.clone().into());
            p.insert("value".into(), y[k].into());
            p.insert("lisa_i".into(), r.i[k].into());
            p.insert("lisa_q".into(), r.q[k].into());
            p.insert("lisa_p_sim".into(), r.p_sim[k].into());
            p.insert("lisa_cluster".into(), r.cluster[k].into());
            layers::feat_from(f.id.clone(), p, f.g3006.clone(), f.gwgs.clone(), f.bbox_wgs)
        })
        .collect();
    Ok(Collection {
        id: "lisa",
        title: "Lokal Moran (LISA)",
        description: format!("Local Moran på {name}"),
        access: layers::Access::Open,
        count_fields: vec![],
        features,
        temporal: false,
        parameters: json!({"indicator": name, "weights": "queen", "tolerance_m": tol, "params": params, "islands": r.islands}),
    })
}
