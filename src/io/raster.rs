//! Rasters to files: GeoTIFF in EPSG:3006, which QGIS opens as it is.

use super::IoError;
use crate::stats::kde::Raster;
use std::path::Path;

/// Writes a raster as a GeoTIFF in EPSG:3006 (Float64, NoData = NaN).
pub fn write_geotiff(path: &Path, r: &Raster) -> Result<(), IoError> {
    use gdal::raster::Buffer;
    let err = |e: gdal::errors::GdalError| IoError::Write { path: path.into(), reason: e.to_string() };
    let drv = gdal::DriverManager::get_driver_by_name("GTiff").map_err(err)?;
    let mut ds = drv.create_with_band_type::<f64, _>(path, r.ncols, r.nrows, 1).map_err(err)?;
    ds.set_geo_transform(&[r.xmin, r.cell_size_m, 0.0, r.ymax, 0.0, -r.cell_size_m]).map_err(err)?;
    let srs = crate::crs::srs_from_epsg(crate::crs::WORKING_EPSG)?;
    ds.set_spatial_ref(&srs).map_err(err)?;
    let mut band = ds.rasterband(1).map_err(err)?;
    band.set_no_data_value(Some(f64::NAN)).map_err(err)?;
    let mut buf = Buffer::new((r.ncols, r.nrows), r.values.clone());
    band.write((0, 0), (r.ncols, r.nrows), &mut buf).map_err(err)?;
    Ok(())
}
