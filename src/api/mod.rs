//! The HTTP layer. Modules below `api/` know nothing of HTTP; errors become responses only in
//! [`error::ApiError`].

pub mod error;
mod areas;

use crate::model::{Area, Incident, IndicatorValue};
use crate::store::{Store, StoreError};
use crate::summary;
use axum::routing::get;
use axum::{Json, Router};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// Everything the server answers from, loaded once from the store.
pub struct Snapshot {
    pub areas: Vec<Area>,
    /// Area outlines in WGS84 lon/lat, same order as `areas`.
    pub areas_wgs84: Vec<geojson::Geometry>,
    pub indicators: Vec<IndicatorValue>,
    pub incidents: Vec<Incident>,
    pub population: HashMap<String, f64>,
    pub summary: summary::Summary,
    /// Latest value (and its year) of each indicator per DeSO.
    pub latest_indicators: HashMap<String, BTreeMap<String, (i32, f64)>>,
}

impl Snapshot {
    pub fn load(store: &dyn Store) -> Result<Snapshot, StoreError> {
        let all_areas = store.areas()?;
        let areas: Vec<Area> = summary::select_edition(&all_areas, None).into_iter().cloned().collect();
        let indicators = store.indicators()?;
        let incidents = store.incidents()?;
        let population = summary::population_by_area(&areas, &indicators);
        let refs: Vec<&Area> = areas.iter().collect();
        let summary = summary::summarise(&refs, &incidents, &population);
        let mut latest_indicators: HashMap<String, BTreeMap<String, (i32, f64)>> = HashMap::new();
        for v in &indicators {
            let e = latest_indicators.entry(v.deso.clone()).or_default().entry(v.indicator.clone()).or_insert((v.year, v.value));
            if v.year > e.0 {
                *e = (v.year, v.value);
            }
        }
        let areas_wgs84 = areas::to_wgs84(&areas).map_err(|e| StoreError::Corrupt { path: store.describe(), reason: e })?;
        Ok(Snapshot { areas, areas_wgs84, indicators, incidents, population, summary, latest_indicators })
    }
}

/// Server configuration that is not data.
#[derive(Debug, Clone)]
pub struct ServiceConfig {
    /// Public aggregates below this count are suppressed (privacy).
    pub min_public_count: u64,
}

impl Default for ServiceConfig {
    fn default() -> Self {
        ServiceConfig { min_public_count: 5 }
    }
}

#[derive(Clone)]
pub struct AppState {
    pub snapshot: Arc<Snapshot>,
    pub config: Arc<ServiceConfig>,
}

impl AppState {
    pub fn from_store(store: &dyn Store, config: ServiceConfig) -> Result<AppState, StoreError> {
        Ok(AppState { snapshot: Arc::new(Snapshot::load(store)?), config: Arc::new(config) })
    }
}

/// The whole HTTP service as a plain router: tests call it without binding a port.
pub fn app(state: AppState) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/api/areas", get(areas::areas))
        .fallback(error::not_found)
        .layer(tower_http::compression::CompressionLayer::new())
        .with_state(state)
}

async fn health(axum::extract::State(s): axum::extract::State<AppState>) -> Json<serde_json::Value> {
    Json(serde_json::json!({
        "status": "ok",
        "version": env!("CARGO_PKG_VERSION"),
        "areas": s.snapshot.areas.len(),
        "incidents": s.snapshot.incidents.len(),
        "deso_version": s.snapshot.summary.deso_version,
    }))
}
