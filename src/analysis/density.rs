//! Kernel density: ArcGIS's quartic kernel and default search radius, as a raster and as
//! quantile classes.

use super::limits::density_cell;
use super::{About, Analysis, AnalysisError, Field, Input, Limits, Needs, Output, Param, Params, Row};
use crate::io::Value;
use crate::stats::kde;
use serde_json::json;

pub struct Density;

const FIELDS: &[Field] = &[Field::int("class"), Field::real("min_per_km2"), Field::real("max_per_km2")];

/// `cell` is the command line's: the service chooses the cell from its work limits.
const PARAMS: &[Param] = &[
    Param::number("radius", 10.0, 10000.0, None, true),
    Param::number("cell", 1.0, 10000.0, None, false),
    Param::number("classes", 0.0, 20.0, Some("5"), false),
];

pub const ABOUT: About = About { id: "density", title: "Händelsetäthet (kerneltäthet)", needs: Needs::Points, params: PARAMS, fields: FIELDS };

impl Analysis for Density {
    fn about(&self) -> About {
        ABOUT
    }

    /// No points, or a single one without a radius (the default radius needs a spread): an
    /// empty result without a raster.
    fn run(&self, input: &Input, params: &Params, limits: &Limits) -> Result<Output, AnalysisError> {
        let pts = input.xy()?;
        let given = params.num("radius").filter(|r| *r > 0.0);
        let radius = match given {
            Some(r) if !pts.is_empty() => r,
            None if pts.len() >= 2 => kde::default_bandwidth(&pts, None).map(|b| b.search_radius).unwrap_or(300.0),
            _ => return Ok(Output { parameters: json!({}), ..Default::default() }),
        };
        let cell = params.num("cell").unwrap_or_else(|| density_cell(&pts, radius, limits));
        let raster = kde::density_around(&pts, None, radius, cell);
        let classes = params.num("classes").unwrap_or(5.0) as usize;
        let mut rows = Vec::new();
        if classes > 0 {
            let breaks = kde::quantile_breaks(&raster, classes);
            for (class, lo, hi, g) in kde::class_polygons(&raster, &breaks) {
                let values = vec![Value::Int(class as i64), Value::from(lo * 1e6), Value::from(if hi.is_finite() { hi * 1e6 } else { f64::NAN })];
                rows.push(Row { id: format!("class{class}"), geometry: Some(g.into()), values });
            }
        }
        let parameters = json!({"kernel": "quartic (ArcGIS)", "radius_m": radius, "radius_auto": given.is_none(), "cell_size_m": cell, "classes": "quantiles of non-zero density", "points": pts.len()});
        Ok(Output { rows, parameters, raster: Some(raster), warnings: vec![] })
    }
}
