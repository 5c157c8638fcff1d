//! Composite life-conditions index (the analysis model of the background documents: education,
//! employment, income, long-term income support, children and young people, young people
//! neither working nor studying, movers, tenure mix, crowding).
//!
//! Each variable is standardised over the areas that have it (z-score, min–max or percentile
//! rank), turned so that higher is better, weighted, and summed: **higher score = better
//! conditions**; rank 1 = the lowest score (the most challenges); quintile 1 = the lowest fifth.
//! An area missing any variable gets no score and lists what is missing: never imputed.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    HigherIsBetter,
    HigherIsWorse,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Standardisation {
    ZScore,
    MinMax,
    Rank,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IndexVariable {
    pub indicator: String,
    pub direction: Direction,
    #[serde(default = "one")]
    pub weight: f64,
}

fn one() -> f64 {
    1.0
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IndexConfig {
    pub variables: Vec<IndexVariable>,
    pub standardisation: Standardisation,
}

impl Default for IndexConfig {
    /// The variables the demo data has, oriented as the analysis model reads them.
    fn default() -> Self {
        use Direction::*;
        let v = |i: &str, d| IndexVariable { indicator: i.into(), direction: d, weight: 1.0 };
        IndexConfig {
            variables: vec![
                v("higher_ed", HigherIsBetter),
                v("employment", HigherIsBetter),
                v("income", HigherIsBetter),
                v("low_econ", HigherIsWorse),
                v("unemp", HigherIsWorse),
                v("crowding_pct", HigherIsWorse),
            ],
            standardisation: Standardisation::ZScore,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IndexRow {
    pub area: String,
    pub score: Option<f64>,
    /// 1 = lowest score; ties share the lower rank.
    pub rank: Option<usize>,
    /// 1 = lowest fifth of scores.
    pub quintile: Option<u8>,
    /// Weighted, oriented standardised value of each variable (they sum to the score).
    pub contributions: BTreeMap<String, f64>,
    pub missing: Vec<String>,
}

/// `values[area][indicator]`. Areas come out in the input's order.
pub fn composite(values: &BTreeMap<String, BTreeMap<String, f64>>, cfg: &IndexConfig) -> Vec<IndexRow> {
    let mut standardised: BTreeMap<&str, BTreeMap<&str, f64>> = BTreeMap::new();
    for var in &cfg.variables {
        let present: Vec<(&str, f64)> = values.iter().filter_map(|(a, m)| m.get(&var.indicator).filter(|v| v.is_finite()).map(|v| (a.as_str(), *v))).collect();
        let xs: Vec<f64> = present.iter().map(|p| p.1).collect();
        let s = standardise(&xs, cfg.standardisation);
        let sign = if var.direction == Direction::HigherIsBetter { 1.0 } else { -1.0 };
        for ((a, _), v) in present.iter().zip(s) {
            standardised.entry(var.indicator.as_str()).or_default().insert(a, sign * v * var.weight);
        }
    }
    let mut rows: Vec<IndexRow> = values
        .keys()
        .map(|a| {
            let mut contributions = BTreeMap::new();
            let mut missing = Vec::new();
            for var in &cfg.variables {
                match standardised.get(var.indicator.as_str()).and_then(|m| m.get(a.as_str())) {
                    Some(v) => {
                        contributions.insert(var.indicator.clone(), *v);
                    }
                    None => missing.push(var.indicator.clone()),
                }
            }
            let score = missing.is_empty().then(|| contributions.values().sum());
            IndexRow { area: a.clone(), score, rank: None, quintile: None, contributions, missing }
        })
        .collect();
    let mut scored: Vec<f64> = rows.iter().filter_map(|r| r.score).collect();
    scored.sort_by(f64::total_cmp);
    let n = scored.len();
    for r in rows.iter_mut() {
        if let Some(s) = r.score {
            let rank = scored.iter().position(|x| *x == s).unwrap_or(0) + 1;
            r.rank = Some(rank);
            r.quintile = Some(((rank - 1) * 5 / n.max(1)) as u8 + 1);
        }
    }
    rows
}

fn standardise(xs: &[f64], how: Standardisation) -> Vec<f64> {
    let n = xs.len() as f64;
    match how {
        Standardisation::ZScore => {
            let mean = xs.iter().sum::<f64>() / n;
            let sd = (xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n).sqrt();
            xs.iter().map(|x| if sd > 0.0 { (x - mean) / sd } else { 0.0 }).collect()
        }
        Standardisation::MinMax => {
            let (lo, hi) = xs.iter().fold((f64::MAX, f64::MIN), |(l, h), x| (l.min(*x), h.max(*x)));
            xs.iter().map(|x| if hi > lo { (x - lo) / (hi - lo) } else { 0.5 }).collect()
        }
        Standardisation::Rank => {
            // Percentile rank in [0, 1] with the average rank for ties.
            xs.iter()
                .map(|x| {
                    let below = xs.iter().filter(|y| *y < x).count() as f64;
                    let equal = xs.iter().filter(|y| *y == x).count() as f64;
                    if xs.len() > 1 {
                        (below + (equal - 1.0) / 2.0) / (n - 1.0)
                    } else {
                        0.5
                    }
                })
                .collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(rows: &[(&str, &[(&str, f64)])]) -> BTreeMap<String, BTreeMap<String, f64>> {
        rows.iter().map(|(a, kv)| (a.to_string(), kv.iter().map(|(k, v)| (k.to_string(), *v)).collect())).collect()
    }

    fn cfg(std: Standardisation) -> IndexConfig {
        IndexConfig {
            variables: vec![
                IndexVariable { indicator: "edu".into(), direction: Direction::HigherIsBetter, weight: 1.0 },
                IndexVariable { indicator: "crowd".into(), direction: Direction::HigherIsWorse, weight: 2.0 },
            ],
            standardisation: std,
        }
    }

    #[test]
    fn min_max_scores_are_hand_checkable_and_missing_inputs_are_listed() {
        let d = data(&[
            ("A", &[("edu", 10.0), ("crowd", 30.0)]),
            ("B", &[("edu", 30.0), ("crowd", 10.0)]),
            ("C", &[("edu", 20.0), ("crowd", 20.0)]),
            ("D", &[("edu", 20.0)]),
        ]);
        let r = composite(&d, &cfg(Standardisation::MinMax));
        // A: edu 0, crowd −2·1 = −2; B: 1 + 0 = 1; C: 0.5 − 2·0.5 = −0.5.
        assert_eq!(r[0].score, Some(-2.0));
        assert_eq!(r[1].score, Some(1.0));
        assert_eq!(r[2].score, Some(-0.5));
        assert_eq!(r[3].score, None);
        assert_eq!(r[3].missing, vec!["crowd".to_string()]);
        assert_eq!((r[0].rank, r[2].rank, r[1].rank), (Some(1), Some(2), Some(3)));
        assert_eq!(r[0].contributions["crowd"], -2.0);
    }

    #[test]
    fn ties_share_a_rank_and_quintiles_split_by_rank() {
        let d = data(&[
            ("A", &[("edu", 1.0), ("crowd", 1.0)]),
            ("B", &[("edu", 1.0), ("crowd", 1.0)]),
            ("C", &[("edu", 2.0), ("crowd", 1.0)]),
            ("D", &[("edu", 3.0), ("crowd", 1.0)]),
            ("E", &[("edu", 4.0), ("crowd", 1.0)]),
        ]);
        let r = composite(&d, &cfg(Standardisation::ZScore));
        assert_eq!(r.iter().map(|x| x.rank.unwrap()).collect::<Vec<_>>(), vec![1, 1, 3, 4, 5]);
        assert_eq!(r.iter().map(|x| x.quintile.unwrap()).collect::<Vec<_>>(), vec![1, 1, 3, 4, 5]);
        let rk = composite(&d, &cfg(Standardisation::Rank));
        assert_eq!(rk[0].contributions["edu"], rk[1].contributions["edu"], "tied values get the same percentile");
        assert_eq!(rk[0].contributions["edu"], 0.125);
    }
}
