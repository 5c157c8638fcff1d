//! Emerging hot spots: space-time Gi* per grid cell and time step, Mann–Kendall on each cell's
//! z series, Esri's categories.

use super::limits::emerging_cell;
use super::{About, Analysis, AnalysisError, Field, Input, Limits, Needs, Output, Param, Params, Row};
use crate::io::Value;
use crate::spatial::grid::{space_time_cube, GridSpec, Shape};
use crate::stats::emerging::{emerging_hot_spots, EmergingParams};
use serde_json::json;

pub struct Emerging;

const FIELDS: &[Field] = &[
    Field::text("cell_id"),
    Field::text("pattern"),
    Field::text("pattern_sv"),
    Field::count("count"),
    Field::int("hot_steps"),
    Field::int("cold_steps"),
    Field::real("trend_z"),
    Field::real("trend_p"),
    Field::real("trend_tau"),
];

/// The service offers cell and step: the neighbourhood and thresholds stay at Esri's defaults there.
const PARAMS: &[Param] = &[
    Param::number("cell", 50.0, 5000.0, Some("250"), true),
    Param::number("step_days", 1.0, 92.0, Some("7"), true),
    Param::number("distance", 1.0, 1e6, None, false),
    Param::number("time_steps", 1.0, 1000.0, Some("1"), false),
    Param::number("alpha", 1e-6, 0.5, Some("0.05"), false),
    Param::flag("hex", false),
];

pub const ABOUT: About = About { id: "emerging", title: "Framväxande hotspots", needs: Needs::Points, params: PARAMS, fields: FIELDS };

impl Analysis for Emerging {
    fn about(&self) -> About {
        ABOUT
    }

    /// An explicit cell is honoured or refused, never silently changed; the default one is
    /// coarsened until the cube fits the limits. Points without a time are left out.
    fn run(&self, input: &Input, params: &Params, limits: &Limits) -> Result<Output, AnalysisError> {
        let pts: Vec<([f64; 2], chrono::NaiveDateTime)> = input.events()?.iter().filter_map(|e| e.at.map(|t| (e.xy, t))).collect();
        let asked = params.num("cell").unwrap_or(250.0);
        let step = params.num("step_days").unwrap_or(7.0) as i64;
        let cell = emerging_cell(&pts, asked, step, limits);
        if cell > asked && params.given("cell") {
            return Err(AnalysisError::TooMuchWork(format!(
                "emerging hot spots with cell {asked} m and step_days {step} exceed the work limit of {} cell-steps for this selection; use cell={cell} or larger, a longer step_days, a shorter period (from/to) or fewer categories",
                limits.max_cube
            )));
        }
        let shape = if params.flag("hex") { Shape::Hexagon } else { Shape::Square };
        let Some(cube) = space_time_cube(&pts, &GridSpec { cell_size_m: cell, shape }, step) else {
            return Ok(Output { parameters: json!({"cell_size_m": cell, "time_step_days": step}), ..Default::default() });
        };
        let xy: Vec<[f64; 2]> = cube.cells.iter().map(|c| c.centre).collect();
        let ep = EmergingParams {
            distance: params.num("distance").unwrap_or(cell * 1.5),
            time_steps: params.num("time_steps").unwrap_or(1.0) as usize,
            alpha: params.num("alpha").unwrap_or(0.05),
        };
        let r = emerging_hot_spots(&xy, &cube.counts, &ep)?;
        let rows = cube
            .cells
            .iter()
            .enumerate()
            .map(|(k, c)| Row {
                id: c.id.clone(),
                geometry: Some(c.polygon.clone().into()),
                values: vec![
                    Value::from(c.id.clone()),
                    Value::from(serde_json::to_value(r.pattern[k]).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default()),
                    Value::from(r.pattern[k].label_sv()),
                    Value::Int(cube.counts[k].iter().sum::<f64>() as i64),
                    Value::Int(r.significance[k].iter().filter(|s| **s > 0).count() as i64),
                    Value::Int(r.significance[k].iter().filter(|s| **s < 0).count() as i64),
                    Value::from(r.trend[k].z),
                    Value::from(r.trend[k].p),
                    Value::from(r.trend[k].tau),
                ],
            })
            .collect();
        let mut parameters = json!({"method": "emerging hot spots (space-time Gi*, FDR, Mann-Kendall)", "cell_size_m": cell, "time_step_days": step, "steps": cube.steps, "first_step_starts": cube.start.to_string(), "params": ep, "unverified": "significance and trend thresholds are not verified against ArcGIS", "library": crate::stats::LIBRARY});
        if cell > asked {
            parameters["cell_coarsened"] = json!({"requested_cell_m": asked, "cell_size_m": cell, "reason": format!("a {asked} m cube over this selection exceeds {} cell-steps", limits.max_cube)});
        }
        Ok(Output { rows, parameters, ..Default::default() })
    }
}
