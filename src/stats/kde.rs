//! Kernel density with ArcGIS's quartic kernel (Silverman 1986, eq. 4.5) and its default search
//! radius (METHODS.md d.1):
//!
//! `density(c) = 1/r² · Σ_{d_ic < r} 3/π · pop_i · (1 − (d_ic/r)²)²`, d to the cell centre.
//!
//! Output is per square metre (×1e6 for per km²). Cells with no point within r are NoData
//! (`NaN`). The default radius is `0.9 · min(SD, sqrt(1/ln 2) · Dm) · n^−0.2` with the
//! (weighted) standard distance SD, the (weighted) median distance Dm to the (weighted) mean
//! centre, and n the number of points or the sum of the weights.

use serde::Serialize;

/// A north-up raster: row 0 is the northmost, cell centres at
/// `x = xmin + (col + 0.5)·cell`, `y = ymax − (row + 0.5)·cell`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Raster {
    pub xmin: f64,
    pub ymax: f64,
    pub cell_size_m: f64,
    pub nrows: usize,
    pub ncols: usize,
    pub values: Vec<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Bandwidth {
    pub search_radius: f64,
    pub standard_distance: f64,
    pub median_distance_to_mean_center: f64,
    pub mean_center: [f64; 2],
    pub n_used: f64,
}

/// ArcGIS's default search radius. `weights` = population field (None: all 1).
pub fn default_bandwidth(xy: &[[f64; 2]], weights: Option<&[f64]>) -> Option<Bandwidth> {
    if xy.len() < 2 {
        return None;
    }
    let w: Vec<f64> = match weights {
        Some(w) => w.to_vec(),
        None => vec![1.0; xy.len()],
    };
    let sw: f64 = w.iter().sum();
    if sw <= 0.0 {
        return None;
    }
    let mx = xy.iter().zip(&w).map(|(p, w)| p[0] * w).sum::<f64>() / sw;
    let my = xy.iter().zip(&w).map(|(p, w)| p[1] * w).sum::<f64>() / sw;
    let sd = (xy.iter().zip(&w).map(|(p, w)| w * (p[0] - mx).powi(2)).sum::<f64>() / sw
        + xy.iter().zip(&w).map(|(p, w)| w * (p[1] - my).powi(2)).sum::<f64>() / sw)
        .sqrt();
    let mut d: Vec<(f64, f64)> = xy.iter().zip(&w).map(|(p, w)| (((p[0] - mx).powi(2) + (p[1] - my).powi(2)).sqrt(), *w)).collect();
    d.sort_by(|a, b| a.0.total_cmp(&b.0));
    let dm = weighted_median(&d, sw);
    let n_used = if weights.is_some() { sw } else { xy.len() as f64 };
    let r = 0.9 * sd.min((1.0 / std::f64::consts::LN_2).sqrt() * dm) * n_used.powf(-0.2);
    Some(Bandwidth { search_radius: r, standard_distance: sd, median_distance_to_mean_center: dm, mean_center: [mx, my], n_used })
}

/// Weighted median of sorted (value, weight) pairs; with unit weights the ordinary median
/// (mean of the two middle values for an even count).
fn weighted_median(sorted: &[(f64, f64)], total: f64) -> f64 {
    let half = total / 2.0;
    let mut cum = 0.0;
    for (k, (v, w)) in sorted.iter().enumerate() {
        cum += w;
        if (cum - half).abs() < 1e-12 * total.max(1.0) {
            // Exactly half the weight at or below v: average with the next value.
            return sorted.get(k + 1).map(|(n, _)| (v + n) / 2.0).unwrap_or(*v);
        }
        if cum > half {
            return *v;
        }
    }
    sorted.last().map(|x| x.0).unwrap_or(f64::NAN)
}

/// Quartic density on a grid. `weights` = population field (None: all 1).
pub fn quartic_density(xy: &[[f64; 2]], weights: Option<&[f64]>, radius_m: f64, xmin: f64, ymax: f64, cell_size_m: f64, nrows: usize, ncols: usize) -> Raster {
    let mut values = vec![0.0f64; nrows * ncols];
    let mut touched = vec![false; nrows * ncols];
    let r2 = radius_m * radius_m;
    let k = 3.0 / std::f64::consts::PI / r2;
    for (i, p) in xy.iter().enumerate() {
        let pop = weights.map(|w| w[i]).unwrap_or(1.0);
        let c0 = (((p[0] - radius_m - xmin) / cell_size_m).floor().max(0.0)) as usize;
        let c1 = (((p[0] + radius_m - xmin) / cell_size_m).ceil().max(0.0) as usize).min(ncols);
        let r0 = (((ymax - p[1] - radius_m) / cell_size_m).floor().max(0.0)) as usize;
        let r1 = (((ymax - p[1] + radius_m) / cell_size_m).ceil().max(0.0) as usize).min(nrows);
        for row in r0..r1 {
            let cy = ymax - (row as f64 + 0.5) * cell_size_m;
            for col in c0..c1 {
                let cx = xmin + (col as f64 + 0.5) * cell_size_m;
                let d2 = (cx - p[0]).powi(2) + (cy - p[1]).powi(2);
                if d2 < r2 {
                    let t = 1.0 - d2 / r2;
                    values[row * ncols + col] += k * pop * t * t;
                    touched[row * ncols + col] = true;
                }
            }
        }
    }
    for (v, t) in values.iter_mut().zip(&touched) {
        if !t {
            *v = f64::NAN;
        }
    }
    Raster { xmin, ymax, cell_size_m, nrows, ncols, values }
}

/// Density over the points' extent buffered by the radius, on a grid snapped to the cell size.
pub fn density_around(xy: &[[f64; 2]], weights: Option<&[f64]>, radius_m: f64, cell_size_m: f64) -> Raster {
    let (mut x0, mut y0, mut x1, mut y1) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
    for p in xy {
        x0 = x0.min(p[0]);
        y0 = y0.min(p[1]);
        x1 = x1.max(p[0]);
        y1 = y1.max(p[1]);
    }
    let xmin = ((x0 - radius_m) / cell_size_m).floor() * cell_size_m;
    let ymax = ((y1 + radius_m) / cell_size_m).ceil() * cell_size_m;
    let ncols = ((x1 + radius_m - xmin) / cell_size_m).ceil().max(1.0) as usize;
    let nrows = ((ymax - (y0 - radius_m)) / cell_size_m).ceil().max(1.0) as usize;
    quartic_density(xy, weights, radius_m, xmin, ymax, cell_size_m, nrows, ncols)
}

/// Class breaks for the map: quantiles of the non-NoData, non-zero densities.
pub fn quantile_breaks(r: &Raster, classes: usize) -> Vec<f64> {
    let mut v: Vec<f64> = r.values.iter().copied().filter(|x| x.is_finite() && *x > 0.0).collect();
    if v.is_empty() || classes == 0 {
        return vec![];
    }
    v.sort_by(f64::total_cmp);
    (1..classes).map(|k| v[(k * v.len() / classes).min(v.len() - 1)]).collect()
}

/// Classed polygons: one MultiPolygon per class (cells dissolved), class 1 = lowest.
pub fn class_polygons(r: &Raster, breaks: &[f64]) -> Vec<(usize, f64, f64, geo::MultiPolygon<f64>)> {
    let classes = breaks.len() + 1;
    let class_of = |v: f64| -> Option<usize> {
        if !v.is_finite() || v <= 0.0 {
            return None;
        }
        Some(breaks.iter().take_while(|b| v >= **b).count())
    };
    let mut out = Vec::new();
    for c in 0..classes {
        // Merge runs of cells along rows into rectangles, then union the rectangles.
        let mut rects: Vec<geo::Polygon<f64>> = Vec::new();
        for row in 0..r.nrows {
            let mut col = 0;
            while col < r.ncols {
                if class_of(r.values[row * r.ncols + col]) == Some(c) {
                    let start = col;
                    while col < r.ncols && class_of(r.values[row * r.ncols + col]) == Some(c) {
                        col += 1;
                    }
                    let x0 = r.xmin + start as f64 * r.cell_size_m;
                    let x1 = r.xmin + col as f64 * r.cell_size_m;
                    let y1 = r.ymax - row as f64 * r.cell_size_m;
                    let y0 = y1 - r.cell_size_m;
                    rects.push(geo::Rect::new(geo::coord! {x: x0, y: y0}, geo::coord! {x: x1, y: y1}).to_polygon());
                } else {
                    col += 1;
                }
            }
        }
        if rects.is_empty() {
            continue;
        }
        let acc = geo::unary_union(rects.iter());
        let lo = if c == 0 { 0.0 } else { breaks[c - 1] };
        let hi = breaks.get(c).copied().unwrap_or(f64::INFINITY);
        out.push((c + 1, lo, hi, acc));
    }
    out
}
