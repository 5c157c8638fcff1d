//! Confidence bins (Gi_Bin) and the False Discovery Rate correction as ArcGIS applies it.

/// ArcGIS's Gi_Bin from a two-sided p and the sign of z: ±3 (p ≤ 0.01), ±2 (p ≤ 0.05),
/// ±1 (p ≤ 0.10), 0 otherwise.
pub fn confidence_bin(z: f64, p_two_sided: f64) -> i8 {
    if !p_two_sided.is_finite() || !z.is_finite() {
        return 0;
    }
    let level = if p_two_sided <= 0.01 {
        3
    } else if p_two_sided <= 0.05 {
        2
    } else if p_two_sided <= 0.10 {
        1
    } else {
        0
    };
    if z > 0.0 {
        level
    } else if z < 0.0 {
        -level
    } else {
        0
    }
}

/// Benjamini–Hochberg at 0.10, 0.05 and 0.01, per level: with the p-values sorted,
/// k* = max{k : p_(k) ≤ α k / n}, and every feature with p ≤ p_(k*) is significant at α.
/// The bin is sign(z) × the highest level reached. NaN p-values count in n but are never significant.
pub fn benjamini_hochberg_bins(z: &[f64], p_two_sided: &[f64]) -> Vec<i8> {
    let n = p_two_sided.len();
    let mut sorted: Vec<f64> = p_two_sided.iter().copied().filter(|p| p.is_finite()).collect();
    sorted.sort_by(f64::total_cmp);
    let cutoff = |alpha: f64| -> Option<f64> {
        let mut best = None;
        for (k, p) in sorted.iter().enumerate() {
            if *p <= alpha * (k + 1) as f64 / n as f64 {
                best = Some(*p);
            }
        }
        best
    };
    let cuts = [(3i8, cutoff(0.01)), (2, cutoff(0.05)), (1, cutoff(0.10))];
    z.iter()
        .zip(p_two_sided)
        .map(|(z, p)| {
            let level = cuts.iter().find(|(_, c)| c.is_some_and(|c| p.is_finite() && *p <= c)).map(|(l, _)| *l).unwrap_or(0);
            if *z > 0.0 {
                level
            } else if *z < 0.0 {
                -level
            } else {
                0
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bins_follow_the_arcgis_confidence_levels() {
        assert_eq!(confidence_bin(2.7, 0.007), 3);
        assert_eq!(confidence_bin(-2.0, 0.045), -2);
        assert_eq!(confidence_bin(1.7, 0.09), 1);
        assert_eq!(confidence_bin(1.0, 0.3), 0);
    }

    #[test]
    fn fdr_keeps_only_what_survives_the_step_up_rule() {
        // n = 4: cut-offs at 0.05 are 0.0125, 0.025, 0.0375, 0.05.
        let p = [0.001, 0.03, 0.04, 0.2];
        let z = [3.0, -2.2, 2.1, 1.0];
        // At 0.05: p_(3) = 0.04 > 0.0375, p_(2) = 0.03 > 0.025, p_(1) ≤ 0.0125 -> only the first.
        // At 0.10: 0.04 ≤ 0.075 -> first three; at 0.01: 0.001 ≤ 0.0025 -> first.
        assert_eq!(benjamini_hochberg_bins(&z, &p), vec![3, -1, 1, 0]);
    }
}
