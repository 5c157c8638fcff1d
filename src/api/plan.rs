//! `POST /api/profile`: the social picture of a plan area (GeoJSON in WGS84, or a GeoPackage,
//! zipped Shapefile or other GDAL file as the body), and `GET /api/indicators`: the indicator
//! catalogue for every indicator in the store; `GET /api/surveys`: survey results.

use super::error::{check_params, ApiError};
use super::{auth, AppState};
use crate::social::{self, PlanArea, PlanAreaError, PlanLimits};
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;

impl From<PlanAreaError> for ApiError {
    fn from(e: PlanAreaError) -> ApiError {
        match e {
            PlanAreaError::Outside => ApiError::Unprocessable(e.to_string()),
            PlanAreaError::TooManyVertices(..) | PlanAreaError::TooLarge(..) => ApiError::PayloadTooLarge(e.to_string()),
            PlanAreaError::Crs(c) => ApiError::Internal(Box::new(c)),
            other => ApiError::BadRequest(other.to_string()),
        }
    }
}

/// The file extension GDAL needs to open an uploaded plan area, by its content type.
fn upload_extension(content_type: &str) -> Option<&'static str> {
    match content_type.split(';').next().unwrap_or("").trim() {
        "application/geopackage+sqlite3" | "application/x-sqlite3" => Some("gpkg"),
        // GDAL's Shapefile driver opens a zip of one Shapefile named `*.shp.zip` as it is.
        "application/zip" | "application/x-zip-compressed" => Some("shp.zip"),
        "application/flatgeobuf" => Some("fgb"),
        _ => None,
    }
}

/// The plan area of a request body: GeoJSON text, or a file GDAL opens (checked the same way).
fn plan_area(headers: &HeaderMap, body: &[u8]) -> Result<PlanArea, ApiError> {
    let ct = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let Some(ext) = upload_extension(ct) else {
        let text = std::str::from_utf8(body)
            .map_err(|_| ApiError::BadRequest("the plan area is neither UTF-8 GeoJSON nor a GeoPackage/zipped Shapefile (set Content-Type)".into()))?;
        return Ok(social::plan::from_geojson(text, PlanLimits::default())?);
    };
    let dir = tempfile::tempdir()?;
    let file = dir.path().join(format!("planomrade.{ext}"));
    std::fs::write(&file, body)?;
    Ok(social::plan::from_file(&file, PlanLimits::default())?)
}

/// `POST /api/profile?format=json|html|csv&name=…`.
pub async fn plan_profile(
    State(s): State<AppState>,
    caller: auth::Caller,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let pairs = check_params(q.as_deref(), &["format", "name"])?;
    let param = |k: &str| pairs.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone());
    let format = param("format").unwrap_or_else(|| "json".into());
    if !["json", "html", "csv"].contains(&format.as_str()) {
        return Err(ApiError::BadRequest(format!("format '{format}' is not one of json, html, csv")));
    }
    let role = caller.role;
    let name = param("name");
    // The overlay reads every DeSO and incident: it takes a turn among the analysis workers.
    let permit = s.analysis.limiter.acquire().await?;
    let st = s.clone();
    let p = tokio::task::spawn_blocking(move || -> Result<social::PlanProfile, ApiError> {
        let _permit = permit;
        let plan = plan_area(&headers, &body)?;
        let opts = social::PlanOptions { name, catalogue: st.catalogue.as_ref().clone(), police: st.police.as_ref().clone(), ..Default::default() };
        let mut p = social::build(&st.layers.picture, &plan, &opts)?;
        if let Some(min) = role.min_count(st.config.min_public_count) {
            social::overlay::suppress_small_counts(&mut p, min, &st.catalogue);
        }
        Ok(p)
    })
    .await??;
    let mut resp = match format.as_str() {
        "html" => ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], social::render::to_html(&p)).into_response(),
        "csv" => ([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], social::render::to_csv(&p)).into_response(),
        _ => Json(p).into_response(),
    };
    resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static(crate::privacy::cache_control(role, crate::privacy::Resource::Aggregate)));
    Ok(resp)
}

/// `GET /api/indicators`: every indicator in the store with its catalogue entry and years.
pub async fn indicators(State(s): State<AppState>, RawQuery(q): RawQuery) -> Result<Json<serde_json::Value>, ApiError> {
    check_params(q.as_deref(), &[])?;
    let mut years: std::collections::BTreeMap<&str, std::collections::BTreeSet<i32>> = Default::default();
    for v in &s.layers.picture.indicators {
        years.entry(v.indicator.as_str()).or_default().insert(v.year);
    }
    let list: Vec<serde_json::Value> = years
        .into_iter()
        .map(|(name, ys)| {
            let meta = s.catalogue.get(name);
            let mut v = serde_json::to_value(&meta).unwrap_or_default();
            v["label_with_unit"] = s.catalogue.label_with_unit(name).into();
            v["years"] = ys.into_iter().collect::<Vec<_>>().into();
            v
        })
        .collect();
    Ok(Json(serde_json::json!({ "indicators": list })))
}

/// `GET /api/surveys?area=&question=`: survey shares with 95 % Wilson intervals, women's and
/// men's side by side, a warning on every value from fewer than 30 answers.
pub async fn surveys(State(s): State<AppState>, RawQuery(q): RawQuery) -> Result<Json<serde_json::Value>, ApiError> {
    let pairs = check_params(q.as_deref(), &["area", "question"])?;
    let param = |k: &str| pairs.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str());
    let groups = social::surveys::side_by_side(&s.surveys, param("area"), param("question"));
    Ok(Json(serde_json::json!({
        "surveys": groups,
        "interval": "Wilson, 95 %",
        "small_sample_below": social::surveys::SMALL_SAMPLE,
    })))
}
