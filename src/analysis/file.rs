//! Vector files for the statistics: read any file, build weights, and write the input's
//! features with the result fields added. No HTTP and no store in here.

use crate::io::{self, parse_number, read_source, Column, ColumnKind, IoError, SourceOptions, Table, TableRow, Value};
use crate::stats::{self, Transform, Weights};
use geo::Centroid;
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error(transparent)]
    Io(#[from] IoError),
    #[error("{file}: no field '{field}' (fields: {available})")]
    UnknownField { file: String, field: String, available: String },
    #[error("{file}: field '{field}' has missing or non-numeric values:\n{}", problems.join("\n"))]
    BadValues { file: String, field: String, problems: Vec<String> },
    #[error("{0}")]
    Weights(String),
    #[error("{file}: distance-based weights need a projected CRS in metres, but the file is in geographic EPSG:{epsg}; pass --crs EPSG:3006 to reproject")]
    Geographic { file: String, epsg: u32 },
    #[error(transparent)]
    Stats(#[from] stats::StatsError),
    #[error(transparent)]
    Crs(#[from] crate::crs::CrsError),
    #[error("unknown transform '{0}' (use B or R)")]
    Transform(String),
}

/// `queen`, `rook`, `knn=K` or `band=METRES`.
#[derive(Debug, Clone, PartialEq)]
pub enum WeightsSpec {
    Queen,
    Rook,
    Knn(usize),
    Band(f64),
}

/// The spelling [`WeightsSpec::from_str`] reads, so a parsed spec can be passed on as a parameter.
impl std::fmt::Display for WeightsSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WeightsSpec::Queen => write!(f, "queen"),
            WeightsSpec::Rook => write!(f, "rook"),
            WeightsSpec::Knn(k) => write!(f, "knn={k}"),
            WeightsSpec::Band(d) => write!(f, "band={d}"),
        }
    }
}

impl std::str::FromStr for WeightsSpec {
    type Err = FileError;
    fn from_str(s: &str) -> Result<Self, FileError> {
        let s = s.trim().to_ascii_lowercase();
        match s.as_str() {
            "queen" => Ok(WeightsSpec::Queen),
            "rook" => Ok(WeightsSpec::Rook),
            _ => {
                if let Some(k) = s.strip_prefix("knn=") {
                    k.parse().map(WeightsSpec::Knn).map_err(|_| FileError::Weights(format!("knn=K needs a whole number, got '{k}'")))
                } else if let Some(d) = s.strip_prefix("band=") {
                    d.parse().map(WeightsSpec::Band).map_err(|_| FileError::Weights(format!("band=METRES needs a number, got '{d}'")))
                } else {
                    Err(FileError::Weights(format!("unknown weights '{s}' (use queen, rook, knn=K or band=METRES)")))
                }
            }
        }
    }
}

/// A layer read for analysis: features, their geometry in the working CRS of the run, and Y.
pub struct Layer {
    pub file: String,
    pub columns: Vec<String>,
    pub values: Vec<Vec<String>>,
    pub geometries: Vec<Option<geo::Geometry<f64>>>,
    pub epsg: Option<u32>,
    pub y: Vec<f64>,
}

/// Reads a file and the numeric field `field`; with `to_epsg`, reprojects geometries.
pub fn load(path: &Path, layer: Option<String>, field: &str, to_epsg: Option<u32>) -> Result<Layer, FileError> {
    let data = read_source(path, &SourceOptions { layer, crs_epsg: None })?;
    let col = data.columns.iter().find(|c| c.as_str() == field).or_else(|| data.columns.iter().find(|c| c.eq_ignore_ascii_case(field)));
    let Some(col) = col.cloned() else {
        return Err(FileError::UnknownField { file: data.file_name.clone(), field: field.into(), available: data.columns.join(", ") });
    };
    let mut y = Vec::with_capacity(data.records.len());
    let mut problems = Vec::new();
    for r in &data.records {
        let raw = r.fields.iter().find(|(k, _)| *k == col).map(|(_, v)| v.as_str()).unwrap_or("");
        match parse_number(raw) {
            Some(v) => y.push(v),
            None => {
                problems.push(format!("  {}: {} = '{}'", r.location, col, raw));
                y.push(f64::NAN);
            }
        }
    }
    if !problems.is_empty() {
        return Err(FileError::BadValues { file: data.file_name.clone(), field: col, problems });
    }
    let mut geometries: Vec<Option<geo::Geometry<f64>>> = data.records.iter().map(|r| r.geometry.clone()).collect();
    let mut epsg = data.epsg;
    if let (Some(to), Some(from)) = (to_epsg, data.epsg) {
        if to != from {
            let t = io::transform_between(from, to)?;
            for g in geometries.iter_mut().flatten() {
                *g = crate::crs::reproject(g, &t).map_err(|e| IoError::Format { path: path.into(), reason: e.to_string() })?;
            }
            epsg = Some(to);
        }
    }
    Ok(Layer {
        file: data.file_name,
        columns: data.columns,
        values: data.records.iter().map(|r| r.fields.iter().map(|(_, v)| v.clone()).collect()).collect(),
        geometries,
        epsg,
        y,
    })
}

pub fn build_weights(layer: &Layer, spec: &WeightsSpec, tolerance_m: f64) -> Result<Weights, FileError> {
    let geographic = layer.epsg.and_then(|e| io::srs_from_epsg(e).ok()).is_some_and(|s| s.is_geographic());
    match spec {
        WeightsSpec::Queen | WeightsSpec::Rook => {
            if tolerance_m > 0.0 && geographic {
                return Err(FileError::Geographic { file: layer.file.clone(), epsg: layer.epsg.unwrap_or(4326) });
            }
            let polys: Vec<geo::MultiPolygon<f64>> = layer
                .geometries
                .iter()
                .enumerate()
                .map(|(i, g)| match g {
                    Some(geo::Geometry::Polygon(p)) => Ok(geo::MultiPolygon(vec![p.clone()])),
                    Some(geo::Geometry::MultiPolygon(m)) => Ok(m.clone()),
                    _ => Err(FileError::Weights(format!("{}: feature {} is not a polygon; contiguity needs polygons", layer.file, i + 1))),
                })
                .collect::<Result<_, _>>()?;
            Ok(Weights::contiguity(&polys, *spec == WeightsSpec::Queen, tolerance_m))
        }
        WeightsSpec::Knn(k) => Weights::knn(&centroids(layer)?, *k).map_err(|e| FileError::Weights(e.to_string())),
        WeightsSpec::Band(d) => {
            if geographic {
                return Err(FileError::Geographic { file: layer.file.clone(), epsg: layer.epsg.unwrap_or(4326) });
            }
            Weights::distance_band(&centroids(layer)?, *d).map_err(|e| FileError::Weights(e.to_string()))
        }
    }
    .and_then(|w| {
        if matches!(spec, WeightsSpec::Knn(_)) && geographic {
            return Err(FileError::Geographic { file: layer.file.clone(), epsg: layer.epsg.unwrap_or(4326) });
        }
        Ok(w)
    })
}

fn centroids(layer: &Layer) -> Result<Vec<[f64; 2]>, FileError> {
    layer
        .geometries
        .iter()
        .enumerate()
        .map(|(i, g)| {
            g.as_ref()
                .and_then(|g| g.centroid())
                .map(|p| [p.x(), p.y()])
                .ok_or_else(|| FileError::Weights(format!("{}: feature {} has no geometry", layer.file, i + 1)))
        })
        .collect()
}

/// The input's features and fields plus the given result columns, ready to write.
pub fn with_results(layer: &Layer, name: &str, extra: Vec<(Column, Vec<Value>)>) -> Table {
    let numeric: Vec<bool> = (0..layer.columns.len())
        // Codes such as kommun "0163" look numeric but lose their leading zero as numbers.
        .map(|c| layer.values.iter().all(|row| row[c].is_empty() || (parse_number(&row[c]).is_some() && !has_leading_zero(&row[c]))))
        .collect();
    let mut columns: Vec<Column> =
        layer.columns.iter().zip(&numeric).map(|(c, n)| Column::new(c, if *n { ColumnKind::Real } else { ColumnKind::Text })).collect();
    columns.extend(extra.iter().map(|(c, _)| c.clone()));
    let rows = (0..layer.values.len())
        .map(|i| {
            let mut values: Vec<Value> = layer.values[i]
                .iter()
                .zip(&numeric)
                .map(|(v, n)| {
                    if v.is_empty() {
                        Value::Null
                    } else if *n {
                        parse_number(v).into()
                    } else {
                        Value::Text(v.clone())
                    }
                })
                .collect();
            values.extend(extra.iter().map(|(_, vals)| vals[i].clone()));
            TableRow { values, geometry: layer.geometries[i].clone() }
        })
        .collect();
    let epsg = layer.epsg.or_else(|| layer.geometries.iter().any(|g| g.is_some()).then_some(0));
    Table { name: name.to_string(), epsg, columns, rows }
}

/// Records how a result was made, for the output's metadata and the CLI's stderr.
pub fn describe_islands(w: &Weights, layer: &Layer) -> Option<String> {
    let islands = w.islands();
    (!islands.is_empty()).then(|| {
        format!(
            "{}: {} feature(s) have no neighbours (islands): {}",
            layer.file,
            islands.len(),
            islands.iter().take(20).map(|i| format!("feature {}", i + 1)).collect::<Vec<_>>().join(", ")
        )
    })
}

pub fn parse_transform(s: &str) -> Result<Transform, FileError> {
    Transform::parse(s).ok_or_else(|| FileError::Transform(s.to_string()))
}

fn has_leading_zero(s: &str) -> bool {
    let t = s.trim().trim_start_matches('-');
    t.len() > 1 && t.starts_with('0') && t.as_bytes()[1].is_ascii_digit()
}
