//! Local Getis–Ord Gi and Gi* (Getis & Ord 1992; Ord & Getis 1995), with esda's conventions.
//!
//! * `star = true` adds each site to its own neighbourhood with weight 1 (the row maximum of a
//!   binary W) before the transform, as esda `G_Local(star=True)`.
//! * Moments follow esda `G_Local.calc`: for row-standardised weights esda uses the row sum
//!   where the theory needs Σ w², so its z differs from ArcGIS's; with binary weights and
//!   `star = true` the z equals ArcGIS's Gi* z-score (METHODS.md a.1–a.2).
//! * `p_norm` is two-sided (ArcGIS); esda's one-sided value is `p_norm_one_sided`.
//! * Degenerate input: a y that sums to zero is an error; islands get NaN z and p, bin 0.
//!
//! ```
//! use lagesbild::stats::{getis_ord, GiParams, Transform, Weights};
//! let w = Weights::lattice(3, 3, true);
//! let y = [1.0, 1.0, 1.0, 1.0, 9.0, 8.0, 1.0, 7.0, 9.0];
//! let r = getis_ord(&y, &w, &GiParams { star: true, transform: Transform::B, permutations: 99, seed: 1, fdr: false }).unwrap();
//! assert!(r.z[8] > r.z[0]);
//! ```

use super::fdr::{benjamini_hochberg_bins, confidence_bin};
use super::permutation::{conditional, PermutationMatrix};
use super::weights::{Transform, Weights, WeightsKind};
use super::{check_y, norm_sf, StatsError, LIBRARY};
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GiParams {
    pub star: bool,
    pub transform: Transform,
    /// 0 for no permutation inference.
    pub permutations: usize,
    pub seed: u64,
    /// Apply Benjamini–Hochberg FDR to the confidence bins.
    pub fdr: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct GiResult {
    pub g: Vec<f64>,
    pub eg: Vec<f64>,
    pub vg: Vec<f64>,
    pub z: Vec<f64>,
    /// Two-sided normal p-value.
    pub p_norm: Vec<f64>,
    /// esda's one-sided `p_norm`.
    pub p_norm_one_sided: Vec<f64>,
    /// Directed pseudo p-value from conditional permutation (NaN when permutations = 0).
    pub p_sim: Vec<f64>,
    /// Confidence bin −3…3 (FDR-corrected when `params.fdr`).
    pub bin: Vec<i8>,
    pub islands: Vec<usize>,
    pub params: GiParams,
    pub weights: WeightsKind,
    pub library: &'static str,
}

pub fn getis_ord(y: &[f64], w: &Weights, params: &GiParams) -> Result<GiResult, StatsError> {
    getis_ord_with(y, w, params, None)
}

/// As [`getis_ord`], with a given permutation matrix (esda's `permuted_ids`) instead of the seed.
pub fn getis_ord_with(y: &[f64], w: &Weights, params: &GiParams, perm: Option<&PermutationMatrix>) -> Result<GiResult, StatsError> {
    check_y(y, w)?;
    let n = y.len();
    let y_sum: f64 = y.iter().sum();
    if y_sum == 0.0 {
        return Err(StatsError::ZeroSum);
    }
    let y2_sum: f64 = y.iter().map(|v| v * v).sum();
    let base = if params.star { w.with_self() } else { w.clone() };
    let wt = base.transformed(params.transform);
    let remove_self = if params.star { 0.0 } else { 1.0 };
    let big_n = n as f64 - remove_self;
    let islands = w.islands();
    let mut g = vec![0.0; n];
    let mut eg = vec![0.0; n];
    let mut vg = vec![0.0; n];
    let mut z = vec![0.0; n];
    for i in 0..n {
        let (ix, wv) = wt.row(i);
        let lag: f64 = ix.iter().zip(wv).map(|(j, v)| v * y[*j as usize]).sum();
        let denom = y_sum - y[i] * remove_self;
        g[i] = lag / denom;
        let mean = denom / big_n;
        let var = (y2_sum - y[i] * y[i] * remove_self) / big_n - mean * mean;
        let wi: f64 = wv.iter().sum();
        eg[i] = wi / big_n;
        vg[i] = wi * (big_n - wi) / (big_n - 1.0) / (big_n * big_n) * var / (mean * mean);
        z[i] = (g[i] - eg[i]) / vg[i].sqrt();
    }
    for &i in &islands {
        if !params.star {
            z[i] = f64::NAN;
        }
    }
    let p1: Vec<f64> = z.iter().map(|z| if z.is_finite() { norm_sf(z.abs()) } else { f64::NAN }).collect();
    let p2: Vec<f64> = p1.iter().map(|p| 2.0 * p).collect();
    let p_sim = if params.permutations > 0 {
        let m = PermutationMatrix::given_or_generated(perm, w, params.permutations, params.seed);
        let m = m.as_ref();
        let self_w: Vec<f64> = (0..n)
            .map(|i| {
                let (ix, wv) = wt.row(i);
                ix.iter().zip(wv).find(|(j, _)| **j as usize == i).map(|(_, v)| *v).unwrap_or(0.0)
            })
            .collect();
        let star = params.star;
        conditional(y, &wt, m, &g, |i, lag| if star { (lag + self_w[i] * y[i]) / y_sum } else { lag / (y_sum - y[i]) }).p_sim
    } else {
        vec![f64::NAN; n]
    };
    let bin = if params.fdr { benjamini_hochberg_bins(&z, &p2) } else { z.iter().zip(&p2).map(|(z, p)| confidence_bin(*z, *p)).collect() };
    Ok(GiResult { g, eg, vg, z, p_norm: p2, p_norm_one_sided: p1, p_sim, bin, islands, params: params.clone(), weights: w.kind.clone(), library: LIBRARY })
}
