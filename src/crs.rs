//! The only place where coordinates change reference system. Everything is computed in SWEREF 99
//! TM (EPSG:3006); GeoJSON leaves the service in WGS84 lon/lat (RFC 7946), rounded to 7 decimals
//! (about 1 cm), whichever route it leaves by.

use gdal::spatial_ref::{AxisMappingStrategy, CoordTransform, SpatialRef};
use geo::{CoordsIter, MapCoords};

pub use crate::model::WORKING_EPSG;

/// Rough extent of Sweden in SWEREF 99 TM with a margin of a few kilometres (EPSG:3006's area
/// of use is E 181 896–1 086 312, N 6 090 353–7 689 478; the territory lies within
/// E 260 000–930 000, N 6 120 000–7 680 000).
pub const SWEDEN_EXTENT_3006: [f64; 4] = [200_000.0, 6_080_000.0, 1_000_000.0, 7_700_000.0];

#[derive(Debug, thiserror::Error)]
pub enum CrsError {
    #[error("unknown CRS '{0}' (use the form EPSG:3006)")]
    Unknown(String),
    #[error("cannot reproject: {0}")]
    Transform(String),
    #[error("{0}: not a polygon")]
    NotPolygon(String),
}

/// A spatial reference with the traditional GIS axis order (x = easting/longitude), which is
/// what every file and every formula in lagesbild assumes.
pub fn srs_from_epsg(epsg: u32) -> Result<SpatialRef, CrsError> {
    let mut srs = SpatialRef::from_epsg(epsg).map_err(|_| CrsError::Unknown(format!("EPSG:{epsg}")))?;
    srs.set_axis_mapping_strategy(AxisMappingStrategy::TraditionalGisOrder);
    Ok(srs)
}

/// Parses `EPSG:3006`, `epsg:4326`, `3006` or `CRS84`.
pub fn parse_epsg(s: &str) -> Result<u32, CrsError> {
    let t = s.trim();
    let up = t.to_ascii_uppercase();
    if up == "CRS84" || up.ends_with("OGC/1.3/CRS84") || up == "WGS84" {
        return Ok(4326);
    }
    let code = up.strip_prefix("EPSG:").or_else(|| up.rsplit_once("/EPSG/0/").map(|(_, c)| c)).unwrap_or(&up);
    let n: u32 = code.parse().map_err(|_| CrsError::Unknown(t.to_string()))?;
    srs_from_epsg(n)?;
    Ok(n)
}

/// Coordinate transform between two EPSG codes, both in traditional GIS axis order.
pub fn transform_between(from: u32, to: u32) -> Result<CoordTransform, CrsError> {
    let a = srs_from_epsg(from)?;
    let b = srs_from_epsg(to)?;
    CoordTransform::new(&a, &b).map_err(|e| CrsError::Unknown(format!("EPSG:{from} -> EPSG:{to}: {e}")))
}

/// Transforms a batch of coordinates in place (x and y slices of equal length).
pub fn transform_coords(t: &CoordTransform, xs: &mut [f64], ys: &mut [f64]) -> Result<(), CrsError> {
    let mut zs = vec![0.0; xs.len()];
    t.transform_coords(xs, ys, &mut zs).map_err(|e| CrsError::Transform(e.to_string()))
}

/// Reprojects any geometry type with one batched GDAL transform.
pub fn reproject<G>(g: &G, t: &CoordTransform) -> Result<G::Output, CrsError>
where
    G: MapCoords<f64, f64> + for<'a> CoordsIter<Scalar = f64>,
{
    let mut xs: Vec<f64> = g.coords_iter().map(|c| c.x).collect();
    let mut ys: Vec<f64> = g.coords_iter().map(|c| c.y).collect();
    transform_coords(t, &mut xs, &mut ys)?;
    let i = std::cell::Cell::new(0usize);
    let (xs, ys, i) = (&xs, &ys, &i);
    Ok(g.map_coords(move |_| {
        let k = i.get();
        i.set(k + 1);
        geo::coord! { x: xs[k], y: ys[k] }
    }))
}

/// Reprojects EPSG:3006 → WGS84 lon/lat, rounded to 7 decimals (~1 cm).
pub fn to_wgs84(g: &geo::Geometry<f64>) -> Result<geo::Geometry<f64>, CrsError> {
    thread_local! {
        static T: Option<CoordTransform> = transform_between(WORKING_EPSG, 4326).ok();
    }
    let g = T.with(|t| match t {
        Some(t) => reproject(g, t),
        None => Err(CrsError::Unknown(format!("EPSG:{WORKING_EPSG} -> EPSG:4326"))),
    })?;
    Ok(g.map_coords(|c| geo::coord! { x: (c.x * 1e7).round() / 1e7, y: (c.y * 1e7).round() / 1e7 }))
}

/// WGS84 lon/lat pairs to SWEREF 99 TM.
pub fn from_wgs84(lonlat: &[[f64; 2]]) -> Result<Vec<[f64; 2]>, CrsError> {
    let t = transform_between(4326, WORKING_EPSG)?;
    let mut xs: Vec<f64> = lonlat.iter().map(|p| p[0]).collect();
    let mut ys: Vec<f64> = lonlat.iter().map(|p| p[1]).collect();
    transform_coords(&t, &mut xs, &mut ys)?;
    Ok(xs.into_iter().zip(ys).map(|(x, y)| [x, y]).collect())
}

/// A polygon or multipolygon as a multipolygon; `what` names the feature in the error.
pub fn as_multipolygon(g: geo::Geometry<f64>, what: &str) -> Result<geo::MultiPolygon<f64>, CrsError> {
    match g {
        geo::Geometry::Polygon(p) => Ok(geo::MultiPolygon(vec![p])),
        geo::Geometry::MultiPolygon(m) => Ok(m),
        _ => Err(CrsError::NotPolygon(what.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sweref_point_leaves_as_lon_lat_rounded_to_seven_decimals() {
        // Reference: `gdaltransform -s_srs EPSG:3006 -t_srs EPSG:4326` on "667000 6592000"
        // prints 17.9444561297016 59.4333190477707 (lon, lat).
        let g = to_wgs84(&geo::Point::new(667_000.0, 6_592_000.0).into()).unwrap();
        let geo::Geometry::Point(p) = g else { panic!("a point") };
        assert_eq!((p.x(), p.y()), (17.9444561, 59.433319));
    }

    #[test]
    fn a_line_is_not_a_polygon() {
        let line: geo::Geometry<f64> = geo::LineString::from(vec![(0.0, 0.0), (1.0, 1.0)]).into();
        assert!(matches!(as_multipolygon(line, "feature 3"), Err(CrsError::NotPolygon(w)) if w == "feature 3"));
    }
}
