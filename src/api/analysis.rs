//! Analysis on demand: every analysis of the registry (`crate::analysis`), over the picture's
//! incidents of a chosen period and set of categories, or over its areas. Results are cached by
//! their parameters and the data generation, and returned with them; the cache, the number
//! computing at once and the work of each are bounded (see `bounded`, `analysis::limits`).

use super::auth::Caller;
use super::error::{check_params, ApiError};
use super::features::{geometry_json, Crs};
use super::AppState;
use crate::analysis::{self as registry, Analysis, Areas, Event, Input, Layer, Limits, Needs, Params};
use crate::catalog::{analysis_collection, Collection};
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

/// Query parameters that choose the input rather than the analysis.
const POINT_SELECTION: &[&str] = &["from", "to", "categories"];
const AREA_SELECTION: &[&str] = &["indicator"];

fn selection_params(needs: Needs) -> &'static [&'static str] {
    match needs {
        Needs::Points => POINT_SELECTION,
        Needs::AreaValues => AREA_SELECTION,
        Needs::AreaRates => &[],
    }
}

pub async fn run(State(s): State<AppState>, caller: Caller, Path(kind): Path<String>, RawQuery(q): RawQuery) -> Result<Response, ApiError> {
    let analysis = registry::find(&kind)?;
    let about = analysis.about();
    let offered = about.params.iter().filter(|p| p.service).map(|p| p.name);
    let allowed: Vec<&str> = selection_params(about.needs).iter().copied().chain(offered).collect();
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
            let pairs2 = pairs.clone();
            let c = tokio::task::spawn_blocking(move || {
                let _permit = permit;
                compute(&st, analysis, &pairs2)
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

fn compute(s: &AppState, a: &dyn Analysis, pairs: &[(String, String)]) -> Result<Collection, ApiError> {
    let about = a.about();
    let picks = selection_params(about.needs);
    let (selection, rest): (Vec<(String, String)>, Vec<(String, String)>) = pairs.iter().cloned().partition(|(k, _)| picks.contains(&k.as_str()));
    let params = Params::parse(&about, &rest, &Limits::SERVICE)?;
    if about.needs == Needs::Points {
        let f = filter(&selection)?;
        s.layers.picture.check_point_period(f.from, f.to)?;
        let input = Input::Points(selected(s, &f).iter().map(|i| Event { xy: [i.location.x(), i.location.y()], at: Some(i.occurred_at) }).collect());
        let out = a.run(&input, &params, &Limits::SERVICE)?;
        return Ok(analysis_collection(about.id, about.title, String::new(), &about, out, None));
    }
    let deso = s.layers.get("deso").ok_or_else(|| ApiError::internal("no deso layer"))?;
    let indicator = selection.iter().find(|(k, _)| k == "indicator").map(|(_, v)| v.clone());
    let input = area_input(s, about.id, about.needs, indicator.as_deref())?;
    let out = a.run(&input, &params, &Limits::SERVICE)?;
    let values = (about.needs == Needs::AreaValues).then(|| input.areas().map(|a| a.layer.y.as_slice()).unwrap_or(&[]));
    let description = format!("{} på {}", about.title, indicator.as_deref().unwrap_or("händelser per invånare"));
    let mut c = analysis_collection(about.id, about.title, description, &about, out, Some((deso.as_ref(), values)));
    if let Some(name) = indicator {
        c.parameters["indicator"] = name.into();
    }
    Ok(c)
}

/// The picture's DeSO (their stored polygons, as the map's Gi* uses them) with an indicator's
/// latest values, or with their incident counts and residents for rates.
fn area_input(s: &AppState, id: &str, needs: Needs, indicator: Option<&str>) -> Result<Input, ApiError> {
    let areas = &s.layers.picture.areas;
    let (y, population) = match needs {
        Needs::AreaValues => {
            let name = indicator.ok_or_else(|| ApiError::BadRequest(format!("{id} needs indicator=NAME (e.g. low_econ)")))?;
            let missing: Vec<&str> = areas.iter().filter(|f| f.latest(name).is_none()).map(|f| f.area.deso.as_str()).collect();
            if !missing.is_empty() {
                return Err(ApiError::BadRequest(format!(
                    "indicator '{name}' is missing for {} area(s): {}",
                    missing.len(),
                    missing.iter().take(10).copied().collect::<Vec<_>>().join(", ")
                )));
            }
            (areas.iter().filter_map(|f| f.latest(name)).collect(), vec![])
        }
        _ => (areas.iter().map(|f| f.incidents as f64).collect(), areas.iter().map(|f| f.population.unwrap_or(f64::NAN)).collect()),
    };
    let layer = Layer {
        file: "deso".into(),
        columns: vec![],
        values: vec![vec![]; areas.len()],
        geometries: areas.iter().map(|f| Some(f.area.geometry.clone().into())).collect(),
        epsg: Some(3006),
        y,
    };
    Ok(Input::Areas(Areas { layer, population }))
}
