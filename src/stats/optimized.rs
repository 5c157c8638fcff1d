//! `auto` mode: Optimized Hot Spot Analysis as Esri describes it (METHODS.md f), for users who
//! do not know which cell size and distance band to choose. Every choice is reported.
//!
//! 1. Locational outliers: nearest-neighbour distances of the unique incident locations; those
//!    with z ≥ 3 are outliers (reported, still counted).
//! 2. Cell size = 2 · max(mean, median) of the non-outlier NN distances, rounded up
//!    (`roof`: to 10 m below 1 km, else to 50 m; Esri's own rounding helper is UNVERIFIED),
//!    at least 10 m and at most a tenth of the larger extent side.
//! 3. Counts per square cell over the data extent (or the mask polygons), zero cells included.
//! 4. Scale: Global Moran's I z (row-standardised, as Incremental Spatial Autocorrelation) at
//!    10 distance bands from the smallest band giving every cell a neighbour, stepping by the
//!    mean NN distance; the first peak, else the highest peak. Without a peak: k = clamp(0.05 n,
//!    3, 30) and the band is the mean distance to the k-th nearest neighbour. The number of bands
//!    inside OHSA is UNVERIFIED (the stand-alone tool's default of 10 is used).
//! 5. Gi* with that fixed band, binary weights with self, analytical p, FDR → bins.

use super::fdr::benjamini_hochberg_bins;
use super::getis_ord::{getis_ord, GiParams, GiResult};
use super::moran::moran;
use super::weights::{Transform, Weights};
use super::StatsError;
use crate::spatial::grid::{Cell, GridSpec, Shape};
use geo::MultiPolygon;
use rstar::{primitives::GeomWithData, RTree};
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct OptimizedChoices {
    pub incidents: usize,
    pub unique_locations: usize,
    pub locational_outliers: usize,
    pub cell_size_m: f64,
    pub cells: usize,
    pub distance_band_m: f64,
    /// `incremental_peak_first`, `incremental_peak_max` or `knn`.
    pub band_method: &'static str,
    /// (distance, Moran z) for each band tried.
    pub moran_curve: Vec<(f64, f64)>,
    /// Share of cells with fewer than 8 neighbours at the chosen band.
    pub share_cells_lt8_neighbours: f64,
    pub user_cell_size: bool,
    pub user_distance_band: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct OptimizedResult {
    pub cells: Vec<Cell>,
    pub counts: Vec<f64>,
    pub gi: GiResult,
    pub fdr_bin: Vec<i8>,
    pub choices: OptimizedChoices,
}

fn nn_distances(xy: &[[f64; 2]]) -> Vec<f64> {
    let tree = RTree::bulk_load(xy.iter().enumerate().map(|(i, p)| GeomWithData::new(*p, i)).collect());
    xy.iter()
        .enumerate()
        .map(|(i, p)| tree.nearest_neighbor_iter_with_distance_2(p).find(|(q, _)| q.data != i).map(|(_, d2)| d2.sqrt()).unwrap_or(f64::NAN))
        .collect()
}

fn roof(v: f64) -> f64 {
    let step = if v < 1000.0 { 10.0 } else { 50.0 };
    (v / step).ceil() * step
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let n = s.len();
    if n % 2 == 1 {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2.0
    }
}

/// Nearest-neighbour distances of the unique locations without the locational outliers (more
/// than three standard deviations above the mean), with the number of unique locations and of
/// outliers.
fn spacing(points: &[[f64; 2]]) -> (Vec<f64>, usize, usize) {
    let mut uniq: Vec<[f64; 2]> = points.to_vec();
    uniq.sort_by(|a, b| a[0].total_cmp(&b[0]).then(a[1].total_cmp(&b[1])));
    uniq.dedup();
    let nn = nn_distances(&uniq);
    // The mean once, not per element: at a million points the per-element mean made this
    // quadratic (minutes for one county-wide request).
    let m = mean(&nn);
    let sd = (nn.iter().map(|d| (d - m).powi(2)).sum::<f64>() / nn.len() as f64).sqrt();
    let keep: Vec<f64> = nn.iter().copied().filter(|d| sd == 0.0 || (d - m) / sd < 3.0).collect();
    let outliers = nn.len() - keep.len();
    (keep, uniq.len(), outliers)
}

/// The cell size `optimized_hot_spots` chooses by itself for these points (no mask), so a
/// caller can check the grid's size before running it. None below 60 points.
pub fn auto_cell_size(points: &[[f64; 2]]) -> Option<f64> {
    if points.len() < 60 {
        return None;
    }
    let (keep, _, _) = spacing(points);
    let (mut x0, mut y0, mut x1, mut y1) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
    for p in points {
        x0 = x0.min(p[0]);
        y0 = y0.min(p[1]);
        x1 = x1.max(p[0]);
        y1 = y1.max(p[1]);
    }
    let max_side = (x1 - x0).max(y1 - y0);
    Some(roof(2.0 * mean(&keep).max(median(&keep))).clamp(10.0, roof(0.1 * max_side).max(10.0)))
}

pub fn optimized_hot_spots(
    points: &[[f64; 2]],
    mask: Option<&[MultiPolygon<f64>]>,
    cell_size_m: Option<f64>,
    distance_band_m: Option<f64>,
) -> Result<OptimizedResult, StatsError> {
    optimized_hot_spots_with(points, mask, cell_size_m, distance_band_m, Shape::Square)
}

/// The box the grid covers: the mask's polygons when given (Esri's bounding polygons), else
/// the points'.
fn extent(points: &[[f64; 2]], mask: Option<&[MultiPolygon<f64>]>) -> [f64; 4] {
    let (mut x0, mut y0, mut x1, mut y1) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
    match mask {
        Some(polys) => {
            for p in polys {
                if let Some(r) = geo::BoundingRect::bounding_rect(p) {
                    x0 = x0.min(r.min().x);
                    y0 = y0.min(r.min().y);
                    x1 = x1.max(r.max().x);
                    y1 = y1.max(r.max().y);
                }
            }
        }
        None => {
            for p in points {
                x0 = x0.min(p[0]);
                y0 = y0.min(p[1]);
                x1 = x1.max(p[0]);
                y1 = y1.max(p[1]);
            }
        }
    }
    [x0, y0, x1, y1]
}

/// As [`optimized_hot_spots`], aggregating to squares or to hexagons (Esri's
/// COUNT_INCIDENTS_WITHIN_HEXAGON_POLYGONS; a hexagon of cell size c has side c/√3).
pub fn optimized_hot_spots_with(
    points: &[[f64; 2]],
    mask: Option<&[MultiPolygon<f64>]>,
    cell_size_m: Option<f64>,
    distance_band_m: Option<f64>,
    shape: Shape,
) -> Result<OptimizedResult, StatsError> {
    if points.len() < 60 {
        // Esri's minimum for incident data aggregated to a fishnet without bounding polygons.
        return Err(StatsError::TooFew(points.len()));
    }
    let (keep, unique_locations, outliers) = spacing(points);
    let [x0, y0, x1, y1] = extent(points, mask);
    let max_side = (x1 - x0).max(y1 - y0);
    let auto_cell = roof(2.0 * mean(&keep).max(median(&keep))).clamp(10.0, roof(0.1 * max_side).max(10.0));
    let cell = cell_size_m.unwrap_or(auto_cell);
    let grid = GridSpec { cell_size_m: cell, shape };
    let cells = grid.cover([x0 - cell, y0 - cell, x1 + cell, y1 + cell], mask);
    let counts_map = grid.count(points);
    let counts: Vec<f64> = cells.iter().map(|c| *counts_map.get(&c.key).unwrap_or(&0) as f64).collect();
    if cells.len() < 30 {
        return Err(StatsError::TooFew(cells.len()));
    }
    let xy: Vec<[f64; 2]> = cells.iter().map(|c| c.centre).collect();
    let (band, method, curve) = match distance_band_m {
        Some(b) => (b, "user", vec![]),
        None => {
            let cnn = nn_distances(&xy);
            let start = Weights::min_threshold_distance(&xy);
            let step = mean(&cnn);
            let mut curve = Vec::new();
            for k in 0..10 {
                let d = start + k as f64 * step;
                let w = Weights::distance_band(&xy, d).map_err(|_| StatsError::TooFew(xy.len()))?;
                let avg = (0..w.n).map(|i| w.cardinality(i)).sum::<usize>() as f64 / w.n as f64;
                if avg > 500.0 {
                    break;
                }
                let z = moran(&counts, &w, Transform::R, 0, 0).map(|m| m.z_norm).unwrap_or(f64::NAN);
                curve.push((d, z));
            }
            let peaks: Vec<usize> = (1..curve.len().saturating_sub(1)).filter(|&k| curve[k].1 > curve[k - 1].1 && curve[k].1 > curve[k + 1].1).collect();
            if let Some(&first) = peaks.first() {
                (curve[first].0, "incremental_peak_first", curve)
            } else {
                let k = ((0.05 * xy.len() as f64) as usize).clamp(3, 30);
                let tree = RTree::bulk_load(xy.iter().enumerate().map(|(i, p)| GeomWithData::new(*p, i)).collect());
                let dk = xy
                    .iter()
                    .enumerate()
                    .map(|(i, p)| tree.nearest_neighbor_iter_with_distance_2(p).filter(|(q, _)| q.data != i).nth(k - 1).map(|(_, d2)| d2.sqrt()).unwrap_or(0.0))
                    .sum::<f64>()
                    / xy.len() as f64;
                (dk.max(0.001 * max_side), "knn", curve)
            }
        }
    };
    let w = Weights::distance_band(&xy, band).map_err(|_| StatsError::TooFew(xy.len()))?;
    let lt8 = (0..w.n).filter(|&i| w.cardinality(i) < 8).count() as f64 / w.n as f64;
    let gi = getis_ord(&counts, &w, &GiParams { star: true, transform: Transform::B, permutations: 0, seed: 0, fdr: true })?;
    let fdr_bin = benjamini_hochberg_bins(&gi.z, &gi.p_norm);
    Ok(OptimizedResult {
        choices: OptimizedChoices {
            incidents: points.len(),
            unique_locations,
            locational_outliers: outliers,
            cell_size_m: cell,
            cells: cells.len(),
            distance_band_m: band,
            band_method: method,
            moran_curve: curve,
            share_cells_lt8_neighbours: lt8,
            user_cell_size: cell_size_m.is_some(),
            user_distance_band: distance_band_m.is_some(),
        },
        cells,
        counts,
        gi,
        fdr_bin,
    })
}
