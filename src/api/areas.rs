//! `GET /api/areas`: DeSO polygons in WGS84 with indicators and incident counts.

use super::error::{check_params, ApiError};
use super::AppState;
use crate::model::Area;
use axum::extract::{RawQuery, State};
use axum::http::header;
use axum::response::IntoResponse;

/// Area outlines in WGS84 lon/lat (RFC 7946).
pub fn to_wgs84(areas: &[Area]) -> Result<Vec<geojson::Geometry>, crate::crs::CrsError> {
    areas.iter().map(|a| Ok(geojson::Geometry::new(geojson::Value::from(&crate::crs::to_wgs84(&a.geometry.clone().into())?)))).collect()
}

pub async fn areas(State(s): State<AppState>, RawQuery(q): RawQuery) -> Result<impl IntoResponse, ApiError> {
    let params = check_params(q.as_deref(), &["kommun"])?;
    let kommun = params.iter().find(|(k, _)| k == "kommun").map(|(_, v)| v.clone());
    if let Some(k) = &kommun {
        if k.len() != 4 || !k.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ApiError::BadRequest(format!("kommun must be a four-digit municipality code, got '{k}'")));
        }
    }
    let snap = &s.snapshot;
    let min = s.config.min_public_count;
    let mut features = Vec::new();
    for (a, g) in snap.areas.iter().zip(&snap.areas_wgs84) {
        if kommun.as_deref().is_some_and(|k| k != a.kommun) {
            continue;
        }
        let mut props = serde_json::Map::new();
        props.insert("deso".into(), a.deso.clone().into());
        props.insert("regso".into(), a.regso.clone().into());
        props.insert("regso_name".into(), a.regso_name.clone().into());
        props.insert("kommun".into(), a.kommun.clone().into());
        props.insert("version".into(), a.version.clone().into());
        let pop = snap.population.get(&a.deso).copied();
        props.insert("population".into(), pop.into());
        let count = snap.summary.area_totals.get(&a.deso).copied().unwrap_or(0);
        // Small counts can identify people; public aggregates hide them (count and rate alike).
        let suppressed = crate::privacy::is_small(count, min);
        props.insert("incident_count".into(), if suppressed { serde_json::Value::Null } else { count.into() });
        props.insert("incident_count_suppressed".into(), suppressed.into());
        let rate = pop.filter(|p| *p > 0.0 && !suppressed).map(|p| 1000.0 * count as f64 / p);
        props.insert("incidents_per_1000".into(), rate.into());
        if let Some(ind) = snap.latest_indicators.get(&a.deso) {
            for (name, (year, value)) in ind {
                props.insert(name.clone(), (*value).into());
                props.insert(format!("{name}_year"), (*year).into());
            }
        }
        features.push(geojson::Feature { geometry: Some(g.clone()), properties: Some(props), ..Default::default() });
    }
    let fc = geojson::FeatureCollection { features, bbox: None, foreign_members: None };
    Ok(([(header::CONTENT_TYPE, "application/geo+json")], fc.to_string()))
}
