//! lagesbild: spatial analysis for Swedish municipalities.
//!
//! Incidents, housing and socioeconomic indicators joined to SCB's DeSO areas; hotspots and
//! classifications; map layers for a web map and for QGIS. Every distance and area is computed
//! in SWEREF 99 TM (EPSG:3006); GeoJSON leaves the service in WGS84 lon/lat (RFC 7946).

pub mod analysis;
pub mod api;
pub mod catalog;
pub mod classify;
pub mod crs;
pub mod demo;
pub mod export;
pub mod import;
pub mod io;
pub mod model;
pub mod picture;
pub mod plan;
pub mod privacy;
pub mod privacy_report;
pub mod profile;
pub mod report;
pub mod social;
pub mod spatial;
pub mod stats;
pub mod store;
pub mod summary;
pub mod tiles;
pub mod units;
pub mod walks;

pub use api::{app, AppState};
