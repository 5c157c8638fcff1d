//! Global Moran's I and local Moran (LISA), with esda's conventions (METHODS.md b.1–b.2).
//!
//! Degenerate input: zero variance is an error; islands have a zero lag (esda's
//! `island_weight = 0`) and p_sim NaN.

use super::permutation::{conditional, PermutationMatrix};
use super::weights::{Transform, Weights, WeightsKind};
use super::{check_y, norm_sf, StatsError, LIBRARY};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
#[allow(non_snake_case)]
pub struct MoranResult {
    pub I: f64,
    pub EI: f64,
    pub VI_norm: f64,
    pub z_norm: f64,
    /// Two-sided.
    pub p_norm: f64,
    pub VI_rand: f64,
    pub z_rand: f64,
    /// Two-sided.
    pub p_rand: f64,
    /// Directed pseudo p-value (NaN without permutations).
    pub p_sim: f64,
    pub EI_sim: f64,
    pub seI_sim: f64,
    pub z_sim: f64,
    pub n: usize,
    pub s0: f64,
    pub s1: f64,
    pub s2: f64,
    pub transform: Transform,
    pub permutations: usize,
    pub seed: u64,
    pub weights: WeightsKind,
    pub library: &'static str,
}

fn two_sided(z: f64) -> f64 {
    2.0 * if z > 0.0 { norm_sf(z) } else { 1.0 - norm_sf(z) }
}

fn lag(w: &Weights, z: &[f64], i: usize) -> f64 {
    let (ix, wv) = w.row(i);
    ix.iter().zip(wv).map(|(j, v)| v * z[*j as usize]).sum()
}

/// Global Moran's I (esda `Moran`).
pub fn moran(y: &[f64], w: &Weights, transform: Transform, permutations: usize, seed: u64) -> Result<MoranResult, StatsError> {
    check_y(y, w)?;
    let n = y.len();
    let nf = n as f64;
    let wt = w.transformed(transform);
    let mean = y.iter().sum::<f64>() / nf;
    let z: Vec<f64> = y.iter().map(|v| v - mean).collect();
    let z2: f64 = z.iter().map(|v| v * v).sum();
    if z2 == 0.0 {
        return Err(StatsError::ZeroVariance);
    }
    let s0: f64 = wt.row_sums().iter().sum();
    // S1 = ½ Σ (w_ij + w_ji)², S2 = Σ (w_i· + w_·i)².
    let mut pairs: std::collections::HashMap<(u32, u32), f64> = std::collections::HashMap::new();
    let mut col_sums = vec![0.0; n];
    for i in 0..n {
        let (ix, wv) = wt.row(i);
        for (j, v) in ix.iter().zip(wv) {
            let key = if (i as u32) < *j { (i as u32, *j) } else { (*j, i as u32) };
            *pairs.entry(key).or_default() += v;
            col_sums[*j as usize] += v;
        }
    }
    let s1 = 0.5 * pairs.iter().map(|(&(a, b), v)| if a == b { 4.0 * v * v } else { 2.0 * v * v }).sum::<f64>();
    let row_sums = wt.row_sums();
    let s2: f64 = (0..n).map(|i| (row_sums[i] + col_sums[i]).powi(2)).sum();
    let stat = |z: &[f64]| -> f64 {
        let num: f64 = (0..n).map(|i| z[i] * lag(&wt, z, i)).sum();
        nf / s0 * num / z2
    };
    let i_obs = stat(&z);
    let ei = -1.0 / (nf - 1.0);
    let v_norm = (nf * nf * s1 - nf * s2 + 3.0 * s0 * s0) / ((nf - 1.0) * (nf + 1.0) * s0 * s0) - ei * ei;
    let b2 = (z.iter().map(|v| v.powi(4)).sum::<f64>() / nf) / (z2 / nf).powi(2);
    let a = nf * ((nf * nf - 3.0 * nf + 3.0) * s1 - nf * s2 + 3.0 * s0 * s0);
    let b = b2 * ((nf * nf - nf) * s1 - 2.0 * nf * s2 + 6.0 * s0 * s0);
    let v_rand = (a - b) / ((nf - 1.0) * (nf - 2.0) * (nf - 3.0) * s0 * s0) - ei * ei;
    let z_norm = (i_obs - ei) / v_norm.sqrt();
    let z_rand = (i_obs - ei) / v_rand.sqrt();
    let (mut p_sim, mut ei_sim, mut se_sim, mut z_sim) = (f64::NAN, f64::NAN, f64::NAN, f64::NAN);
    if permutations > 0 {
        // Each permutation gets its own stream derived from the seed, so threads do not matter.
        let sims: Vec<f64> = (0..permutations)
            .into_par_iter()
            .map(|k| {
                let mut rng = ChaCha8Rng::seed_from_u64(seed);
                rng.set_stream(k as u64 + 1);
                let mut zp = z.clone();
                zp.shuffle(&mut rng);
                stat(&zp)
            })
            .collect();
        let larger = sims.iter().filter(|s| **s >= i_obs).count();
        let larger = if permutations - larger < larger { permutations - larger } else { larger };
        p_sim = (larger + 1) as f64 / (permutations + 1) as f64;
        ei_sim = sims.iter().sum::<f64>() / permutations as f64;
        se_sim = (sims.iter().map(|s| (s - ei_sim).powi(2)).sum::<f64>() / permutations as f64).sqrt();
        z_sim = (i_obs - ei_sim) / se_sim;
    }
    Ok(MoranResult {
        I: i_obs,
        EI: ei,
        VI_norm: v_norm,
        z_norm,
        p_norm: two_sided(z_norm),
        VI_rand: v_rand,
        z_rand,
        p_rand: two_sided(z_rand),
        p_sim,
        EI_sim: ei_sim,
        seI_sim: se_sim,
        z_sim,
        n,
        s0,
        s1,
        s2,
        transform,
        permutations,
        seed,
        weights: w.kind.clone(),
        library: LIBRARY,
    })
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LisaParams {
    pub transform: Transform,
    pub permutations: usize,
    pub seed: u64,
    /// Significance level for the cluster label (esda default 0.05).
    pub alpha: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct LisaResult {
    /// Local I_i = (n−1) z_i Σ_j w_ij z_j / Σ z².
    pub i: Vec<f64>,
    /// esda/pysal quadrant: 1 HH, 2 LH, 3 LL, 4 HL.
    pub q: Vec<u8>,
    pub p_sim: Vec<f64>,
    pub ei_sim: Vec<f64>,
    pub sei_sim: Vec<f64>,
    pub z_sim: Vec<f64>,
    /// esda's labels: "High-High", "Low-High", "Low-Low", "High-Low" when p_sim < alpha, else "Insignificant".
    pub cluster: Vec<&'static str>,
    pub islands: Vec<usize>,
    pub params: LisaParams,
    pub weights: WeightsKind,
    pub library: &'static str,
}

pub fn local_moran(y: &[f64], w: &Weights, params: &LisaParams) -> Result<LisaResult, StatsError> {
    local_moran_with(y, w, params, None)
}

/// As [`local_moran`], with a given permutation matrix (esda's `permuted_ids`).
pub fn local_moran_with(y: &[f64], w: &Weights, params: &LisaParams, perm: Option<&PermutationMatrix>) -> Result<LisaResult, StatsError> {
    check_y(y, w)?;
    let n = y.len();
    let nf = n as f64;
    let wt = w.transformed(params.transform);
    let mean = y.iter().sum::<f64>() / nf;
    let sd = (y.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / nf).sqrt();
    if sd == 0.0 {
        return Err(StatsError::ZeroVariance);
    }
    let z: Vec<f64> = y.iter().map(|v| (v - mean) / sd).collect();
    let z2: f64 = z.iter().map(|v| v * v).sum();
    let scale = (nf - 1.0) / z2;
    let lags: Vec<f64> = (0..n).map(|i| lag(&wt, &z, i)).collect();
    let is: Vec<f64> = (0..n).map(|i| scale * z[i] * lags[i]).collect();
    let q: Vec<u8> = (0..n)
        .map(|i| match (z[i] > 0.0, lags[i] > 0.0) {
            (true, true) => 1,
            (false, true) => 2,
            (false, false) => 3,
            (true, false) => 4,
        })
        .collect();
    let (p_sim, ei_sim, sei_sim) = if params.permutations > 0 {
        let m = PermutationMatrix::given_or_generated(perm, w, params.permutations, params.seed);
        let m = m.as_ref();
        let s = conditional(&z, &wt, m, &is, |i, lag| z[i] * lag * scale);
        (s.p_sim, s.mean, s.std)
    } else {
        (vec![f64::NAN; n], vec![f64::NAN; n], vec![f64::NAN; n])
    };
    let z_sim = (0..n).map(|i| (is[i] - ei_sim[i]) / sei_sim[i]).collect();
    let cluster =
        (0..n).map(|i| if p_sim[i] < params.alpha { ["High-High", "Low-High", "Low-Low", "High-Low"][q[i] as usize - 1] } else { "Insignificant" }).collect();
    Ok(LisaResult { i: is, q, p_sim, ei_sim, sei_sim, z_sim, cluster, islands: w.islands(), params: params.clone(), weights: w.kind.clone(), library: LIBRARY })
}
