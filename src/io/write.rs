//! Writing a table of features to GeoPackage, GeoJSON (RFC 7946, WGS84) or Swedish-Excel CSV,
//! chosen by the output file's extension.

use super::{srs_from_epsg, IoError};
use gdal::vector::{FieldDefn, LayerAccess, LayerOptions, OGRFieldType, OGRwkbGeometryType, ToGdal};
use gdal::DriverManager;
use std::io::Write;
use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnKind {
    Integer,
    Real,
    Text,
}

#[derive(Debug, Clone)]
pub struct Column {
    pub name: String,
    pub kind: ColumnKind,
}

impl Column {
    pub fn new(name: &str, kind: ColumnKind) -> Column {
        Column { name: name.to_string(), kind }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
}

impl From<f64> for Value {
    fn from(v: f64) -> Value {
        if v.is_finite() {
            Value::Real(v)
        } else {
            Value::Null
        }
    }
}
impl From<Option<f64>> for Value {
    fn from(v: Option<f64>) -> Value {
        v.map(Value::from).unwrap_or(Value::Null)
    }
}
impl From<i64> for Value {
    fn from(v: i64) -> Value {
        Value::Int(v)
    }
}
impl From<&str> for Value {
    fn from(v: &str) -> Value {
        Value::Text(v.to_string())
    }
}
impl From<String> for Value {
    fn from(v: String) -> Value {
        Value::Text(v)
    }
}

#[derive(Debug, Clone)]
pub struct TableRow {
    pub values: Vec<Value>,
    pub geometry: Option<geo::Geometry<f64>>,
}

/// A layer to write. Geometries are in `epsg` (None: no geometry column; `Some(0)`: geometry
/// in a CRS the source did not declare).
#[derive(Debug, Clone)]
pub struct Table {
    pub name: String,
    pub epsg: Option<u32>,
    pub columns: Vec<Column>,
    pub rows: Vec<TableRow>,
}

/// Writes by extension: `.gpkg` (layer named after the table, CRS kept), `.geojson`/`.json`
/// (RFC 7946: reprojected to WGS84 lon/lat by GDAL), `.csv` (semicolon, decimal comma, UTF-8 BOM,
/// geometry as WKT in the table's CRS, so it opens right in Swedish Excel).
/// The file is written next to the target and renamed into place, so a failed write leaves
/// any existing file untouched.
pub fn write_table(path: &Path, table: &Table) -> Result<(), IoError> {
    let ext = path.extension().and_then(|e| e.to_str()).map(|e| e.to_ascii_lowercase()).unwrap_or_default();
    write_table_as(path, table, &ext)
}

/// Writes in a named format (`gpkg`, `geojson`, `csv`) whatever the file is called.
pub fn write_table_as(path: &Path, table: &Table, format: &str) -> Result<(), IoError> {
    let ext = format.to_ascii_lowercase();
    // The temporary name keeps the extension: GDAL's GPKG driver warns about any other.
    let stem = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = path.with_file_name(format!(".{stem}.partial.{ext}"));
    let _ = std::fs::remove_file(&tmp);
    let result = match ext.as_str() {
        "gpkg" => write_ogr(&tmp, table, "GPKG", &[]),
        "geojson" | "json" => write_ogr(&tmp, table, "GeoJSON", &["RFC7946=YES", "WRITE_NAME=NO"]),
        "csv" => write_csv(&tmp, table),
        other => Err(IoError::Write { path: path.into(), reason: format!("unsupported output format '{other}' (use gpkg, geojson or csv)") }),
    };
    match result {
        Ok(()) => std::fs::rename(&tmp, path).map_err(|e| IoError::Write { path: path.into(), reason: e.to_string() }),
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(e)
        }
    }
}

fn geometry_type(table: &Table) -> OGRwkbGeometryType::Type {
    if table.epsg.is_none() {
        return OGRwkbGeometryType::wkbNone;
    }
    let mut ty = None;
    for r in &table.rows {
        let t = match &r.geometry {
            Some(geo::Geometry::Point(_)) => OGRwkbGeometryType::wkbPoint,
            Some(geo::Geometry::LineString(_)) => OGRwkbGeometryType::wkbLineString,
            Some(geo::Geometry::Polygon(_) | geo::Geometry::MultiPolygon(_)) => OGRwkbGeometryType::wkbMultiPolygon,
            Some(_) => return OGRwkbGeometryType::wkbUnknown,
            None => continue,
        };
        match ty {
            None => ty = Some(t),
            Some(prev) if prev != t => return OGRwkbGeometryType::wkbUnknown,
            _ => {}
        }
    }
    ty.unwrap_or(OGRwkbGeometryType::wkbUnknown)
}

fn write_ogr(path: &Path, table: &Table, driver: &str, layer_opts: &[&str]) -> Result<(), IoError> {
    let werr = |e: gdal::errors::GdalError| IoError::Write { path: path.into(), reason: e.to_string() };
    let drv = DriverManager::get_driver_by_name(driver).map_err(werr)?;
    let mut ds = drv.create_vector_only(path).map_err(werr)?;
    if driver == "GPKG" {
        // Thousands of inserts in one SQLite transaction instead of one each.
        let mut txn = ds.start_transaction().map_err(werr)?;
        fill_layer(&mut txn, path, table, layer_opts)?;
        txn.commit().map_err(werr)?;
    } else {
        fill_layer(&mut ds, path, table, layer_opts)?;
    }
    Ok(())
}

fn fill_layer(ds: &mut gdal::Dataset, path: &Path, table: &Table, layer_opts: &[&str]) -> Result<(), IoError> {
    let werr = |e: gdal::errors::GdalError| IoError::Write { path: path.into(), reason: e.to_string() };
    let srs = table.epsg.filter(|e| *e != 0).map(srs_from_epsg).transpose()?;
    let gtype = geometry_type(table);
    let multipolygon = gtype == OGRwkbGeometryType::wkbMultiPolygon;
    {
        let layer = ds
            .create_layer(LayerOptions {
                name: &table.name,
                srs: srs.as_ref(),
                ty: gtype,
                options: if layer_opts.is_empty() { None } else { Some(layer_opts) },
            })
            .map_err(werr)?;
        for c in &table.columns {
            let t = match c.kind {
                ColumnKind::Integer => OGRFieldType::OFTInteger64,
                ColumnKind::Real => OGRFieldType::OFTReal,
                ColumnKind::Text => OGRFieldType::OFTString,
            };
            FieldDefn::new(&c.name, t).and_then(|f| f.add_to_layer(&layer)).map_err(werr)?;
        }
        let defn = layer.defn();
        for row in &table.rows {
            let mut f = gdal::vector::Feature::new(defn).map_err(werr)?;
            for (i, v) in row.values.iter().enumerate() {
                match v {
                    Value::Null => f.set_field_null(i).map_err(werr)?,
                    Value::Int(x) => f.set_field_integer64(i, *x).map_err(werr)?,
                    Value::Real(x) => f.set_field_double(i, *x).map_err(werr)?,
                    Value::Text(s) => f.set_field_string(i, s).map_err(werr)?,
                }
            }
            if let Some(g) = &row.geometry {
                let g = match (multipolygon, g) {
                    (true, geo::Geometry::Polygon(p)) => geo::Geometry::MultiPolygon(geo::MultiPolygon(vec![p.clone()])),
                    _ => g.clone(),
                };
                f.set_geometry(g.to_gdal().map_err(werr)?).map_err(werr)?;
            }
            f.create(&layer).map_err(werr)?;
        }
    }
    Ok(())
}

fn write_csv(path: &Path, table: &Table) -> Result<(), IoError> {
    let werr = |e: std::io::Error| IoError::Write { path: path.into(), reason: e.to_string() };
    let file = std::fs::File::create(path).map_err(werr)?;
    let mut out = std::io::BufWriter::new(file);
    out.write_all("\u{feff}".as_bytes()).map_err(werr)?;
    let mut w = csv::WriterBuilder::new().delimiter(b';').from_writer(out);
    let mut header: Vec<String> = table.columns.iter().map(|c| c.name.clone()).collect();
    if let Some(epsg) = table.epsg {
        header.push(if epsg == 0 { "wkt".to_string() } else { format!("wkt_epsg{epsg}") });
    }
    w.write_record(&header).map_err(|e| IoError::Write { path: path.into(), reason: e.to_string() })?;
    for row in &table.rows {
        let mut rec: Vec<String> = row.values.iter().map(format_value_sv).collect();
        if table.epsg.is_some() {
            rec.push(row.geometry.as_ref().map(wkt).unwrap_or_default());
        }
        w.write_record(&rec).map_err(|e| IoError::Write { path: path.into(), reason: e.to_string() })?;
    }
    w.flush().map_err(werr)?;
    Ok(())
}

/// Formats a value for Swedish Excel: decimal comma, no thousands separator.
pub fn format_value_sv(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::Int(i) => i.to_string(),
        Value::Real(x) => crate::model::format_number_sv(*x),
        Value::Text(s) => s.clone(),
    }
}

fn wkt(g: &geo::Geometry<f64>) -> String {
    g.to_gdal().and_then(|g| g.wkt()).unwrap_or_default()
}
