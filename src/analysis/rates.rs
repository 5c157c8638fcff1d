//! Rates per 1,000 for small areas: crude, empirical Bayes (esda's and the clipped GeoDa/ArcGIS
//! variant), spatial rate and spatial EB over the weights, excess risk, Assunção–Reis.

use super::{area_rows, area_weights, reals, About, Analysis, AnalysisError, Field, Input, Limits, Needs, Output, Param, Params};
use crate::io::Value;
use crate::stats::smoothing;
use serde_json::json;

pub struct Rates;

const FIELDS: &[Field] = &[
    Field::real("rate_crude_per_1000"),
    Field::real("rate_eb_per_1000"),
    Field::real("rate_eb_clipped_per_1000"),
    Field::real("rate_spatial_per_1000"),
    Field::real("rate_seb_per_1000"),
    Field::real("excess_risk"),
    Field::real("rate_ar_z"),
];

const PARAMS: &[Param] = area_params!("B");

pub const ABOUT: About = About { id: "rates", title: "Händelser per 1 000 invånare (utjämnade)", needs: Needs::AreaRates, params: PARAMS, fields: FIELDS };

impl Analysis for Rates {
    fn about(&self) -> About {
        ABOUT
    }

    /// Events are the areas' values, the population at risk comes beside them.
    fn run(&self, input: &Input, params: &Params, _limits: &Limits) -> Result<Output, AnalysisError> {
        let areas = input.areas()?;
        let (layer, pop) = (&areas.layer, &areas.population);
        let (w, tol, warnings) = area_weights(layer, params)?;
        let wrap = |source| AnalysisError::Rates { file: layer.file.clone(), source };
        let r = smoothing::rates(&layer.y, pop).map_err(wrap)?;
        let sr = smoothing::spatial_rates(&layer.y, pop, &w).map_err(wrap)?;
        let per = |v: &[f64]| v.iter().map(|x| Value::from(1000.0 * x)).collect::<Vec<_>>();
        let rows = area_rows(
            layer,
            vec![
                per(&r.crude),
                per(&r.eb),
                per(&r.eb_clipped),
                per(&sr.spatial_rate),
                per(&sr.spatial_eb),
                reals(&r.excess_risk).collect(),
                reals(&r.assuncao_reis).collect(),
            ],
        );
        let parameters = json!({"method": "rates (Marshall 1991 EB; Assunção & Reis 1999)", "mean_rate_per_1000": 1000.0 * r.m, "prior_variance": r.a, "clipped": r.a < 0.0, "weights": w.kind, "tolerance_m": tol, "library": crate::stats::LIBRARY});
        Ok(Output { rows, parameters, raster: None, warnings })
    }
}
