//! Survey results (trygghetsmätningar, NTU, Stockholmsenkäten) at their own geography:
//! polisområde, kommundel, a group of DeSO. Each row is a share of respondents with its sample
//! size, optionally split by sex and age group; it is shown with a 95 % Wilson interval and a
//! warning when the sample is under [`SMALL_SAMPLE`]. Women's and men's values of the same
//! question, area and year are put side by side.

use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;

/// Below this many respondents a share is too uncertain to read without a warning.
pub const SMALL_SAMPLE: u32 = 30;

#[derive(Debug, thiserror::Error)]
pub enum SurveyError {
    #[error(transparent)]
    Read(#[from] crate::io::IoError),
    #[error("{file}: {} problem(s), nothing was read; first: {}", .problems.len(), .problems.first().map(String::as_str).unwrap_or(""))]
    Invalid { file: String, problems: Vec<String> },
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SurveyRow {
    /// The survey's geography: `lokalpolisomrade`, `kommundel`, `deso_grupp`, …
    pub geography: String,
    pub area: String,
    pub question: String,
    pub year: i32,
    /// `kvinna`, `man` or `alla`.
    pub sex: String,
    /// An age group as the survey gives it (`16-29`), or `alla`.
    pub age_group: String,
    pub n: u32,
    /// Share of respondents, in percent.
    pub share_pct: f64,
    pub source: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct SurveyValue {
    #[serde(flatten)]
    pub row: SurveyRow,
    pub ci_low_pct: f64,
    pub ci_high_pct: f64,
    pub small_sample: bool,
    pub warning: Option<String>,
}

/// The 95 % Wilson score interval of a share `p` (0–1) from `n` answers, as (low, high).
pub fn wilson(p: f64, n: u32) -> (f64, f64) {
    let z = 1.959_963_984_540_054_f64;
    let n = n as f64;
    let denom = 1.0 + z * z / n;
    let centre = (p + z * z / (2.0 * n)) / denom;
    let half = z / denom * (p * (1.0 - p) / n + z * z / (4.0 * n * n)).sqrt();
    ((centre - half).max(0.0), (centre + half).min(1.0))
}

impl SurveyValue {
    pub fn new(row: SurveyRow) -> SurveyValue {
        let (lo, hi) = wilson(row.share_pct / 100.0, row.n);
        let small = row.n < SMALL_SAMPLE;
        SurveyValue {
            ci_low_pct: 100.0 * lo,
            ci_high_pct: 100.0 * hi,
            small_sample: small,
            warning: small.then(|| format!("Litet urval (n = {} < {SMALL_SAMPLE}): värdet är mycket osäkert.", row.n)),
            row,
        }
    }
}

fn field<'a>(r: &'a crate::io::Record, names: &[&str]) -> Option<&'a str> {
    names.iter().find_map(|n| r.get(n)).map(str::trim).filter(|s| !s.is_empty())
}

/// Why one CSV row cannot be read.
#[derive(Debug, thiserror::Error)]
enum RowProblem {
    #[error("missing {0}")]
    Missing(&'static str),
    #[error("n: '{0}' is not a whole number")]
    Count(String),
    #[error("n: a share of no answers")]
    NoAnswers,
    #[error("share: '{0}' is not a number")]
    Share(String),
    #[error("share: {0} is a percentage and must lie in 0–100")]
    ShareRange(f64),
    #[error("sex: '{0}' is not kvinna, man or alla")]
    Sex(String),
    #[error("year: '{0}' is not a year")]
    Year(String),
}

/// One CSV row, or the reason it cannot be read.
fn row_of(r: &crate::io::Record, source: &str) -> Result<SurveyRow, RowProblem> {
    let need = |names: &[&'static str]| field(r, names).ok_or(RowProblem::Missing(names[0]));
    let n_text = need(&["n", "antal_svar", "urval"])?;
    let n: u32 = n_text.parse().map_err(|_| RowProblem::Count(n_text.into()))?;
    if n == 0 {
        return Err(RowProblem::NoAnswers);
    }
    let share_text = need(&["share", "andel", "andel_pct"])?;
    let share_pct = crate::io::parse_number(share_text).ok_or_else(|| RowProblem::Share(share_text.into()))?;
    if !(0.0..=100.0).contains(&share_pct) {
        return Err(RowProblem::ShareRange(share_pct));
    }
    let year_text = need(&["year", "år", "ar"])?;
    let sex = field(r, &["sex", "kön", "kon"]).unwrap_or("alla").to_lowercase();
    if !["kvinna", "man", "alla"].contains(&sex.as_str()) {
        return Err(RowProblem::Sex(sex));
    }
    Ok(SurveyRow {
        geography: need(&["geography", "geografi", "områdestyp_enkät"])?.to_string(),
        area: need(&["area", "område", "omrade"])?.to_string(),
        question: need(&["question", "fråga", "fraga"])?.to_string(),
        year: year_text.parse().map_err(|_| RowProblem::Year(year_text.into()))?,
        sex,
        age_group: field(r, &["age_group", "ålder", "alder", "åldersgrupp"]).unwrap_or("alla").to_string(),
        n,
        share_pct,
        source: field(r, &["source", "källa", "kalla"]).unwrap_or(source).to_string(),
    })
}

/// Reads a survey CSV (semicolon or comma, decimal comma or point); any bad row rejects the file.
pub fn read(path: &Path, source: &str) -> Result<Vec<SurveyRow>, SurveyError> {
    let (_, records) = crate::io::read_csv(path)?;
    let mut rows = Vec::new();
    let mut problems = Vec::new();
    for r in &records {
        match row_of(r, source) {
            Ok(row) => rows.push(row),
            Err(why) => problems.push(format!("{}: {why}", r.location)),
        }
    }
    if problems.is_empty() {
        Ok(rows)
    } else {
        Err(SurveyError::Invalid { file: path.display().to_string(), problems })
    }
}

/// Women's and men's values of one question, area, year and age group side by side.
#[derive(Debug, Clone, Serialize)]
pub struct BySex {
    pub area: String,
    pub question: String,
    pub year: i32,
    pub age_group: String,
    pub women: Option<SurveyValue>,
    pub men: Option<SurveyValue>,
    pub all: Option<SurveyValue>,
}

/// Rows filtered by area and question (case-insensitive; None: all), grouped by sex.
pub fn side_by_side(rows: &[SurveyRow], area: Option<&str>, question: Option<&str>) -> Vec<BySex> {
    let want = |have: &str, q: Option<&str>| q.is_none_or(|q| crate::model::fold(q) == crate::model::fold(have));
    let mut groups: BTreeMap<(String, String, i32, String), BySex> = BTreeMap::new();
    for r in rows.iter().filter(|r| want(&r.area, area) && want(&r.question, question)) {
        let key = (r.area.clone(), r.question.clone(), r.year, r.age_group.clone());
        let g = groups.entry(key).or_insert_with(|| BySex {
            area: r.area.clone(),
            question: r.question.clone(),
            year: r.year,
            age_group: r.age_group.clone(),
            women: None,
            men: None,
            all: None,
        });
        let v = Some(SurveyValue::new(r.clone()));
        match r.sex.as_str() {
            "kvinna" => g.women = v,
            "man" => g.men = v,
            _ => g.all = v,
        }
    }
    groups.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wilson_interval_of_50_out_of_100_matches_statsmodels() {
        // statsmodels.stats.proportion.proportion_confint(50, 100, method="wilson")
        // = (0.40383153, 0.59616847).
        let (lo, hi) = wilson(0.5, 100);
        assert!((lo - 0.403_831_53).abs() < 1e-8 && (hi - 0.596_168_47).abs() < 1e-8, "{lo} {hi}");
    }

    #[test]
    fn a_share_from_fewer_than_30_answers_carries_the_small_sample_warning() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("trygg.csv");
        std::fs::write(
            &p,
            "geografi;område;fråga;år;kön;n;andel\nlokalpolisområde;Sollentuna;trygg_kvall;2024;kvinna;412;61,2\nlokalpolisområde;Sollentuna;trygg_kvall;2024;man;12;80\n",
        )
        .unwrap();
        let rows = read(&p, "Polisens trygghetsmätning").unwrap();
        let g = side_by_side(&rows, Some("sollentuna"), None);
        assert_eq!(g.len(), 1);
        let (w, m) = (g[0].women.as_ref().unwrap(), g[0].men.as_ref().unwrap());
        assert_eq!((w.small_sample, w.warning.is_none()), (false, true));
        assert!(m.small_sample);
        assert!(m.warning.as_ref().unwrap().contains("n = 12 < 30"));
        assert!((w.row.share_pct - 61.2).abs() < 1e-12);
    }

    #[test]
    fn a_file_with_a_bad_share_is_refused_whole_with_the_line_named() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("bad.csv");
        std::fs::write(&p, "geografi;område;fråga;år;n;andel\nkommundel;Tureberg;trygg;2024;100;50\nkommundel;Tureberg;trygg;2025;100;150\n").unwrap();
        let e = read(&p, "").unwrap_err().to_string();
        assert!(e.contains("bad.csv:3") && e.contains("0–100"), "{e}");
    }
}
