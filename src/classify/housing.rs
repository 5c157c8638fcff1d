//! Housing classes per area: dominant tenure, tenure mix and crowding class.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct HousingClass {
    /// `hyresratt`, `bostadsratt`, `aganderatt`, or `blandad` when no form has 50 %.
    pub dominant_tenure: String,
    pub rental_share_pct: Option<f64>,
    /// Shannon entropy of the three tenure shares divided by ln 3: 0 = one form only, 1 = even mix.
    pub tenure_diversity: Option<f64>,
    /// `lag`, `medel`, `hog` by [`CrowdingRule`]; None without a crowding value.
    pub crowding_class: Option<&'static str>,
}

/// Crowding class thresholds (% of households crowded). Default: < 10 låg, < 20 medel, else hög.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CrowdingRule {
    pub medium_from_pct: f64,
    pub high_from_pct: f64,
}

impl Default for CrowdingRule {
    fn default() -> Self {
        CrowdingRule { medium_from_pct: 10.0, high_from_pct: 20.0 }
    }
}

/// Dwelling counts (or shares) per tenure form; `uppgift saknas` is left out of the mix.
pub fn classify_housing(
    hyresratt: Option<f64>,
    bostadsratt: Option<f64>,
    aganderatt: Option<f64>,
    crowding_pct: Option<f64>,
    rule: &CrowdingRule,
) -> HousingClass {
    let forms = [("hyresratt", hyresratt), ("bostadsratt", bostadsratt), ("aganderatt", aganderatt)];
    let known: Vec<(&str, f64)> = forms.iter().filter_map(|(n, v)| v.map(|v| (*n, v))).collect();
    let total: f64 = known.iter().map(|x| x.1).sum();
    let (dominant, rental, diversity) = if known.len() == 3 && total > 0.0 {
        let shares: Vec<(&str, f64)> = known.iter().map(|(n, v)| (*n, v / total)).collect();
        let best = shares.iter().copied().fold(("", -1.0), |a, b| if b.1 > a.1 { b } else { a });
        let dom = if best.1 >= 0.5 { best.0.to_string() } else { "blandad".to_string() };
        let h: f64 = -shares.iter().filter(|s| s.1 > 0.0).map(|s| s.1 * s.1.ln()).sum::<f64>();
        (dom, Some(100.0 * shares[0].1), Some(h / 3f64.ln() + 0.0))
    } else {
        ("okand".to_string(), None, None)
    };
    let crowding_class = crowding_pct.map(|c| {
        if c >= rule.high_from_pct {
            "hog"
        } else if c >= rule.medium_from_pct {
            "medel"
        } else {
            "lag"
        }
    });
    HousingClass { dominant_tenure: dominant, rental_share_pct: rental, tenure_diversity: diversity, crowding_class }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenure_and_crowding_classes_are_hand_checkable() {
        let r = CrowdingRule::default();
        let a = classify_housing(Some(60.0), Some(30.0), Some(10.0), Some(24.0), &r);
        assert_eq!((a.dominant_tenure.as_str(), a.rental_share_pct, a.crowding_class), ("hyresratt", Some(60.0), Some("hog")));
        let even = classify_housing(Some(1.0), Some(1.0), Some(1.0), Some(10.0), &r);
        assert_eq!(even.dominant_tenure, "blandad");
        assert!((even.tenure_diversity.unwrap() - 1.0).abs() < 1e-12);
        assert_eq!(even.crowding_class, Some("medel"), "the threshold itself belongs to the higher class");
        let one = classify_housing(Some(0.0), Some(50.0), Some(0.0), None, &r);
        assert_eq!((one.tenure_diversity, one.crowding_class), (Some(0.0), None));
        assert_eq!(classify_housing(None, Some(5.0), Some(5.0), None, &r).dominant_tenure, "okand");
    }
}
