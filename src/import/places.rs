//! `lagesbild import places FILE --kind kommundel|plats|insatsområde`: named polygons (any OGR
//! source with a `name` column) that every area-level feature treats like DeSO and RegSO. All or
//! nothing, like every import; the import record bumps the data generation, so a running service
//! shows the new places without a restart.

use crate::model::{fold, ImportRecord, Place};
use crate::store::{ImportBatch, Store, StoreError};
use geo::Validation;
use std::path::Path;

pub const KINDS: [&str; 3] = ["kommundel", "plats", "insatsområde"];

#[derive(Debug, thiserror::Error)]
pub enum PlacesError {
    #[error("--kind '{0}' is not one of kommundel, plats, insatsområde")]
    Kind(String),
    #[error(transparent)]
    Source(#[from] crate::io::IoError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{file}: this exact file (sha256 {sha}) was already imported")]
    Duplicate { file: String, sha: String },
    #[error("{file}: {} problem(s); nothing was imported:\n{}", .problems.len(), .problems.join("\n"))]
    Invalid { file: String, problems: Vec<String> },
}

/// Reads, checks and stores the places of a file; returns the import record.
pub fn import_places(store: &dyn Store, path: &Path, kind: &str, by: &str) -> Result<ImportRecord, PlacesError> {
    let kind = KINDS.iter().find(|k| fold(k) == fold(kind)).ok_or_else(|| PlacesError::Kind(kind.to_string()))?;
    let (data, polys) = crate::io::read_polygons(path)?;
    let file = data.file_name.clone();
    let sha = crate::io::sha256_file(path)?;
    if store.imports()?.iter().any(|r| r.sha256 == sha && r.kind == "places") {
        return Err(PlacesError::Duplicate { file, sha: sha[..12].to_string() });
    }
    let mut known: Vec<String> = store.places()?.iter().map(|p| fold(&p.name)).collect();
    let mut problems = Vec::new();
    let mut places = Vec::new();
    for (r, g) in data.records.iter().zip(polys) {
        let name = r.get("name").or_else(|| r.get("namn")).unwrap_or("").trim().to_string();
        if name.is_empty() {
            problems.push(format!("{}: no name (a `name` column is needed)", r.location));
        } else if known.contains(&fold(&name)) {
            problems.push(format!("{}: a place named '{name}' exists already", r.location));
        } else if !g.is_valid() {
            problems.push(format!("{}: '{name}' is not a valid polygon", r.location));
        } else {
            known.push(fold(&name));
            places.push(Place { name, kind: kind.to_string(), geometry: g });
        }
    }
    if places.is_empty() && problems.is_empty() {
        problems.push(format!("{file}: no features"));
    }
    if !problems.is_empty() {
        return Err(PlacesError::Invalid { file, problems });
    }
    let record = ImportRecord {
        import_id: format!("places-{}", &sha[..12]),
        kind: "places".into(),
        file_name: file,
        sha256: sha,
        imported_at: crate::model::time::now_utc_text(),
        accepted: places.len() as u64,
        rejected: 0,
        imported_by: by.to_string(),
    };
    store.write_import(&ImportBatch::Places(places), &record)?;
    Ok(record)
}
