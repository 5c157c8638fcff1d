//! The conditional permutation engine shared by every local statistic (esda's `crand`).
//!
//! One matrix of P rows × k_max indices into `0..n-1` is drawn once from an explicit seed and
//! reused for every site (site i reads `z` with its own entry removed), exactly as esda does.
//! So the result depends only on the seed, never on the number of threads; and feeding esda's
//! own matrix reproduces esda's pseudo p-values.

use super::weights::Weights;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

#[derive(Debug, Clone, PartialEq)]
pub struct PermutationMatrix {
    pub permutations: usize,
    pub k_max: usize,
    /// Row-major, `permutations × k_max`, each row distinct indices into `0..n-1`.
    pub ids: Vec<u32>,
}

impl PermutationMatrix {
    /// Draws the matrix with ChaCha8 from `seed` (partial Fisher–Yates per row).
    pub fn generate(n: usize, k_max: usize, permutations: usize, seed: u64) -> PermutationMatrix {
        let m = n.saturating_sub(1);
        let k = k_max.min(m);
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut pool: Vec<u32> = (0..m as u32).collect();
        let mut ids = Vec::with_capacity(permutations * k_max);
        for _ in 0..permutations {
            for j in 0..k {
                let r = rng.gen_range(j..m);
                pool.swap(j, r);
            }
            ids.extend_from_slice(&pool[..k]);
            ids.extend(std::iter::repeat(0).take(k_max - k));
        }
        PermutationMatrix { permutations, k_max, ids }
    }

    /// A matrix given from outside (esda's `permuted_ids`), for reproducing esda exactly.
    pub fn from_rows(rows: &[Vec<u32>]) -> PermutationMatrix {
        let k_max = rows.first().map(|r| r.len()).unwrap_or(0);
        PermutationMatrix { permutations: rows.len(), k_max, ids: rows.iter().flatten().copied().collect() }
    }

    /// The given matrix (esda's, to reproduce it), or one drawn from the seed for these weights.
    pub fn given_or_generated<'a>(
        given: Option<&'a PermutationMatrix>,
        w: &Weights,
        permutations: usize,
        seed: u64,
    ) -> std::borrow::Cow<'a, PermutationMatrix> {
        match given {
            Some(m) => std::borrow::Cow::Borrowed(m),
            None => std::borrow::Cow::Owned(PermutationMatrix::generate(w.n, w.max_cardinality(), permutations, seed)),
        }
    }

    #[inline]
    fn row(&self, r: usize) -> &[u32] {
        &self.ids[r * self.k_max..(r + 1) * self.k_max]
    }
}

/// Per-site summary of the simulated statistics.
#[derive(Debug, Clone, PartialEq)]
pub struct SimSummary {
    /// esda's directed pseudo p: (min(#sim ≥ obs, P − #sim ≥ obs) + 1)/(P + 1).
    pub p_sim: Vec<f64>,
    /// Mean and standard deviation (ddof 0) of the simulated statistics.
    pub mean: Vec<f64>,
    pub std: Vec<f64>,
}

/// Runs the conditional permutation for every site. `stat(i, lag_without_self)` turns the
/// permuted spatial lag into the local statistic; `observed[i]` is the statistic on the data.
/// Sites without neighbours get p_sim = NaN (nothing to permute).
pub fn conditional<F>(z: &[f64], w: &Weights, perm: &PermutationMatrix, observed: &[f64], stat: F) -> SimSummary
where
    F: Fn(usize, f64) -> f64 + Sync,
{
    let n = z.len();
    let p = perm.permutations;
    let res: Vec<(f64, f64, f64)> = (0..n)
        .into_par_iter()
        .with_min_len(64)
        .map(|i| {
            let (ix, wv) = w.row(i);
            let others: Vec<f64> = ix.iter().zip(wv).filter(|(j, _)| **j as usize != i).map(|(_, v)| *v).collect();
            let k = others.len();
            if k == 0 || p == 0 {
                return (f64::NAN, f64::NAN, f64::NAN);
            }
            assert!(k <= perm.k_max, "permutation matrix has {} columns, site {i} needs {k}", perm.k_max);
            let mut larger = 0usize;
            let (mut s, mut s2) = (0.0, 0.0);
            for r in 0..p {
                let row = perm.row(r);
                let mut lag = 0.0;
                for m in 0..k {
                    let id = row[m] as usize;
                    // Index into z with site i removed.
                    let zz = if id < i { z[id] } else { z[id + 1] };
                    lag += zz * others[m];
                }
                let v = stat(i, lag);
                if v >= observed[i] {
                    larger += 1;
                }
                s += v;
                s2 += v * v;
            }
            let larger = if p - larger < larger { p - larger } else { larger };
            let mean = s / p as f64;
            let var = (s2 / p as f64 - mean * mean).max(0.0);
            ((larger + 1) as f64 / (p + 1) as f64, mean, var.sqrt())
        })
        .collect();
    SimSummary { p_sim: res.iter().map(|r| r.0).collect(), mean: res.iter().map(|r| r.1).collect(), std: res.iter().map(|r| r.2).collect() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_matrix_and_rows_hold_distinct_ids() {
        let a = PermutationMatrix::generate(50, 8, 99, 7);
        let b = PermutationMatrix::generate(50, 8, 99, 7);
        let c = PermutationMatrix::generate(50, 8, 99, 8);
        assert_eq!(a, b);
        assert_ne!(a, c);
        for r in 0..99 {
            let mut row = a.row(r).to_vec();
            assert!(row.iter().all(|&x| x < 49));
            row.sort_unstable();
            row.dedup();
            assert_eq!(row.len(), 8);
        }
    }
}
