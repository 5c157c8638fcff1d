//! Optimized hot spots (Esri's OHSA): Gi* with FDR over a grid of incident counts.

use super::limits::{bbox, grid_cells, smallest_cell};
use super::{About, Analysis, AnalysisError, Field, Input, Limits, Needs, Output, Param, Params, Row};
use crate::io::Value;
use crate::spatial::grid::Shape;
use crate::stats::optimized::{auto_cell_size, optimized_hot_spots_with, OptimizedResult};
use crate::stats::StatsError;
use serde_json::json;

pub struct Hotspots;

const FIELDS: &[Field] = &[Field::text("cell_id"), Field::count("count"), Field::real("gi_z"), Field::real("gi_p"), Field::int("gi_bin")];

const PARAMS: &[Param] = &[Param::number("cell", 25.0, 5000.0, None, true), Param::number("band", 25.0, 20000.0, None, true), Param::flag("hex", false)];

pub const ABOUT: About = About { id: "hotspots", title: "Hotspots (rutnät, Gi*)", needs: Needs::Points, params: PARAMS, fields: FIELDS };

/// Optimized hot spots and, when the work bound made the grid coarser, the automatic and the
/// used cell size (metres).
pub struct BoundedHotspots {
    pub result: Result<OptimizedResult, StatsError>,
    pub coarsened: Option<(f64, f64)>,
    /// The largest grid allowed, for the reason given with a coarsened cell.
    pub max_cells: f64,
}

/// Optimized hot spots with the automatic cell, coarsened when a grid that fine would exceed
/// the cell limit (a dense county-wide selection would otherwise ask for millions of cells).
pub fn bounded_hot_spots(points: &[[f64; 2]], shape: Shape, limits: &Limits) -> BoundedHotspots {
    let coarse = bbox(points).map(|b| smallest_cell(b, limits)).filter(|c| *c > 10.0);
    let chosen = match coarse {
        Some(min) => auto_cell_size(points).filter(|auto| *auto < min).map(|auto| (auto, min)),
        None => None,
    };
    BoundedHotspots { result: optimized_hot_spots_with(points, None, chosen.map(|c| c.1), None, shape), coarsened: chosen, max_cells: limits.max_cells }
}

/// The rows and parameters of a hot spot result.
pub fn output(h: &BoundedHotspots) -> Result<Output, AnalysisError> {
    let r = h.result.as_ref().map_err(|e| AnalysisError::Hotspots(e.clone()))?;
    Ok(Output { rows: rows(r), parameters: parameters(r, h.coarsened, h.max_cells), ..Default::default() })
}

fn rows(r: &OptimizedResult) -> Vec<Row> {
    r.cells
        .iter()
        .enumerate()
        .map(|(k, c)| Row {
            id: c.id.clone(),
            geometry: Some(c.polygon.clone().into()),
            values: vec![
                Value::from(c.id.clone()),
                Value::Int(r.counts[k] as i64),
                Value::from(r.gi.z[k]),
                Value::from(r.gi.p_norm[k]),
                Value::Int(r.fdr_bin[k] as i64),
            ],
        })
        .collect()
}

fn parameters(r: &OptimizedResult, coarsened: Option<(f64, f64)>, max_cells: f64) -> serde_json::Value {
    let mut p = json!({"method": "optimized hot spots (Gi*, FDR)", "choices": r.choices});
    if let Some((auto, used)) = coarsened {
        p["cell_coarsened"] =
            json!({"automatic_cell_m": auto, "cell_size_m": used, "reason": format!("a {auto} m grid over this selection exceeds {max_cells} cells")});
    }
    p
}

/// Refuses an explicit cell or band that would exceed the work limits, saying what to change.
/// Without them, the automatic cell is coarsened when needed (see [`bounded_hot_spots`]).
fn check_work(pts: &[[f64; 2]], cell: Option<f64>, band: Option<f64>, limits: &Limits) -> Result<(), AnalysisError> {
    let Some(b) = bbox(pts) else { return Ok(()) };
    if let Some(c) = cell {
        let n = grid_cells(b, c);
        if n > limits.max_cells {
            return Err(AnalysisError::TooMuchWork(format!(
                "cell {c} m gives {n:.0} grid cells over this selection (limit {}); use cell={} or larger, a shorter period (from/to) or fewer categories",
                limits.max_cells,
                smallest_cell(b, limits)
            )));
        }
    }
    if let Some(d) = band {
        let c = cell.unwrap_or_else(|| smallest_cell(b, limits));
        let pairs = grid_cells(b, c) * std::f64::consts::PI * (d / c).powi(2);
        if pairs > limits.max_pairs {
            let max_band = c * (limits.max_pairs / (grid_cells(b, c) * std::f64::consts::PI)).sqrt();
            return Err(AnalysisError::TooMuchWork(format!(
                "band {d} m gives about {pairs:.0} neighbour pairs (limit {}); use band={:.0} or smaller, or a larger cell",
                limits.max_pairs,
                max_band.floor()
            )));
        }
    }
    Ok(())
}

impl Analysis for Hotspots {
    fn about(&self) -> About {
        ABOUT
    }

    fn run(&self, input: &Input, params: &Params, limits: &Limits) -> Result<Output, AnalysisError> {
        let pts = input.xy()?;
        let (cell, band) = (params.num("cell"), params.num("band"));
        let shape = if params.flag("hex") { Shape::Hexagon } else { Shape::Square };
        check_work(&pts, cell, band, limits)?;
        if cell.is_none() && band.is_none() {
            return output(&bounded_hot_spots(&pts, shape, limits));
        }
        let r = optimized_hot_spots_with(&pts, None, cell, band, shape).map_err(AnalysisError::Hotspots)?;
        Ok(Output { rows: rows(&r), parameters: parameters(&r, None, limits.max_cells), ..Default::default() })
    }
}
