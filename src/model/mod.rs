//! Plain data: areas, indicators, incidents and import provenance.
//!
//! Every geometry in this module is in SWEREF 99 TM (EPSG:3006), metres.

mod category;
pub mod number;
pub mod time;

pub use category::{Category, CategoryMap, UnknownCategory};
pub use number::format_number_sv;
pub use time::{iso_week, parse_datetime};

use chrono::NaiveDateTime;
use geo::{MultiPolygon, Point};
use serde::{Deserialize, Serialize};

/// EPSG code of the working CRS. Every distance and area in lagesbild is computed in it.
pub const WORKING_EPSG: u32 = 3006;

/// One statistical area (DeSO), with its RegSO and municipality.
#[derive(Debug, Clone, PartialEq)]
pub struct Area {
    /// DeSO code, e.g. `0163C1170`.
    pub deso: String,
    /// RegSO code, e.g. `0163R005`; empty when the source has none.
    pub regso: String,
    /// RegSO name, e.g. `Edsberg`; empty when unknown.
    pub regso_name: String,
    /// Municipality code (first four digits of the DeSO code).
    pub kommun: String,
    /// DeSO edition, `2018` or `2025`. Codes differ between editions, so it is always explicit.
    pub version: String,
    /// Residents, when the source carries them (used for rates when no indicator row exists).
    pub population: Option<f64>,
    /// Polygon in EPSG:3006.
    pub geometry: MultiPolygon<f64>,
}

/// One indicator value for one area and year (long format, so any source column fits).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IndicatorValue {
    pub deso: String,
    pub year: i32,
    pub indicator: String,
    pub value: f64,
    /// Where the number comes from, e.g. `SCB via am-dashboard-se`.
    pub source: String,
}

/// How exactly an incident is located. Only `exact`, `address` and `street` enter point statistics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    Exact,
    Address,
    Street,
    Area,
    Municipality,
}

impl Precision {
    pub const ALL: [Precision; 5] = [Precision::Exact, Precision::Address, Precision::Street, Precision::Area, Precision::Municipality];

    pub fn as_str(self) -> &'static str {
        match self {
            Precision::Exact => "exact",
            Precision::Address => "address",
            Precision::Street => "street",
            Precision::Area => "area",
            Precision::Municipality => "municipality",
        }
    }

    pub fn parse(s: &str) -> Option<Precision> {
        let s = s.trim().to_lowercase();
        Some(match s.as_str() {
            "exact" | "exakt" | "point" | "punkt" | "gps" => Precision::Exact,
            "address" | "adress" => Precision::Address,
            "street" | "gata" => Precision::Street,
            "area" | "omrade" | "område" | "deso" | "regso" => Precision::Area,
            "municipality" | "kommun" | "county" | "lan" | "län" => Precision::Municipality,
            _ => return None,
        })
    }

    /// Whether a point with this precision may enter point statistics (hotspots, density, joins
    /// to DeSO). Police API events sit on the municipality centroid and would make a false hotspot.
    pub fn is_point_statistic(self) -> bool {
        matches!(self, Precision::Exact | Precision::Address | Precision::Street)
    }
}

/// One reported incident.
#[derive(Debug, Clone, PartialEq)]
pub struct Incident {
    pub id: String,
    pub category: Category,
    /// The label as written in the source, kept for audit.
    pub source_label: String,
    /// Local time (Europe/Stockholm) as reported; date-only input becomes midnight.
    pub occurred_at: NaiveDateTime,
    pub reported_by: String,
    pub precision: Precision,
    pub description: String,
    pub import_id: String,
    /// Location in EPSG:3006.
    pub location: Point<f64>,
}

/// A named area of the municipality's own (kommundel, focus place, temporary insats area), an
/// analysis unit beside DeSO and RegSO.
#[derive(Debug, Clone, PartialEq)]
pub struct Place {
    pub name: String,
    /// `kommundel`, `plats` or `insatsområde`.
    pub kind: String,
    /// Polygon in EPSG:3006.
    pub geometry: MultiPolygon<f64>,
}

/// Provenance of one import.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImportRecord {
    pub import_id: String,
    pub kind: String,
    pub file_name: String,
    pub sha256: String,
    pub imported_at: String,
    pub accepted: u64,
    pub rejected: u64,
    /// Who imported: `cli` from the command line, else the web user's role and token fingerprint.
    #[serde(default)]
    pub imported_by: String,
}

/// Canonical names of the organisations that report to the EST group. Free text is normalised
/// to these where it matches; anything else is kept as written (lower-case).
pub fn normalise_reporter(raw: &str) -> String {
    let folded = fold(raw);
    let known: &[(&str, &[&str])] = &[
        ("polis", &["polis", "polisen", "police", "lpo"]),
        ("kommun", &["kommun", "kommunen", "faltgruppen", "faltarbetare", "fritidsgard", "skola", "bibliotek", "samhallsbyggnad"]),
        ("bostadsbolag", &["bostadsbolag", "sollentunahem", "hyresvard", "bostadsbolaget"]),
        ("raddningstjanst", &["raddningstjanst", "brandkaren", "brandkaren attunda", "brand"]),
        ("sl", &["sl", "kollektivtrafik", "lokaltrafik"]),
        ("vaktare", &["vaktare", "vaktbolag", "securitas", "avarn", "ordningsvakt"]),
        ("fastighetsagare", &["fastighetsagare", "fastighetsbolag"]),
        ("naringsidkare", &["naringsidkare", "butik", "handlare", "butiksagare"]),
        ("invanare", &["invanare", "boende", "medborgare", "allmanhet"]),
    ];
    for (canonical, aliases) in known {
        if aliases.contains(&folded.as_str()) {
            return (*canonical).to_string();
        }
    }
    folded
}

/// Lower-case, trimmed, Swedish letters folded to ASCII, whitespace and dashes collapsed to
/// single spaces. Used to compare labels and column names from hand-made spreadsheets.
pub fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut last_space = true;
    for c in s.trim().chars().flat_map(char::to_lowercase) {
        let c = match c {
            'å' | 'ä' | 'á' | 'à' => 'a',
            'ö' | 'ø' | 'ó' => 'o',
            'é' | 'è' | 'ë' => 'e',
            'ü' => 'u',
            '\u{feff}' => continue,
            '-' | '_' | '/' | '\t' => ' ',
            c => c,
        };
        if c == ' ' {
            if !last_space {
                out.push(' ');
            }
            last_space = true;
        } else {
            out.push(c);
            last_space = false;
        }
    }
    out.trim_end().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fold_removes_swedish_letters_and_case() {
        assert_eq!(fold("  Otrygghetsskapande  Samlingar "), "otrygghetsskapande samlingar");
        assert_eq!(fold("Skadegörelse/klotter"), "skadegorelse klotter");
        assert_eq!(fold("Väktare"), "vaktare");
    }

    #[test]
    fn reporters_are_normalised_to_canonical_names() {
        assert_eq!(normalise_reporter("Sollentunahem"), "bostadsbolag");
        assert_eq!(normalise_reporter("Brandkåren Attunda"), "raddningstjanst");
        assert_eq!(normalise_reporter("Polisen"), "polis");
        assert_eq!(normalise_reporter("Ny aktör"), "ny aktor");
    }
}
