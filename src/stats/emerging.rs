//! Emerging hot spot analysis (METHODS.md e): a space-time cube of counts, Gi* per bin with a
//! space-time neighbourhood, the Mann–Kendall trend of each location's z series, and Esri's
//! pattern categories.
//!
//! UNVERIFIED against ArcGIS (no ArcGIS run was available): the significance level that makes
//! a bin a hot/cold spot (here `alpha`, default 0.05, on FDR-corrected bins as in ArcGIS) and the
//! Mann–Kendall significance level (here the same `alpha`); the precedence between overlapping
//! categories (here sfdep's order: new, consecutive, intensifying, persistent, diminishing,
//! oscillating, historical, sporadic), with one deviation: persistent requires the last step to
//! be significant, otherwise a location hot in ≥ 90 % of steps but not the last could never be
//! "historical".

use super::fdr::benjamini_hochberg_bins;
use super::getis_ord::{getis_ord, GiParams};
use super::weights::{Transform, Weights, WeightsKind};
use super::{norm_sf, StatsError};
use serde::Serialize;

/// Mann–Kendall trend test (no tie correction beyond the variance term), as
/// `pymannkendall.original_test`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct MannKendall {
    pub s: f64,
    pub var_s: f64,
    pub z: f64,
    /// Two-sided.
    pub p: f64,
    pub tau: f64,
}

pub fn mann_kendall(x: &[f64]) -> MannKendall {
    let n = x.len();
    let mut s = 0.0;
    for i in 0..n {
        for j in i + 1..n {
            s += (x[j] - x[i]).signum() * f64::from(x[j] != x[i]);
        }
    }
    // Tie groups.
    let mut sorted: Vec<f64> = x.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mut ties = 0.0;
    let mut k = 0;
    while k < n {
        let mut t = 1;
        while k + t < n && sorted[k + t] == sorted[k] {
            t += 1;
        }
        if t > 1 {
            let t = t as f64;
            ties += t * (t - 1.0) * (2.0 * t + 5.0);
        }
        k += t;
    }
    let nf = n as f64;
    let var_s = (nf * (nf - 1.0) * (2.0 * nf + 5.0) - ties) / 18.0;
    let z = if s > 0.0 {
        (s - 1.0) / var_s.sqrt()
    } else if s < 0.0 {
        (s + 1.0) / var_s.sqrt()
    } else {
        0.0
    };
    let p = if var_s > 0.0 { 2.0 * norm_sf(z.abs()) } else { 1.0 };
    let tau = if n > 1 { s / (nf * (nf - 1.0) / 2.0) } else { 0.0 };
    MannKendall { s, var_s, z, p, tau }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Pattern {
    NoPattern,
    NewHot,
    ConsecutiveHot,
    IntensifyingHot,
    PersistentHot,
    DiminishingHot,
    SporadicHot,
    OscillatingHot,
    HistoricalHot,
    NewCold,
    ConsecutiveCold,
    IntensifyingCold,
    PersistentCold,
    DiminishingCold,
    SporadicCold,
    OscillatingCold,
    HistoricalCold,
}

impl Pattern {
    /// Swedish label for maps.
    pub fn label_sv(self) -> &'static str {
        use Pattern::*;
        match self {
            NoPattern => "Inget mönster",
            NewHot => "Ny het punkt",
            ConsecutiveHot => "Sammanhängande het punkt",
            IntensifyingHot => "Intensifierande het punkt",
            PersistentHot => "Ihållande het punkt",
            DiminishingHot => "Avtagande het punkt",
            SporadicHot => "Sporadisk het punkt",
            OscillatingHot => "Oscillerande het punkt",
            HistoricalHot => "Historisk het punkt",
            NewCold => "Ny kall punkt",
            ConsecutiveCold => "Sammanhängande kall punkt",
            IntensifyingCold => "Intensifierande kall punkt",
            PersistentCold => "Ihållande kall punkt",
            DiminishingCold => "Avtagande kall punkt",
            SporadicCold => "Sporadisk kall punkt",
            OscillatingCold => "Oscillerande kall punkt",
            HistoricalCold => "Historisk kall punkt",
        }
    }
}

/// Classifies one location from its per-step significance (`+1` hot, `−1` cold, `0` neither)
/// and the Mann–Kendall test of its z series, by the rules in METHODS.md e.4.
pub fn classify(sig: &[i8], trend: &MannKendall, alpha: f64) -> Pattern {
    let hot = classify_side(sig, 1, trend, alpha);
    if let Some(p) = hot {
        return p;
    }
    classify_side(sig, -1, trend, alpha).unwrap_or(Pattern::NoPattern)
}

fn classify_side(sig: &[i8], side: i8, trend: &MannKendall, alpha: f64) -> Option<Pattern> {
    use Pattern::*;
    let t = sig.len();
    if t == 0 {
        return None;
    }
    let is = |k: usize| sig[k] == side;
    let other = |k: usize| sig[k] == -side;
    let count = (0..t).filter(|&k| is(k)).count();
    if count == 0 {
        return None;
    }
    let share = count as f64 / t as f64;
    let last = is(t - 1);
    let trend_sig = trend.p <= alpha;
    // "Up" means intensifying in the side's own direction: rising z for hot, falling for cold.
    let dir = trend.tau * f64::from(side);
    let up = trend_sig && dir > 0.0;
    let down = trend_sig && dir < 0.0;
    let pick = |hot: Pattern, cold: Pattern| if side > 0 { hot } else { cold };
    // Length of the run of significant steps ending at the last step.
    let run = (0..t).rev().take_while(|&k| is(k)).count();
    let any_before_run = (0..t - run).any(is);
    if last && count == 1 {
        return Some(pick(NewHot, NewCold));
    }
    if last && run >= 2 && !any_before_run && share < 0.9 {
        return Some(pick(ConsecutiveHot, ConsecutiveCold));
    }
    if share >= 0.9 && last && up {
        return Some(pick(IntensifyingHot, IntensifyingCold));
    }
    // Persistent also needs the last step: with it missing, Esri's "historical" describes it.
    if share >= 0.9 && last && !trend_sig {
        return Some(pick(PersistentHot, PersistentCold));
    }
    if share >= 0.9 && last && down {
        return Some(pick(DiminishingHot, DiminishingCold));
    }
    if last && share < 0.9 && (0..t).any(other) {
        return Some(pick(OscillatingHot, OscillatingCold));
    }
    if !last && share >= 0.9 {
        return Some(pick(HistoricalHot, HistoricalCold));
    }
    if last && share < 0.9 && !(0..t).any(other) {
        return Some(pick(SporadicHot, SporadicCold));
    }
    None
}

#[derive(Debug, Clone, Serialize)]
pub struct EmergingParams {
    /// Neighbours in space: locations within this distance (same units as the coordinates).
    pub distance: f64,
    /// How many earlier time steps belong to a bin's neighbourhood (ArcGIS default 1).
    pub time_steps: usize,
    /// Significance for hot/cold bins (FDR-corrected) and for the trend. UNVERIFIED vs ArcGIS.
    pub alpha: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct EmergingResult {
    /// Per location: z series (one per time step), significance series, trend and pattern.
    pub z: Vec<Vec<f64>>,
    pub significance: Vec<Vec<i8>>,
    pub trend: Vec<MannKendall>,
    pub pattern: Vec<Pattern>,
    pub params: EmergingParams,
}

/// Runs the analysis on a cube `counts[location][step]` with location centres `xy`.
pub fn emerging_hot_spots(xy: &[[f64; 2]], counts: &[Vec<f64>], params: &EmergingParams) -> Result<EmergingResult, StatsError> {
    let l = xy.len();
    let t = counts.first().map(|c| c.len()).unwrap_or(0);
    let space = Weights::distance_band(xy, params.distance).map_err(|_| StatsError::TooFew(l))?;
    // Site id = location * t + step. Neighbours: same step and the `time_steps` steps before,
    // at the location itself (earlier steps) and at its spatial neighbours.
    let mut nb: Vec<Vec<usize>> = vec![Vec::new(); l * t];
    for loc in 0..l {
        let (sp, _) = space.row(loc);
        for step in 0..t {
            let me = loc * t + step;
            for back in 0..=params.time_steps.min(step) {
                let s = step - back;
                if back > 0 {
                    nb[me].push(loc * t + s);
                }
                for &j in sp {
                    nb[me].push(j as usize * t + s);
                }
            }
        }
    }
    let w = Weights::from_neighbors(&nb, WeightsKind::Custom).map_err(|_| StatsError::TooFew(l))?;
    let y: Vec<f64> = counts.iter().flat_map(|c| c.iter().copied()).collect();
    let gi = getis_ord(&y, &w, &GiParams { star: true, transform: Transform::B, permutations: 0, seed: 0, fdr: true })?;
    let bins = benjamini_hochberg_bins(&gi.z, &gi.p_norm);
    let level = if params.alpha <= 0.01 {
        3
    } else if params.alpha <= 0.05 {
        2
    } else {
        1
    };
    let mut z = Vec::with_capacity(l);
    let mut significance = Vec::with_capacity(l);
    let mut trend = Vec::with_capacity(l);
    let mut pattern = Vec::with_capacity(l);
    for loc in 0..l {
        let zs: Vec<f64> = (0..t).map(|s| gi.z[loc * t + s]).collect();
        let sig: Vec<i8> = (0..t)
            .map(|s| bins[loc * t + s])
            .map(|b| {
                if b >= level {
                    1
                } else if b <= -level {
                    -1
                } else {
                    0
                }
            })
            .collect();
        let mk = mann_kendall(&zs);
        pattern.push(classify(&sig, &mk, params.alpha));
        z.push(zs);
        significance.push(sig);
        trend.push(mk);
    }
    Ok(EmergingResult { z, significance, trend, pattern, params: params.clone() })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_trend() -> MannKendall {
        MannKendall { s: 0.0, var_s: 1.0, z: 0.0, p: 1.0, tau: 0.0 }
    }
    fn rising() -> MannKendall {
        MannKendall { s: 40.0, var_s: 100.0, z: 3.9, p: 0.0001, tau: 0.8 }
    }

    #[test]
    fn categories_follow_the_esri_rules() {
        let h = |s: &str| {
            s.chars()
                .map(|c| match c {
                    'H' => 1,
                    'C' => -1,
                    _ => 0,
                })
                .collect::<Vec<i8>>()
        };
        assert_eq!(classify(&h("..........H"), &no_trend(), 0.05), Pattern::NewHot);
        assert_eq!(classify(&h("........HHH"), &no_trend(), 0.05), Pattern::ConsecutiveHot);
        assert_eq!(classify(&h("HHHHHHHHHHH"), &no_trend(), 0.05), Pattern::PersistentHot);
        assert_eq!(classify(&h("HHHHHHHHHHH"), &rising(), 0.05), Pattern::IntensifyingHot);
        assert_eq!(classify(&h("H.H..H...HH"), &no_trend(), 0.05), Pattern::SporadicHot);
        assert_eq!(classify(&h("C.C..H...HH"), &no_trend(), 0.05), Pattern::OscillatingHot);
        assert_eq!(classify(&h("HHHHHHHHHH."), &no_trend(), 0.05), Pattern::HistoricalHot);
        assert_eq!(classify(&h("CCCCCCCCCCC"), &no_trend(), 0.05), Pattern::PersistentCold);
        assert_eq!(classify(&h("..........."), &no_trend(), 0.05), Pattern::NoPattern);
    }
}
