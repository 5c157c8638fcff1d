//! Reading any vector source into records with string fields and an optional geometry.

use super::csvread::{file_name, read_csv};
use super::{srs_from_epsg, IoError};
use gdal::vector::{FieldValue, LayerAccess};
use gdal::{Dataset, DatasetOptions, GdalOpenFlags};
use std::path::{Path, PathBuf};

/// One row or feature of a source, with the place it came from for error messages.
#[derive(Debug, Clone)]
pub struct Record {
    /// `file.csv:12` (physical line) or `file.gpkg:feature 3` (1-based feature index).
    pub location: String,
    /// Field name as written in the source, value as text (empty for null).
    pub fields: Vec<(String, String)>,
    /// Geometry in the source's CRS (see [`SourceData::epsg`]); `None` for CSV and missing geometry.
    pub geometry: Option<geo::Geometry<f64>>,
    /// A problem already found while reading (e.g. wrong column count).
    pub problem: Option<String>,
}

impl Record {
    /// Field value by name, compared case-insensitively with Swedish letters folded.
    pub fn get(&self, name: &str) -> Option<&str> {
        let want = crate::model::fold(name);
        self.fields.iter().find(|(k, _)| crate::model::fold(k) == want).map(|(_, v)| v.as_str())
    }
}

#[derive(Debug, Clone)]
pub struct SourceData {
    pub path: PathBuf,
    pub file_name: String,
    pub columns: Vec<String>,
    pub records: Vec<Record>,
    /// EPSG code of the geometries, when the source declares one (or `--crs` set it).
    pub epsg: Option<u32>,
    /// True for delimited text read by our own CSV reader (coordinates are in columns).
    pub is_text: bool,
}

#[derive(Debug, Clone, Default)]
pub struct SourceOptions {
    /// Layer name for multi-layer sources (GeoPackage); the first layer when `None`.
    pub layer: Option<String>,
    /// CRS for sources that declare none (`--crs`).
    pub crs_epsg: Option<u32>,
}

/// CSV, TSV or TXT: read by our own reader rather than OGR.
pub fn is_text_file(path: &Path) -> bool {
    matches!(path.extension().and_then(|e| e.to_str()).map(|e| e.to_ascii_lowercase()).as_deref(), Some("csv" | "tsv" | "txt"))
}

/// Reads a file. CSV/TSV/TXT go through our reader; everything else through OGR.
pub fn read_source(path: &Path, opts: &SourceOptions) -> Result<SourceData, IoError> {
    if !path.exists() {
        return Err(IoError::Unreadable { path: path.into(), reason: "no such file".into() });
    }
    if is_text_file(path) {
        let (columns, records) = read_csv(path)?;
        return Ok(SourceData { path: path.into(), file_name: file_name(path), columns, records, epsg: opts.crs_epsg, is_text: true });
    }
    let meta = std::fs::metadata(path).map_err(|e| IoError::Unreadable { path: path.into(), reason: e.to_string() })?;
    if meta.len() == 0 {
        return Err(IoError::Empty { path: path.into() });
    }
    let ds =
        Dataset::open_ex(path, DatasetOptions { open_flags: GdalOpenFlags::GDAL_OF_VECTOR | GdalOpenFlags::GDAL_OF_READONLY, ..Default::default() }).map_err(
            |e| IoError::Unreadable { path: path.into(), reason: format!("GDAL cannot open it as a vector source (truncated or not a GIS file?): {e}") },
        )?;
    if ds.layer_count() == 0 {
        return Err(IoError::Empty { path: path.into() });
    }
    let mut layer = match &opts.layer {
        Some(name) => ds.layer_by_name(name).map_err(|_| IoError::NoSuchLayer {
            path: path.into(),
            layer: name.clone(),
            available: ds.layers().map(|l| l.name()).collect::<Vec<_>>().join(", "),
        })?,
        None => ds.layer(0).map_err(|e| IoError::Format { path: path.into(), reason: e.to_string() })?,
    };
    let declared = layer.spatial_ref().and_then(|s| epsg_of(&s));
    let epsg = opts.crs_epsg.or(declared);
    // A source that declares a CRS we cannot name as EPSG is still usable: convert through WKT.
    let transform_from_wkt = if epsg.is_none() {
        layer.spatial_ref().and_then(|mut s| {
            s.set_axis_mapping_strategy(gdal::spatial_ref::AxisMappingStrategy::TraditionalGisOrder);
            let to = srs_from_epsg(crate::model::WORKING_EPSG).ok()?;
            gdal::spatial_ref::CoordTransform::new(&s, &to).ok()
        })
    } else {
        None
    };
    let columns: Vec<String> = layer.defn().fields().map(|f| f.name()).collect();
    let name = file_name(path);
    let mut records = Vec::new();
    for (i, feature) in layer.features().enumerate() {
        let mut fields = Vec::with_capacity(columns.len());
        for (j, col) in columns.iter().enumerate() {
            let v = feature.field(j).ok().flatten().map(field_to_string).unwrap_or_default();
            fields.push((col.clone(), v));
        }
        let mut problem = None;
        let geometry = match feature.geometry() {
            None => None,
            Some(g) if g.is_empty() => None,
            Some(g) => {
                let g = match &transform_from_wkt {
                    Some(t) => g.transform(t).ok(),
                    None => Some(g.clone()),
                };
                match g.map(|g| g.to_geo()) {
                    Some(Ok(geo)) => Some(geo),
                    Some(Err(e)) => {
                        problem = Some(format!("unreadable geometry: {e}"));
                        None
                    }
                    None => {
                        problem = Some("geometry cannot be reprojected".into());
                        None
                    }
                }
            }
        };
        records.push(Record { location: format!("{name}:feature {}", i + 1), fields, geometry, problem });
    }
    Ok(SourceData {
        path: path.into(),
        file_name: name,
        columns,
        records,
        epsg: if transform_from_wkt.is_some() { Some(crate::model::WORKING_EPSG) } else { epsg },
        is_text: false,
    })
}

/// EPSG code of a spatial reference, identifying it when the file lacks the authority node.
pub fn epsg_of(srs: &gdal::spatial_ref::SpatialRef) -> Option<u32> {
    if let Ok(code) = srs.auth_code() {
        return u32::try_from(code).ok();
    }
    let mut s = srs.clone();
    s.auto_identify_epsg().ok()?;
    s.auth_code().ok().and_then(|c| u32::try_from(c).ok())
}

fn field_to_string(v: FieldValue) -> String {
    match v {
        FieldValue::IntegerValue(i) => i.to_string(),
        FieldValue::Integer64Value(i) => i.to_string(),
        FieldValue::RealValue(f) => f.to_string(),
        FieldValue::StringValue(s) => s,
        FieldValue::DateValue(d) => d.format("%Y-%m-%d").to_string(),
        FieldValue::DateTimeValue(d) => d.naive_local().format("%Y-%m-%dT%H:%M:%S").to_string(),
        FieldValue::IntegerListValue(l) => l.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(","),
        FieldValue::Integer64ListValue(l) => l.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(","),
        FieldValue::RealListValue(l) => l.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(","),
        FieldValue::StringListValue(l) => l.join(","),
    }
}
