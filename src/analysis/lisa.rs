//! Local Moran (LISA) of a value over areas.

use super::{area_rows, area_weights, parse_transform, reals, About, Analysis, AnalysisError, Field, Input, Limits, Needs, Output, Param, Params};
use crate::io::Value;
use crate::stats::{local_moran, LisaParams};
use serde_json::json;

pub struct Lisa;

const FIELDS: &[Field] = &[Field::real("lisa_i"), Field::int("lisa_q"), Field::real("lisa_p_sim"), Field::text("lisa_cluster")];

/// esda's default transform (R) for the service.
const PARAMS: &[Param] = area_params!("R", Param::number("alpha", 0.0001, 0.5, Some("0.05"), true));

pub const ABOUT: About = About { id: "lisa", title: "Lokal Moran (LISA)", needs: Needs::AreaValues, params: PARAMS, fields: FIELDS };

impl Analysis for Lisa {
    fn about(&self) -> About {
        ABOUT
    }

    fn run(&self, input: &Input, params: &Params, _limits: &Limits) -> Result<Output, AnalysisError> {
        let layer = &input.areas()?.layer;
        let (w, tol, warnings) = area_weights(layer, params)?;
        let lp = LisaParams {
            transform: parse_transform(params.text("transform").unwrap_or("R"))?,
            permutations: params.uint("permutations").unwrap_or(999) as usize,
            seed: params.uint("seed").unwrap_or(20251122),
            alpha: params.num("alpha").unwrap_or(0.05),
        };
        let r = local_moran(&layer.y, &w, &lp)?;
        let rows = area_rows(
            layer,
            vec![
                reals(&r.i).collect(),
                r.q.iter().map(|v| Value::Int(*v as i64)).collect(),
                reals(&r.p_sim).collect(),
                r.cluster.iter().map(|v| Value::from(*v)).collect(),
            ],
        );
        let parameters =
            json!({"statistic": "local Moran", "params": r.params, "weights": r.weights, "tolerance_m": tol, "islands": r.islands, "library": r.library});
        Ok(Output { rows, parameters, raster: None, warnings })
    }
}
