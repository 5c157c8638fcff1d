//! Spatial weights, kept apart from the statistics (as in libpysal/esda).
//!
//! Stored row-wise (CSR): for site i, neighbours `idx[off[i]..off[i+1]]` (sorted, self excluded
//! unless [`Weights::with_self`] added it) with weights `w[..]`.

use geo::{BoundingRect, Distance, Euclidean, MultiPolygon};
use rstar::{primitives::GeomWithData, RTree, AABB};
use serde::Serialize;
use std::collections::HashMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Transform {
    /// Binary: w_ij ∈ {0, 1}.
    B,
    /// Row-standardised: each row sums to 1 (islands stay zero).
    R,
}

impl Transform {
    pub fn parse(s: &str) -> Option<Transform> {
        match s {
            "B" | "b" => Some(Transform::B),
            "R" | "r" => Some(Transform::R),
            _ => None,
        }
    }
}

/// How a set of weights was built, recorded with every result.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum WeightsKind {
    Queen { tolerance_m: f64 },
    Rook { tolerance_m: f64 },
    Knn { k: usize },
    DistanceBand { threshold: f64 },
    Lattice { nrows: usize, ncols: usize, queen: bool },
    Custom,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum WeightsError {
    #[error("k = {k} nearest neighbours needs at least {} points, got {n}", k + 1)]
    TooFewPoints { k: usize, n: usize },
    #[error("distance band must be a positive number of metres, got {0}")]
    BadThreshold(f64),
    #[error("neighbour index {j} of site {i} is out of range (n = {n})")]
    OutOfRange { i: usize, j: usize, n: usize },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Weights {
    pub n: usize,
    off: Vec<usize>,
    idx: Vec<u32>,
    w: Vec<f64>,
    pub kind: WeightsKind,
    pub transform: Transform,
    /// True when each row holds its own site (Gi*).
    pub has_self: bool,
}

impl Weights {
    /// Binary weights from neighbour lists (duplicates and self-references removed, sorted).
    pub fn from_neighbors(neighbors: &[Vec<usize>], kind: WeightsKind) -> Result<Weights, WeightsError> {
        let n = neighbors.len();
        let mut off = Vec::with_capacity(n + 1);
        let mut idx = Vec::new();
        off.push(0);
        for (i, row) in neighbors.iter().enumerate() {
            let mut r: Vec<usize> = row.iter().copied().filter(|&j| j != i).collect();
            r.sort_unstable();
            r.dedup();
            for &j in &r {
                if j >= n {
                    return Err(WeightsError::OutOfRange { i, j, n });
                }
                idx.push(j as u32);
            }
            off.push(idx.len());
        }
        let w = vec![1.0; idx.len()];
        Ok(Weights { n, off, idx, w, kind, transform: Transform::B, has_self: false })
    }

    /// Row `i`: neighbour indices and weights.
    #[inline]
    pub fn row(&self, i: usize) -> (&[u32], &[f64]) {
        let (a, b) = (self.off[i], self.off[i + 1]);
        (&self.idx[a..b], &self.w[a..b])
    }

    /// Number of neighbours of `i` (self excluded).
    pub fn cardinality(&self, i: usize) -> usize {
        let (ix, _) = self.row(i);
        ix.len() - usize::from(self.has_self && ix.contains(&(i as u32)))
    }

    pub fn max_cardinality(&self) -> usize {
        (0..self.n).map(|i| self.cardinality(i)).max().unwrap_or(0)
    }

    /// Sites without neighbours. They are reported, never silently dropped.
    pub fn islands(&self) -> Vec<usize> {
        (0..self.n).filter(|&i| self.cardinality(i) == 0).collect()
    }

    pub fn neighbor_lists(&self) -> Vec<Vec<usize>> {
        (0..self.n).map(|i| self.row(i).0.iter().map(|&j| j as usize).filter(|&j| j != i || !self.has_self).collect()).collect()
    }

    /// Row sums W_i.
    pub fn row_sums(&self) -> Vec<f64> {
        (0..self.n).map(|i| self.row(i).1.iter().sum()).collect()
    }

    /// Whether w_ij = w_ji for all pairs (contiguity and distance bands are; k-NN generally not).
    pub fn is_symmetric(&self) -> bool {
        let mut m: HashMap<(u32, u32), f64> = HashMap::new();
        for i in 0..self.n {
            let (ix, w) = self.row(i);
            for (j, v) in ix.iter().zip(w) {
                m.insert((i as u32, *j), *v);
            }
        }
        m.iter().all(|(&(i, j), v)| m.get(&(j, i)).is_some_and(|u| (u - v).abs() < 1e-12))
    }

    /// Adds each site to its own row with weight 1 (esda's Gi* with binary weights; for a
    /// binary W the row maximum that esda uses is also 1). Applied before any transform.
    pub fn with_self(&self) -> Weights {
        let mut off = Vec::with_capacity(self.n + 1);
        let mut idx = Vec::with_capacity(self.idx.len() + self.n);
        let mut w = Vec::with_capacity(self.idx.len() + self.n);
        off.push(0);
        for i in 0..self.n {
            let (ix, wv) = self.row(i);
            let self_w = wv.iter().copied().fold(f64::NAN, f64::max);
            let self_w = if self_w.is_nan() { 1.0 } else { self_w };
            let mut inserted = false;
            for (j, v) in ix.iter().zip(wv) {
                if !inserted && *j as usize > i {
                    idx.push(i as u32);
                    w.push(self_w);
                    inserted = true;
                }
                if *j as usize != i {
                    idx.push(*j);
                    w.push(*v);
                }
            }
            if !inserted {
                idx.push(i as u32);
                w.push(self_w);
            }
            off.push(idx.len());
        }
        Weights { n: self.n, off, idx, w, kind: self.kind.clone(), transform: self.transform, has_self: true }
    }

    /// Returns a copy with the given transform applied to the binary structure.
    pub fn transformed(&self, t: Transform) -> Weights {
        let mut out = self.clone();
        out.transform = t;
        for i in 0..self.n {
            let (a, b) = (self.off[i], self.off[i + 1]);
            match t {
                Transform::B => out.w[a..b].iter_mut().for_each(|v| *v = 1.0),
                Transform::R => {
                    let s: f64 = self.w[a..b].iter().sum();
                    if s > 0.0 {
                        out.w[a..b].iter_mut().zip(&self.w[a..b]).for_each(|(o, v)| *o = v / s);
                    }
                }
            }
        }
        out
    }

    /// Regular grid, ids row-major (`id = row * ncols + col`), as libpysal's `lat2W`.
    pub fn lattice(nrows: usize, ncols: usize, queen: bool) -> Weights {
        let mut nb = vec![Vec::new(); nrows * ncols];
        for r in 0..nrows {
            for c in 0..ncols {
                let i = r * ncols + c;
                for (dr, dc) in [(-1i64, -1i64), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1)] {
                    if !queen && dr != 0 && dc != 0 {
                        continue;
                    }
                    let (rr, cc) = (r as i64 + dr, c as i64 + dc);
                    if rr >= 0 && cc >= 0 && (rr as usize) < nrows && (cc as usize) < ncols {
                        nb[i].push(rr as usize * ncols + cc as usize);
                    }
                }
            }
        }
        Weights::from_neighbors(&nb, WeightsKind::Lattice { nrows, ncols, queen }).expect("lattice indices are in range")
    }

    /// k nearest neighbours by Euclidean distance (asymmetric), as libpysal `KNN.from_array`.
    /// Ties at the k-th distance are broken by the lower index.
    pub fn knn(xy: &[[f64; 2]], k: usize) -> Result<Weights, WeightsError> {
        if xy.len() <= k || k == 0 {
            return Err(WeightsError::TooFewPoints { k, n: xy.len() });
        }
        let tree = RTree::bulk_load(xy.iter().enumerate().map(|(i, p)| GeomWithData::new(*p, i)).collect());
        let nb: Vec<Vec<usize>> = xy
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let mut cands: Vec<(f64, usize)> =
                    tree.nearest_neighbor_iter_with_distance_2(p).filter(|(q, _)| q.data != i).take(k + 8).map(|(q, d2)| (d2, q.data)).collect();
                cands.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
                cands.into_iter().take(k).map(|(_, j)| j).collect()
            })
            .collect();
        Weights::from_neighbors(&nb, WeightsKind::Knn { k })
    }

    /// Fixed distance band, binary: j is a neighbour of i iff 0 < d_ij ≤ threshold (inclusive,
    /// as libpysal `DistanceBand`).
    pub fn distance_band(xy: &[[f64; 2]], threshold: f64) -> Result<Weights, WeightsError> {
        if !(threshold > 0.0) || !threshold.is_finite() {
            return Err(WeightsError::BadThreshold(threshold));
        }
        let tree = RTree::bulk_load(xy.iter().enumerate().map(|(i, p)| GeomWithData::new(*p, i)).collect());
        let t2 = threshold * threshold;
        let nb: Vec<Vec<usize>> = xy
            .iter()
            .enumerate()
            .map(|(i, p)| {
                tree.locate_within_distance(*p, t2 * (1.0 + 1e-12))
                    .filter(|q| q.data != i)
                    .filter(|q| {
                        let (dx, dy) = (q.geom()[0] - p[0], q.geom()[1] - p[1]);
                        let d = (dx * dx + dy * dy).sqrt();
                        d > 0.0 && d <= threshold
                    })
                    .map(|q| q.data)
                    .collect()
            })
            .collect();
        Weights::from_neighbors(&nb, WeightsKind::DistanceBand { threshold })
    }

    /// Queen (share a point) or rook (share an edge) contiguity between polygons.
    ///
    /// With `tolerance_m = 0` this is libpysal's exact rule (shared vertices for queen, shared
    /// edges for rook, by exact coordinates). With a tolerance, polygons that come within the
    /// tolerance of each other (or overlap) are queen neighbours; they are rook neighbours when
    /// the contact has at least two distinct places more than the tolerance apart (an edge, not a
    /// corner). The tolerance absorbs slivers and gaps of simplified boundaries such as the demo
    /// DeSO polygons.
    pub fn contiguity(polys: &[MultiPolygon<f64>], queen: bool, tolerance_m: f64) -> Weights {
        let kind = if queen { WeightsKind::Queen { tolerance_m } } else { WeightsKind::Rook { tolerance_m } };
        let nb = if tolerance_m <= 0.0 { exact_contiguity(polys, queen) } else { tolerant_contiguity(polys, queen, tolerance_m) };
        Weights::from_neighbors(&nb, kind).expect("indices come from the input")
    }

    /// Smallest distance band that leaves no site without a neighbour (libpysal
    /// `min_threshold_distance`: the largest nearest-neighbour distance).
    pub fn min_threshold_distance(xy: &[[f64; 2]]) -> f64 {
        let tree = RTree::bulk_load(xy.iter().enumerate().map(|(i, p)| GeomWithData::new(*p, i)).collect());
        xy.iter()
            .enumerate()
            .filter_map(|(i, p)| tree.nearest_neighbor_iter_with_distance_2(p).find(|(q, _)| q.data != i).map(|(_, d2)| d2.sqrt()))
            .fold(0.0, f64::max)
    }
}

fn key(x: f64, y: f64) -> (u64, u64) {
    // +0.0 and -0.0 are the same place.
    ((x + 0.0).to_bits(), (y + 0.0).to_bits())
}

fn exact_contiguity(polys: &[MultiPolygon<f64>], queen: bool) -> Vec<Vec<usize>> {
    let mut nb: Vec<Vec<usize>> = vec![Vec::new(); polys.len()];
    if queen {
        let mut by_vertex: HashMap<(u64, u64), Vec<u32>> = HashMap::new();
        for (i, mp) in polys.iter().enumerate() {
            for p in &mp.0 {
                for ring in std::iter::once(p.exterior()).chain(p.interiors()) {
                    for c in ring.coords() {
                        let e = by_vertex.entry(key(c.x, c.y)).or_default();
                        if e.last() != Some(&(i as u32)) {
                            e.push(i as u32);
                        }
                    }
                }
            }
        }
        for ids in by_vertex.values() {
            for &a in ids {
                for &b in ids {
                    if a != b {
                        nb[a as usize].push(b as usize);
                    }
                }
            }
        }
    } else {
        let mut by_edge: HashMap<((u64, u64), (u64, u64)), Vec<u32>> = HashMap::new();
        for (i, mp) in polys.iter().enumerate() {
            for p in &mp.0 {
                for ring in std::iter::once(p.exterior()).chain(p.interiors()) {
                    for l in ring.lines() {
                        let (a, b) = (key(l.start.x, l.start.y), key(l.end.x, l.end.y));
                        if a == b {
                            continue;
                        }
                        let e = by_edge.entry(if a < b { (a, b) } else { (b, a) }).or_default();
                        if e.last() != Some(&(i as u32)) {
                            e.push(i as u32);
                        }
                    }
                }
            }
        }
        for ids in by_edge.values() {
            for &a in ids {
                for &b in ids {
                    if a != b {
                        nb[a as usize].push(b as usize);
                    }
                }
            }
        }
    }
    nb
}

fn tolerant_contiguity(polys: &[MultiPolygon<f64>], queen: bool, tol: f64) -> Vec<Vec<usize>> {
    use rayon::prelude::*;
    let boxes: Vec<_> = polys
        .iter()
        .enumerate()
        .filter_map(|(i, p)| {
            p.bounding_rect().map(|r| {
                GeomWithData::new(rstar::primitives::Rectangle::from_corners([r.min().x - tol, r.min().y - tol], [r.max().x + tol, r.max().y + tol]), i)
            })
        })
        .collect();
    let tree = RTree::bulk_load(boxes);
    (0..polys.len())
        .into_par_iter()
        .map(|i| {
            let Some(r) = polys[i].bounding_rect() else { return vec![] };
            let env = AABB::from_corners([r.min().x - tol, r.min().y - tol], [r.max().x + tol, r.max().y + tol]);
            let mut out: Vec<usize> = tree
                .locate_in_envelope_intersecting(&env)
                .map(|c| c.data)
                .filter(|&j| j != i)
                .filter(|&j| touches_within(&polys[i], &polys[j], queen, tol))
                .collect();
            out.sort_unstable();
            out
        })
        .collect()
}

/// Contact test for the tolerant rule: vertices of each polygon within `tol` of the other.
fn touches_within(a: &MultiPolygon<f64>, b: &MultiPolygon<f64>, queen: bool, tol: f64) -> bool {
    if Euclidean.distance(a, b) > tol {
        return false;
    }
    if queen {
        return true;
    }
    let mut contacts: Vec<geo::Point<f64>> = Vec::new();
    for (x, y) in [(a, b), (b, a)] {
        for c in geo::CoordsIter::coords_iter(x) {
            let p = geo::Point::from(c);
            if Euclidean.distance(&p, y) <= tol {
                if contacts.iter().all(|q| Euclidean.distance(q, &p) > tol) {
                    contacts.push(p);
                }
                if contacts.len() >= 2 {
                    return true;
                }
            }
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lattice_queen_and_rook_have_libpysal_cardinalities() {
        let q = Weights::lattice(3, 3, true);
        let r = Weights::lattice(3, 3, false);
        assert_eq!((0..9).map(|i| q.cardinality(i)).collect::<Vec<_>>(), vec![3, 5, 3, 5, 8, 5, 3, 5, 3]);
        assert_eq!((0..9).map(|i| r.cardinality(i)).collect::<Vec<_>>(), vec![2, 3, 2, 3, 4, 3, 2, 3, 2]);
        assert!(q.is_symmetric() && r.is_symmetric());
    }

    #[test]
    fn row_standardised_rows_sum_to_one_and_islands_stay_zero() {
        let w = Weights::from_neighbors(&[vec![1, 2], vec![0], vec![0], vec![]], WeightsKind::Custom).unwrap();
        let r = w.transformed(Transform::R);
        assert_eq!(r.row_sums(), vec![1.0, 1.0, 1.0, 0.0]);
        assert_eq!(w.islands(), vec![3]);
    }

    #[test]
    fn self_weight_is_added_in_index_order() {
        let w = Weights::from_neighbors(&[vec![1], vec![0, 2], vec![1]], WeightsKind::Custom).unwrap().with_self();
        assert_eq!(w.row(1).0, &[0, 1, 2]);
        assert_eq!(w.cardinality(1), 2);
    }

    #[test]
    fn distance_band_is_inclusive_and_knn_is_asymmetric() {
        let xy = [[0.0, 0.0], [1.0, 0.0], [3.0, 0.0]];
        let d = Weights::distance_band(&xy, 2.0).unwrap();
        assert_eq!(d.neighbor_lists(), vec![vec![1], vec![0, 2], vec![1]]);
        let k = Weights::knn(&xy, 1).unwrap();
        assert_eq!(k.neighbor_lists(), vec![vec![1], vec![0], vec![1]]);
        assert!(!k.is_symmetric());
        assert_eq!(Weights::min_threshold_distance(&xy), 2.0);
    }
}
