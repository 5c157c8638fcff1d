//! Local Getis-Ord Gi / Gi* of a value over areas.

use super::{area_rows, area_weights, parse_transform, reals, About, Analysis, AnalysisError, Field, Input, Limits, Needs, Output, Param, Params};
use crate::io::Value;
use crate::stats::{getis_ord, GiParams};
use serde_json::json;

pub struct Gi;

const FIELDS: &[Field] = &[Field::real("gi_g"), Field::real("gi_z"), Field::real("gi_p"), Field::real("gi_p_sim"), Field::int("gi_bin")];

/// Binary weights by default, so that Gi* equals ArcGIS's.
const PARAMS: &[Param] = area_params!("B", Param::flag("star", true), Param::flag("fdr", true));

pub const ABOUT: About = About { id: "gi", title: "Getis-Ord Gi*", needs: Needs::AreaValues, params: PARAMS, fields: FIELDS };

impl Analysis for Gi {
    fn about(&self) -> About {
        ABOUT
    }

    fn run(&self, input: &Input, params: &Params, _limits: &Limits) -> Result<Output, AnalysisError> {
        let layer = &input.areas()?.layer;
        let (w, tol, warnings) = area_weights(layer, params)?;
        let gp = GiParams {
            star: params.flag("star"),
            transform: parse_transform(params.text("transform").unwrap_or("B"))?,
            permutations: params.uint("permutations").unwrap_or(999) as usize,
            seed: params.uint("seed").unwrap_or(20251122),
            fdr: params.flag("fdr"),
        };
        let r = getis_ord(&layer.y, &w, &gp)?;
        let rows = area_rows(
            layer,
            vec![
                reals(&r.g).collect(),
                reals(&r.z).collect(),
                reals(&r.p_norm).collect(),
                reals(&r.p_sim).collect(),
                r.bin.iter().map(|v| Value::Int(*v as i64)).collect(),
            ],
        );
        let statistic = if gp.star { "Gi*" } else { "Gi" };
        let parameters =
            json!({"statistic": statistic, "params": r.params, "weights": r.weights, "tolerance_m": tol, "islands": r.islands, "library": r.library});
        Ok(Output { rows, parameters, raster: None, warnings })
    }
}
