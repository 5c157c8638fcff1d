//! SCB's key files, read with lagesbild's own CSV reader so each problem names its line.

use crate::classify::omradestyp::{KeyRow, OmradestypError};
use std::path::Path;

/// Reads SCB's key `Kommun,Kommunnamn,DeSO_2018,RegSO_2020,RegSOkod_2020`.
pub fn read_key(path: &Path) -> Result<Vec<KeyRow>, OmradestypError> {
    let file = super::csvread::file_name(path);
    let data = super::read_csv(path).map_err(|e| OmradestypError::File { file: file.clone(), reason: e.to_string() })?;
    let mut out = Vec::new();
    for r in data.1 {
        let g = |k: &str| r.get(k).unwrap_or("").trim().to_string();
        let row = KeyRow { kommun: g("Kommun"), kommun_name: g("Kommunnamn"), deso: g("DeSO_2018"), regso_name: g("RegSO_2020"), regso: g("RegSOkod_2020") };
        if row.deso.is_empty() || row.regso_name.is_empty() {
            return Err(OmradestypError::Row {
                file,
                line: r.location.rsplit(':').next().and_then(|l| l.parse().ok()).unwrap_or(0),
                reason: "missing DeSO_2018 or RegSO_2020".into(),
            });
        }
        out.push(row);
    }
    Ok(out)
}
