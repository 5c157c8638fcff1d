//! A plan area as the user gives it (GeoJSON in WGS84, or any file GDAL reads), checked and
//! bounded before any work: at most [`PlanLimits::max_vertices`] vertices and a bounding box
//! no wider or taller than [`PlanLimits::max_extent_m`].

use geo::{BooleanOps, BoundingRect, CoordsIter, MultiPolygon, Validation};

#[derive(Debug, thiserror::Error)]
pub enum PlanAreaError {
    #[error("the plan area is not GeoJSON: {0}")]
    NotGeoJson(String),
    #[error("the plan area must be a Polygon or MultiPolygon (a geometry, a Feature or a FeatureCollection of them); got {0}")]
    NotPolygon(String),
    #[error("the plan area has {0} vertices; at most {1} are accepted (simplify it first)")]
    TooManyVertices(usize, usize),
    #[error("the plan area spans {0:.0} m; at most {1:.0} m east–west and north–south are accepted")]
    TooLarge(f64, f64),
    #[error("coordinates must be WGS84 longitude/latitude in Sweden (RFC 7946); got {0}")]
    NotWgs84(String),
    #[error("the plan area has no area")]
    Empty,
    #[error("the plan area touches none of the DeSO areas in the store")]
    Outside,
    #[error("the plan area file cannot be read: {0}")]
    File(#[from] crate::io::IoError),
    #[error(transparent)]
    Crs(#[from] crate::crs::CrsError),
}

/// Bounds on the work one plan area may ask for.
#[derive(Debug, Clone, Copy)]
pub struct PlanLimits {
    pub max_vertices: usize,
    pub max_extent_m: f64,
}

impl Default for PlanLimits {
    /// A detaljplan is a block or a district; 20 km covers any municipality's planning area
    /// while keeping the overlay with every DeSO and the incident scan small.
    fn default() -> Self {
        PlanLimits { max_vertices: 10_000, max_extent_m: 20_000.0 }
    }
}

/// A checked plan area in SWEREF 99 TM.
#[derive(Debug, Clone)]
pub struct PlanArea {
    pub geometry: MultiPolygon<f64>,
    pub vertices: usize,
    /// Repairs made to the input (a self-intersecting ring), in Swedish.
    pub warnings: Vec<String>,
}

fn polygons_of(g: geo::Geometry<f64>) -> Result<Vec<geo::Polygon<f64>>, PlanAreaError> {
    match g {
        geo::Geometry::Polygon(p) => Ok(vec![p]),
        geo::Geometry::MultiPolygon(m) => Ok(m.0),
        geo::Geometry::Point(_) | geo::Geometry::MultiPoint(_) => Err(PlanAreaError::NotPolygon("a point".into())),
        geo::Geometry::Line(_) | geo::Geometry::LineString(_) | geo::Geometry::MultiLineString(_) => Err(PlanAreaError::NotPolygon("a line".into())),
        _ => Err(PlanAreaError::NotPolygon("a geometry collection".into())),
    }
}

fn geometry_of(g: geojson::Geometry) -> Result<Vec<geo::Polygon<f64>>, PlanAreaError> {
    let g: geo::Geometry<f64> = g.value.try_into().map_err(|e: geojson::Error| PlanAreaError::NotPolygon(e.to_string()))?;
    polygons_of(g)
}

/// Parses a GeoJSON Polygon or MultiPolygon (bare, as a Feature, or a FeatureCollection of
/// them) in WGS84 and checks it.
pub fn from_geojson(text: &str, limits: PlanLimits) -> Result<PlanArea, PlanAreaError> {
    let gj: geojson::GeoJson = text.parse().map_err(|e: geojson::Error| PlanAreaError::NotGeoJson(e.to_string()))?;
    let polys = match gj {
        geojson::GeoJson::Geometry(g) => geometry_of(g)?,
        geojson::GeoJson::Feature(f) => geometry_of(f.geometry.ok_or_else(|| PlanAreaError::NotPolygon("a Feature without geometry".into()))?)?,
        geojson::GeoJson::FeatureCollection(fc) => {
            let mut all = Vec::new();
            for f in fc.features {
                all.extend(geometry_of(f.geometry.ok_or_else(|| PlanAreaError::NotPolygon("a Feature without geometry".into()))?)?);
            }
            all
        }
    };
    let wgs = MultiPolygon(polys);
    let vertices = wgs.coords_count();
    if vertices > limits.max_vertices {
        return Err(PlanAreaError::TooManyVertices(vertices, limits.max_vertices));
    }
    if let Some(c) = wgs.coords_iter().find(|c| !(10.0..=25.0).contains(&c.x) || !(55.0..=70.0).contains(&c.y)) {
        return Err(PlanAreaError::NotWgs84(format!("[{}, {}]", c.x, c.y)));
    }
    let t = crate::crs::transform_between(4326, crate::crs::WORKING_EPSG)?;
    check(crate::crs::reproject(&wgs, &t)?, limits)
}

/// Reads a plan area from any polygon source GDAL opens (GeoPackage, Shapefile, GeoJSON, …),
/// reprojected from the file's CRS; several features make one area.
pub fn from_file(path: &std::path::Path, limits: PlanLimits) -> Result<PlanArea, PlanAreaError> {
    let (_, polys) = crate::io::read_polygons(path)?;
    check(MultiPolygon(polys.into_iter().flat_map(|m| m.0).collect()), limits)
}

/// The checks shared by every way in, on the polygon in SWEREF 99 TM.
pub fn check(mp: MultiPolygon<f64>, limits: PlanLimits) -> Result<PlanArea, PlanAreaError> {
    let vertices = mp.coords_count();
    if vertices > limits.max_vertices {
        return Err(PlanAreaError::TooManyVertices(vertices, limits.max_vertices));
    }
    let rect = mp.bounding_rect().ok_or(PlanAreaError::Empty)?;
    let span = rect.width().max(rect.height());
    if span > limits.max_extent_m {
        return Err(PlanAreaError::TooLarge(span, limits.max_extent_m));
    }
    let mut warnings = Vec::new();
    // Several features may overlap, and a hand-drawn ring may cross itself: one union makes a
    // valid area (even-odd rule), so no part is counted twice.
    let geometry = if mp.is_valid() {
        mp
    } else {
        warnings.push("Planområdets polygon var ogiltig (korsande kanter eller överlappande delar) och har lagats.".to_string());
        mp.union(&MultiPolygon::<f64>(vec![]))
    };
    if geo::Area::unsigned_area(&geometry) <= 0.0 {
        return Err(PlanAreaError::Empty);
    }
    Ok(PlanArea { geometry, vertices, warnings })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn square(lon: f64, lat: f64, d: f64) -> String {
        format!(r#"{{"type":"Polygon","coordinates":[[[{lon},{lat}],[{},{lat}],[{},{}],[{lon},{}],[{lon},{lat}]]]}}"#, lon + d, lon + d, lat + d, lat + d)
    }

    #[test]
    fn a_small_square_in_sollentuna_is_accepted_as_a_feature_and_as_a_geometry() {
        let g = square(17.95, 59.43, 0.005);
        let feature = format!(r#"{{"type":"Feature","properties":{{}},"geometry":{g}}}"#);
        for text in [g.clone(), feature] {
            let p = from_geojson(&text, PlanLimits::default()).unwrap();
            assert_eq!(p.vertices, 5);
            assert!(geo::Area::unsigned_area(&p.geometry) > 100_000.0);
        }
    }

    #[test]
    fn a_plan_area_wider_than_the_limit_is_refused_before_any_overlay() {
        let e = from_geojson(&square(17.0, 59.0, 1.0), PlanLimits::default()).unwrap_err();
        assert!(matches!(e, PlanAreaError::TooLarge(..)), "{e}");
    }

    #[test]
    fn too_many_vertices_are_refused_with_the_limit_named() {
        let e = from_geojson(&square(17.95, 59.43, 0.005), PlanLimits { max_vertices: 4, max_extent_m: 1e9 }).unwrap_err();
        assert_eq!(e.to_string(), "the plan area has 5 vertices; at most 4 are accepted (simplify it first)");
    }

    #[test]
    fn projected_coordinates_and_lines_are_refused() {
        let sweref = r#"{"type":"Polygon","coordinates":[[[660000,6590000],[661000,6590000],[661000,6591000],[660000,6590000]]]}"#;
        assert!(matches!(from_geojson(sweref, PlanLimits::default()), Err(PlanAreaError::NotWgs84(_))));
        let line = r#"{"type":"LineString","coordinates":[[17.9,59.4],[17.91,59.41]]}"#;
        assert!(matches!(from_geojson(line, PlanLimits::default()), Err(PlanAreaError::NotPolygon(_))));
        assert!(matches!(from_geojson("{not json", PlanLimits::default()), Err(PlanAreaError::NotGeoJson(_))));
    }

    #[test]
    fn a_bow_tie_is_repaired_with_a_warning() {
        let bow = r#"{"type":"Polygon","coordinates":[[[17.95,59.43],[17.96,59.44],[17.96,59.43],[17.95,59.44],[17.95,59.43]]]}"#;
        let p = from_geojson(bow, PlanLimits::default()).unwrap();
        assert_eq!(p.warnings.len(), 1);
        assert!(p.geometry.is_valid());
    }
}
