//! Spatial statistics, equal to PySAL (esda, libpysal) where PySAL defines them.
//! See `../shared/docs/METHODS.md` for the formulas and conventions; no HTTP in here.
//!
//! Every statistic takes `&[f64]` and `&Weights` and returns a struct of named fields that also
//! records the parameters that produced it.

pub mod emerging;
pub mod fdr;
pub mod getis_ord;
pub mod kde;
pub mod moran;
pub mod optimized;
pub mod permutation;
pub mod smoothing;
pub mod weights;

pub use fdr::{benjamini_hochberg_bins, confidence_bin};
pub use getis_ord::{getis_ord, GiParams, GiResult};
pub use moran::{local_moran, moran, LisaParams, LisaResult, MoranResult};
pub use permutation::PermutationMatrix;
pub use weights::{Transform, Weights, WeightsKind};

use statrs::distribution::{ContinuousCDF, Normal};

/// Upper tail of the standard normal, sf(z) = 1 − Φ(z).
pub fn norm_sf(z: f64) -> f64 {
    Normal::new(0.0, 1.0).map(|n| n.sf(z)).unwrap_or(f64::NAN)
}

#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum StatsError {
    #[error("y has {y} values but the weights cover {w} sites")]
    LengthMismatch { y: usize, w: usize },
    #[error("y has a non-finite value at position {0}")]
    NonFinite(usize),
    #[error("y has zero variance; the statistic is undefined")]
    ZeroVariance,
    #[error("y sums to zero; Getis-Ord G is undefined (G needs non-negative values with a positive sum)")]
    ZeroSum,
    #[error("need at least 3 sites, got {0}")]
    TooFew(usize),
}

pub(crate) fn check_y(y: &[f64], w: &Weights) -> Result<(), StatsError> {
    if y.len() != w.n {
        return Err(StatsError::LengthMismatch { y: y.len(), w: w.n });
    }
    if y.len() < 3 {
        return Err(StatsError::TooFew(y.len()));
    }
    if let Some(i) = y.iter().position(|v| !v.is_finite()) {
        return Err(StatsError::NonFinite(i));
    }
    Ok(())
}

/// Version string recorded with results.
pub const LIBRARY: &str = concat!("lagesbild ", env!("CARGO_PKG_VERSION"));
