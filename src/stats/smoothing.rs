//! Rates for small populations (METHODS.md g): crude, global empirical Bayes (esda's and the
//! clipped GeoDa/ArcGIS variant), spatial rate, spatial empirical Bayes, excess risk and the
//! Assunção–Reis EB-standardised rate.
//!
//! Citations: Marshall (1991) for EB; Assunção & Reis (1999) for the standardised rate.
//! Degenerate input: an area with zero population gets a NaN crude rate (and NaN smoothed
//! rates); negative events or populations are an error.

use super::weights::Weights;
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RateError {
    #[error("events and population differ in length ({0} vs {1})")]
    Length(usize, usize),
    #[error("negative or non-finite value at position {0}")]
    Negative(usize),
    #[error("total population is zero")]
    NoPopulation,
}

#[derive(Debug, Clone, Serialize)]
pub struct Rates {
    pub crude: Vec<f64>,
    /// Global mean rate m = Σe / Σb.
    pub m: f64,
    /// Population-weighted variance of the crude rates around m.
    pub s2: f64,
    /// Prior variance a = s² − m / mean(b) (may be negative; see `eb` vs `eb_clipped`).
    pub a: f64,
    /// esda `Empirical_Bayes`: no clipping of a negative prior variance.
    pub eb: Vec<f64>,
    /// GeoDa/ArcGIS: a < 0 → 0, every area shrinks fully to m.
    pub eb_clipped: Vec<f64>,
    /// Observed / expected with expected = b·m (esda `Excess_Risk`).
    pub excess_risk: Vec<f64>,
    /// EB-standardised rate (esda `assuncao_rate`).
    pub assuncao_reis: Vec<f64>,
}

fn check(e: &[f64], b: &[f64]) -> Result<(), RateError> {
    if e.len() != b.len() {
        return Err(RateError::Length(e.len(), b.len()));
    }
    for (i, (x, y)) in e.iter().zip(b).enumerate() {
        if !(x.is_finite() && y.is_finite() && *x >= 0.0 && *y >= 0.0) {
            return Err(RateError::Negative(i));
        }
    }
    if b.iter().sum::<f64>() <= 0.0 {
        return Err(RateError::NoPopulation);
    }
    Ok(())
}

pub fn rates(e: &[f64], b: &[f64]) -> Result<Rates, RateError> {
    check(e, b)?;
    let n = e.len() as f64;
    let crude: Vec<f64> = e.iter().zip(b).map(|(e, b)| if *b > 0.0 { e / b } else { f64::NAN }).collect();
    let sb: f64 = b.iter().sum();
    let m = e.iter().sum::<f64>() / sb;
    let s2 = b.iter().zip(&crude).filter(|(b, _)| **b > 0.0).map(|(b, r)| b * (r - m).powi(2)).sum::<f64>() / sb;
    let a = s2 - m / (sb / n);
    let shrink = |a: f64| -> Vec<f64> {
        crude
            .iter()
            .zip(b)
            .map(|(r, b)| {
                let w = a / (a + m / b);
                w * r + (1.0 - w) * m
            })
            .collect()
    };
    let eb = shrink(a);
    let eb_clipped = shrink(a.max(0.0));
    let excess_risk = e.iter().zip(b).map(|(e, b)| e / (b * m)).collect();
    let assuncao_reis = crude
        .iter()
        .zip(b)
        .map(|(r, b)| {
            let v = a + m / b;
            let v = if v < 0.0 { m / b } else { v };
            (r - m) / v.sqrt()
        })
        .collect();
    Ok(Rates { crude, m, s2, a, eb, eb_clipped, excess_risk, assuncao_reis })
}

#[derive(Debug, Clone, Serialize)]
pub struct SpatialRates {
    /// Σ e / Σ b over each area and its neighbours (esda `Spatial_Rate`).
    pub spatial_rate: Vec<f64>,
    /// Spatial empirical Bayes with the same window (esda `Spatial_Empirical_Bayes`; a_i < 0 → 0).
    pub spatial_eb: Vec<f64>,
}

/// Window = the area and its neighbours in `w` (weights values are ignored).
pub fn spatial_rates(e: &[f64], b: &[f64], w: &Weights) -> Result<SpatialRates, RateError> {
    check(e, b)?;
    let mut sr = Vec::with_capacity(e.len());
    let mut seb = Vec::with_capacity(e.len());
    for i in 0..e.len() {
        let (ix, _) = w.row(i);
        let win: Vec<usize> = std::iter::once(i).chain(ix.iter().map(|j| *j as usize).filter(|j| *j != i)).collect();
        let se: f64 = win.iter().map(|&j| e[j]).sum();
        let sb: f64 = win.iter().map(|&j| b[j]).sum();
        let mi = se / sb;
        let s2 = win.iter().map(|&j| b[j] * (e[j] / b[j] - mi).powi(2)).sum::<f64>() / sb;
        let ai = (s2 - mi / (sb / win.len() as f64)).max(0.0);
        let ri = e[i] / b[i];
        sr.push(mi);
        seb.push(mi + (ri - mi) * ai / (ai + mi / b[i]));
    }
    Ok(SpatialRates { spatial_rate: sr, spatial_eb: seb })
}
