//! `GET /api/areas`: DeSO polygons in WGS84 with indicators and incident counts.

use super::error::{check_params, ApiError};
use super::AppState;
use axum::extract::{RawQuery, State};
use axum::http::header;
use axum::response::IntoResponse;

pub async fn areas(State(s): State<AppState>, RawQuery(q): RawQuery) -> Result<impl IntoResponse, ApiError> {
    let params = check_params(q.as_deref(), &["kommun"])?;
    let kommun = params.iter().find(|(k, _)| k == "kommun").map(|(_, v)| v.clone());
    if let Some(k) = &kommun {
        if k.len() != 4 || !k.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ApiError::BadRequest(format!("kommun must be a four-digit municipality code, got '{k}'")));
        }
    }
    let picture = &s.layers.picture;
    let deso = s.layers.get("deso").ok_or_else(|| ApiError::internal("no deso layer"))?;
    let min = s.config.min_public_count;
    let mut features = Vec::new();
    // The deso layer holds the same areas in the same order, already in WGS84.
    for (f, shape) in picture.areas.iter().zip(&deso.features) {
        let a = &f.area;
        if kommun.as_deref().is_some_and(|k| k != a.kommun) {
            continue;
        }
        let mut props = serde_json::Map::new();
        props.insert("deso".into(), a.deso.clone().into());
        props.insert("regso".into(), a.regso.clone().into());
        props.insert("regso_name".into(), a.regso_name.clone().into());
        props.insert("kommun".into(), a.kommun.clone().into());
        props.insert("version".into(), a.version.clone().into());
        props.insert("population".into(), f.population.into());
        // Small counts can identify people; public aggregates hide them (count and rate alike).
        let suppressed = crate::privacy::is_small(f.incidents, min);
        props.insert("incident_count".into(), if suppressed { serde_json::Value::Null } else { f.incidents.into() });
        props.insert("incident_count_suppressed".into(), suppressed.into());
        props.insert("incidents_per_1000".into(), f.per_1000().filter(|_| !suppressed).into());
        for (name, (year, value)) in &f.indicators {
            // Social-services counts are hidden below the threshold like incident counts.
            if s.catalogue.is_social_services(name) && crate::privacy::is_small_value(*value, min) {
                props.insert(name.clone(), serde_json::Value::Null);
                props.insert(format!("{name}_suppressed"), true.into());
                continue;
            }
            props.insert(name.clone(), (*value).into());
            props.insert(format!("{name}_year"), (*year).into());
        }
        let geometry = geojson::Geometry::new(geojson::Value::from(&shape.gwgs));
        features.push(geojson::Feature { geometry: Some(geometry), properties: Some(props), ..Default::default() });
    }
    let fc = geojson::FeatureCollection { features, bbox: None, foreign_members: None };
    Ok(([(header::CONTENT_TYPE, "application/geo+json")], fc.to_string()))
}
