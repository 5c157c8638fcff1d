//! Områdestyp 1–5. SCB/Delmos classify RegSO areas (table 000005QX / TAB6586); a DeSO takes its
//! RegSO's type through SCB's DeSO→RegSO key. The type table names areas as
//! "Kommunnamn (RegSO-namn)" and has no codes, so the join is by name: case, Swedish letters,
//! dashes and spacing are folded before comparing, and every name that does not match is
//! reported, never dropped silently.
//!
//! SCB's cut-offs between the types are not published. [`derive_types`] classifies a computed
//! socioeconomic index by a configurable rule (mean ± k·SD) and its result is always labelled
//! "derived", never presented as SCB's type.

use crate::model::fold;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum OmradestypError {
    #[error("{file}:{line}: {reason}")]
    Row { file: String, line: usize, reason: String },
    #[error("{file}: {reason}")]
    File { file: String, reason: String },
}

/// One row of SCB's type table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RegsoType {
    pub kommun_name: String,
    pub regso_name: String,
    pub typ: u8,
}

/// One row of SCB's DeSO→RegSO key.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KeyRow {
    pub kommun: String,
    pub kommun_name: String,
    pub deso: String,
    pub regso_name: String,
    pub regso: String,
}

fn file_name(p: &Path) -> String {
    p.file_name().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default()
}

/// Reads SCB's export: a header line, rows `"Kommun (RegSO)",typ`, then footnotes (ignored).
/// Returns the rows and the year in the header, if any.
pub fn read_types(path: &Path) -> Result<(Vec<RegsoType>, Option<i32>), OmradestypError> {
    let file = file_name(path);
    let text = std::fs::read_to_string(path).map_err(|e| OmradestypError::File { file: file.clone(), reason: e.to_string() })?;
    let mut lines = text.trim_start_matches('\u{feff}').lines().enumerate();
    let year = lines.next().and_then(|(_, h)| h.rsplit(',').next()).and_then(|y| y.trim().trim_matches('"').parse().ok());
    let mut rows = Vec::new();
    for (i, line) in lines {
        let line = line.trim();
        let Some((name, typ)) = line.rsplit_once(',') else { break };
        let name = name.trim().trim_matches('"');
        let typ = typ.trim();
        if name.is_empty() || typ.is_empty() {
            break; // the footnote block starts
        }
        let (Some(open), true) = (name.find(" ("), name.ends_with(')')) else {
            return Err(OmradestypError::Row { file, line: i + 1, reason: format!("'{name}' is not 'Kommun (RegSO)'") });
        };
        let typ: u8 = match typ.parse() {
            Ok(t @ 1..=5) => t,
            _ => return Err(OmradestypError::Row { file, line: i + 1, reason: format!("områdestyp '{typ}' is not 1–5") }),
        };
        rows.push(RegsoType { kommun_name: name[..open].to_string(), regso_name: name[open + 2..name.len() - 1].to_string(), typ });
    }
    if rows.is_empty() {
        return Err(OmradestypError::File { file, reason: "no 'Kommun (RegSO)',typ rows".into() });
    }
    Ok((rows, year))
}

/// The type a DeSO inherits, with where it came from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Inherited {
    pub deso: String,
    /// The DeSO 2018 code used for the key (a DeSO 2025 split uses its 2018 parent).
    pub key_deso: String,
    pub regso: String,
    pub regso_name: String,
    pub typ: u8,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Inheritance {
    pub per_deso: BTreeMap<String, Inherited>,
    /// RegSO names in the key (for the requested DeSO) with no row in the type table.
    pub unmatched_regso: Vec<String>,
    /// DeSO codes not found in the key, even through a 2018 parent.
    pub unmatched_deso: Vec<String>,
    /// Type-table rows of the requested municipalities that no key row names.
    pub unused_type_rows: Vec<String>,
}

fn name_key(kommun: &str, regso: &str) -> (String, String) {
    (fold(kommun), fold(regso))
}

/// DeSO 2025 splits keep the 2018 code's first eight characters (0163C1011/1012 ← 0163C1010).
fn parent_2018(code: &str) -> String {
    let mut p = code[..code.len() - 1].to_string();
    p.push('0');
    p
}

pub fn inherit(types: &[RegsoType], key: &[KeyRow], desos: &[&str]) -> Inheritance {
    let by_name: HashMap<(String, String), &RegsoType> = types.iter().map(|t| (name_key(&t.kommun_name, &t.regso_name), t)).collect();
    let by_deso: HashMap<&str, &KeyRow> = key.iter().map(|k| (k.deso.as_str(), k)).collect();
    let mut out = Inheritance::default();
    let mut used: std::collections::HashSet<(String, String)> = Default::default();
    let mut kommuner: std::collections::BTreeSet<String> = Default::default();
    for &d in desos {
        let row = by_deso.get(d).map(|r| (d.to_string(), *r)).or_else(|| {
            let p = parent_2018(d);
            by_deso.get(p.as_str()).map(|r| (p.clone(), *r))
        });
        let Some((key_deso, row)) = row else {
            out.unmatched_deso.push(d.to_string());
            continue;
        };
        kommuner.insert(fold(&row.kommun_name));
        let k = name_key(&row.kommun_name, &row.regso_name);
        match by_name.get(&k) {
            Some(t) => {
                used.insert(k);
                out.per_deso.insert(
                    d.to_string(),
                    Inherited { deso: d.to_string(), key_deso, regso: row.regso.clone(), regso_name: row.regso_name.clone(), typ: t.typ },
                );
            }
            None => {
                let label = format!("{} ({})", row.kommun_name, row.regso_name);
                if !out.unmatched_regso.contains(&label) {
                    out.unmatched_regso.push(label);
                }
            }
        }
    }
    for t in types {
        let k = name_key(&t.kommun_name, &t.regso_name);
        if kommuner.contains(&k.0) && !used.contains(&k) {
            out.unused_type_rows.push(format!("{} ({})", t.kommun_name, t.regso_name));
        }
    }
    out
}

/// SCB's socioeconomic index: the mean of three shares in percent (low economic standard;
/// aged 20–64 with only förgymnasial education; aged 20–64 with long income support or long
/// unemployment). `None` when any part is missing: never imputed.
pub fn socioeconomic_index(low_econ: Option<f64>, low_education: Option<f64>, support_or_unemployment: Option<f64>) -> Option<f64> {
    Some((low_econ? + low_education? + support_or_unemployment?) / 3.0)
}

/// Cut points for derived types, in standard deviations from the mean (higher index = more
/// challenges). Default: type 1 from mean + 1.5 SD, type 2 from + 0.5, type 3 from − 0.5,
/// type 4 from − 1.5, else type 5.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DerivedRule {
    pub k: [f64; 4],
}

impl Default for DerivedRule {
    fn default() -> Self {
        DerivedRule { k: [1.5, 0.5, -0.5, -1.5] }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DerivedType {
    pub index: f64,
    pub typ: u8,
    /// Always "derived (mean ± k·SD), not SCB's official områdestyp".
    pub label: &'static str,
}

pub const DERIVED_LABEL: &str = "derived (mean ± k·SD), not SCB's official områdestyp";

/// Classifies index values (None stays None) by the rule, with mean and SD (divisor n) of the
/// values present.
pub fn derive_types(index: &[Option<f64>], rule: &DerivedRule) -> (Vec<Option<DerivedType>>, f64, f64) {
    let v: Vec<f64> = index.iter().flatten().copied().collect();
    if v.is_empty() {
        return (vec![None; index.len()], f64::NAN, f64::NAN);
    }
    let mean = v.iter().sum::<f64>() / v.len() as f64;
    let sd = (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / v.len() as f64).sqrt();
    let out = index
        .iter()
        .map(|x| {
            x.map(|x| {
                let typ = rule.k.iter().position(|k| x >= mean + k * sd).map(|p| p as u8 + 1).unwrap_or(5);
                DerivedType { index: x, typ, label: DERIVED_LABEL }
            })
        })
        .collect();
    (out, mean, sd)
}

/// Swedish name of a type.
pub fn type_label_sv(t: u8) -> &'static str {
    match t {
        1 => "Stora socioekonomiska utmaningar",
        2 => "Socioekonomiska utmaningar",
        3 => "Socioekonomiskt blandade områden",
        4 => "Goda socioekonomiska förutsättningar",
        5 => "Mycket goda socioekonomiska förutsättningar",
        _ => "Okänd",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_across_case_and_letters_and_unmatched_are_reported() {
        let types = vec![
            RegsoType { kommun_name: "Upplands Väsby".into(), regso_name: "Bollstanäs".into(), typ: 4 },
            RegsoType { kommun_name: "Upplands Väsby".into(), regso_name: "Ingenstans".into(), typ: 2 },
        ];
        let key = vec![
            KeyRow {
                kommun: "0114".into(),
                kommun_name: "Upplands väsby".into(),
                deso: "0114C1010".into(),
                regso_name: "BOLLSTANÄS".into(),
                regso: "0114R001".into(),
            },
            KeyRow {
                kommun: "0114".into(),
                kommun_name: "Upplands Väsby".into(),
                deso: "0114C1020".into(),
                regso_name: "Saknas".into(),
                regso: "0114R002".into(),
            },
        ];
        let r = inherit(&types, &key, &["0114C1010", "0114C1020", "0114C1011", "0114C9990"]);
        assert_eq!(r.per_deso["0114C1010"].typ, 4);
        assert_eq!(r.per_deso["0114C1011"].key_deso, "0114C1010", "a 2025 split inherits from its 2018 parent");
        assert_eq!(r.unmatched_regso, vec!["Upplands Väsby (Saknas)"]);
        assert_eq!(r.unmatched_deso, vec!["0114C9990"]);
        assert_eq!(r.unused_type_rows, vec!["Upplands Väsby (Ingenstans)"]);
    }

    #[test]
    fn the_index_needs_all_three_parts_and_derived_types_follow_the_rule() {
        assert_eq!(socioeconomic_index(Some(30.0), Some(20.0), Some(10.0)), Some(20.0));
        assert_eq!(socioeconomic_index(Some(30.0), None, Some(10.0)), None);
        // Mean 10, SD sqrt(50) ≈ 7.07 over [0, 5, 10, 15, 20, 10]... keep it hand-checkable:
        let idx = [Some(0.0), Some(10.0), Some(20.0), None];
        // mean 10, sd = sqrt(200/3) ≈ 8.165: 20 ≥ 10 + 0.5·8.165 → type 2; 0 < 10 − 0.5·8.165 and ≥ 10 − 1.5·8.165 → 4.
        let (t, mean, _) = derive_types(&idx, &DerivedRule::default());
        assert_eq!(mean, 10.0);
        assert_eq!(t.iter().map(|x| x.as_ref().map(|d| d.typ)).collect::<Vec<_>>(), vec![Some(4), Some(3), Some(2), None]);
        assert_eq!(t[0].as_ref().unwrap().label, DERIVED_LABEL);
    }
}
