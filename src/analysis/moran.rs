//! Global Moran's I of a value over areas: no rows, the statistic is the parameters.

use super::{area_weights, parse_transform, About, Analysis, AnalysisError, Field, Input, Limits, Needs, Output, Param, Params};

pub struct Moran;

const FIELDS: &[Field] = &[];

const PARAMS: &[Param] = area_params!("R");

pub const ABOUT: About = About { id: "moran", title: "Global Moran's I", needs: Needs::AreaValues, params: PARAMS, fields: FIELDS };

impl Analysis for Moran {
    fn about(&self) -> About {
        ABOUT
    }

    fn run(&self, input: &Input, params: &Params, _limits: &Limits) -> Result<Output, AnalysisError> {
        let layer = &input.areas()?.layer;
        let (w, _tol, warnings) = area_weights(layer, params)?;
        let t = parse_transform(params.text("transform").unwrap_or("R"))?;
        let perms = params.uint("permutations").unwrap_or(999) as usize;
        let m = crate::stats::moran(&layer.y, &w, t, perms, params.uint("seed").unwrap_or(20251122))?;
        let parameters = serde_json::to_value(&m).unwrap_or_default();
        Ok(Output { rows: vec![], parameters, raster: None, warnings })
    }
}
