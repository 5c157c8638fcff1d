//! The analysis registry: every statistic that `lagesbild stats …` and `GET /analysis/{id}`
//! offer. Each one declares here, once, its parameters and its output fields; the command line
//! and the service only choose the input (a file, the store, the picture) and write the rows.
//!
//! Adding a statistic: `stats/x.rs` (the method), `analysis/x.rs` (an [`Analysis`]) and one line
//! in [`REGISTRY`].

/// Parameters every area statistic shares. Service defaults: the stored DeSO are simplified, so
/// neighbours need a tolerance of 25 m; 999 permutations from a fixed seed.
macro_rules! area_params {
    ($transform:literal $(, $extra:expr)*) => {
        &[
            $crate::analysis::Param::text("weights", "queen", false),
            $crate::analysis::Param::number("tolerance", 0.0, 500.0, Some("25"), true),
            $crate::analysis::Param::text("transform", $transform, false),
            $crate::analysis::Param::number("permutations", 0.0, 9999.0, Some("999"), true),
            $crate::analysis::Param::number("seed", 0.0, 1e15, Some("20251122"), true),
            $($extra),*
        ]
    };
}

mod density;
mod emerging;
pub mod file;
mod gi;
pub mod hotspots;
pub mod limits;
mod lisa;
mod moran;
mod rates;

pub use file::{build_weights, describe_islands, load, parse_transform, with_results, FileError, Layer, WeightsSpec};
pub use limits::Limits;

use crate::io::{ColumnKind, Value};
use crate::stats::kde::Raster;
use chrono::NaiveDateTime;

#[derive(Debug, thiserror::Error)]
pub enum AnalysisError {
    #[error("no analysis '{0}' ({1})")]
    Unknown(String, String),
    #[error("unknown query parameter '{name}' (allowed: {allowed})")]
    UnknownParam { name: String, allowed: String },
    #[error("{0}")]
    BadParam(String),
    /// The work would exceed the limits; the message says what to change.
    #[error("{0}")]
    TooMuchWork(String),
    #[error("{0}")]
    WrongInput(String),
    #[error("cannot compute hotspots for this selection: {0}")]
    Hotspots(crate::stats::StatsError),
    #[error("{file}: {source}")]
    Rates { file: String, source: crate::stats::smoothing::RateError },
    #[error(transparent)]
    File(#[from] FileError),
    #[error(transparent)]
    Stats(#[from] crate::stats::StatsError),
}

/// What an analysis reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needs {
    /// Incident points (with their time, where known).
    Points,
    /// Areas with one numeric value each (an indicator, a field).
    AreaValues,
    /// Areas with event counts and a population at risk.
    AreaRates,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ParamKind {
    /// A number; `min..=max` is what the service accepts (its work bound).
    Number {
        min: f64,
        max: f64,
    },
    Text,
    Flag,
}

#[derive(Debug, Clone, Copy)]
pub struct Param {
    pub name: &'static str,
    pub kind: ParamKind,
    /// The service's default; the command line passes its own values explicitly.
    pub default: Option<&'static str>,
    /// Offered by the service: only parameters whose work the service can bound.
    pub service: bool,
}

impl Param {
    pub const fn number(name: &'static str, min: f64, max: f64, default: Option<&'static str>, service: bool) -> Param {
        Param { name, kind: ParamKind::Number { min, max }, default, service }
    }
    pub const fn text(name: &'static str, default: &'static str, service: bool) -> Param {
        Param { name, kind: ParamKind::Text, default: Some(default), service }
    }
    pub const fn flag(name: &'static str, service: bool) -> Param {
        Param { name, kind: ParamKind::Flag, default: None, service }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    pub name: &'static str,
    pub kind: ColumnKind,
    /// A count of incidents: hidden below the threshold from public and partner.
    pub count: bool,
}

impl Field {
    pub const fn real(name: &'static str) -> Field {
        Field { name, kind: ColumnKind::Real, count: false }
    }
    pub const fn int(name: &'static str) -> Field {
        Field { name, kind: ColumnKind::Integer, count: false }
    }
    pub const fn text(name: &'static str) -> Field {
        Field { name, kind: ColumnKind::Text, count: false }
    }
    pub const fn count(name: &'static str) -> Field {
        Field { name, kind: ColumnKind::Integer, count: true }
    }
}

/// What an analysis is, reads, takes and gives.
#[derive(Debug, Clone, Copy)]
pub struct About {
    pub id: &'static str,
    pub title: &'static str,
    pub needs: Needs,
    pub params: &'static [Param],
    pub fields: &'static [Field],
}

pub trait Analysis: Sync {
    fn about(&self) -> About;
    fn run(&self, input: &Input, params: &Params, limits: &Limits) -> Result<Output, AnalysisError>;

    fn id(&self) -> &'static str {
        self.about().id
    }
    fn title(&self) -> &'static str {
        self.about().title
    }
    fn needs(&self) -> Needs {
        self.about().needs
    }
    fn params(&self) -> &'static [Param] {
        self.about().params
    }
    fn fields(&self) -> &'static [Field] {
        self.about().fields
    }
}

/// Every analysis, in the order the service lists them.
pub static REGISTRY: &[&dyn Analysis] = &[&hotspots::Hotspots, &density::Density, &emerging::Emerging, &lisa::Lisa, &gi::Gi, &rates::Rates, &moran::Moran];

/// The analysis with this id.
pub fn find(id: &str) -> Result<&'static dyn Analysis, AnalysisError> {
    REGISTRY
        .iter()
        .copied()
        .find(|a| a.id() == id)
        .ok_or_else(|| AnalysisError::Unknown(id.to_string(), REGISTRY.iter().map(|a| a.id()).collect::<Vec<_>>().join(", ")))
}

/// An incident point in EPSG:3006 and, where known, when it happened.
#[derive(Debug, Clone, Copy)]
pub struct Event {
    pub xy: [f64; 2],
    pub at: Option<NaiveDateTime>,
}

/// Areas with their values: `layer.y` is the analysed value (or the event count for rates).
pub struct Areas {
    pub layer: Layer,
    /// Population at risk, for rates; empty otherwise.
    pub population: Vec<f64>,
}

pub enum Input {
    Points(Vec<Event>),
    Areas(Areas),
}

impl Input {
    pub fn events(&self) -> Result<&[Event], AnalysisError> {
        match self {
            Input::Points(p) => Ok(p),
            Input::Areas(_) => Err(AnalysisError::WrongInput("this analysis needs points, not areas".into())),
        }
    }

    pub fn xy(&self) -> Result<Vec<[f64; 2]>, AnalysisError> {
        Ok(self.events()?.iter().map(|e| e.xy).collect())
    }

    pub fn areas(&self) -> Result<&Areas, AnalysisError> {
        match self {
            Input::Areas(a) => Ok(a),
            Input::Points(_) => Err(AnalysisError::WrongInput("this analysis needs areas, not points".into())),
        }
    }
}

/// One result row: for point analyses a cell with its geometry (EPSG:3006), for area analyses
/// the input area of the same position (no geometry: the caller has it). `values` follow
/// [`About::fields`].
#[derive(Debug, Clone)]
pub struct Row {
    pub id: String,
    pub geometry: Option<geo::Geometry<f64>>,
    pub values: Vec<Value>,
}

#[derive(Debug, Clone, Default)]
pub struct Output {
    pub rows: Vec<Row>,
    /// How the result was made (weights, cell sizes, choices), for the record.
    pub parameters: serde_json::Value,
    /// The surface of a density analysis.
    pub raster: Option<Raster>,
    /// Things the user should know (islands without neighbours).
    pub warnings: Vec<String>,
}

impl Output {
    /// The values of one field, in row order.
    pub fn column<'a>(&'a self, fields: &[Field], name: &str) -> impl Iterator<Item = &'a Value> + 'a {
        let k = fields.iter().position(|f| f.name == name);
        self.rows.iter().filter_map(move |r| k.and_then(|k| r.values.get(k)))
    }
}

/// Parameters checked against an analysis's declaration, with its defaults filled in.
#[derive(Debug, Clone, Default)]
pub struct Params {
    values: Vec<(&'static str, String, bool)>,
}

impl Params {
    /// Checks names, types and (for the service) ranges. Unknown names are refused.
    pub fn parse(about: &About, pairs: &[(String, String)], limits: &Limits) -> Result<Params, AnalysisError> {
        let offered: Vec<&Param> = about.params.iter().filter(|p| p.service || !limits.service).collect();
        let mut values = Vec::new();
        for (k, v) in pairs {
            let Some(p) = offered.iter().find(|p| p.name == k.as_str()) else {
                let allowed = offered.iter().map(|p| p.name).collect::<Vec<_>>().join(", ");
                return Err(AnalysisError::UnknownParam { name: k.clone(), allowed });
            };
            check_value(p, v, limits)?;
            values.push((p.name, v.clone(), true));
        }
        for p in &offered {
            if let (Some(d), false) = (p.default, values.iter().any(|(n, _, _)| n == &p.name)) {
                values.push((p.name, d.to_string(), false));
            }
        }
        Ok(Params { values })
    }

    /// The declared defaults only.
    pub fn defaults(about: &About, limits: &Limits) -> Params {
        Params::parse(about, &[], limits).unwrap_or_default()
    }

    fn raw(&self, name: &str) -> Option<&str> {
        self.values.iter().find(|(n, _, _)| *n == name).map(|(_, v, _)| v.as_str())
    }

    pub fn num(&self, name: &str) -> Option<f64> {
        self.raw(name).and_then(|v| v.trim().parse().ok())
    }

    /// A whole number, read as one (a 64-bit seed would lose digits through f64).
    pub fn uint(&self, name: &str) -> Option<u64> {
        self.raw(name).and_then(|v| v.trim().parse().ok().or_else(|| v.trim().parse::<f64>().ok().map(|x| x as u64)))
    }

    pub fn text(&self, name: &str) -> Option<&str> {
        self.raw(name)
    }

    pub fn flag(&self, name: &str) -> bool {
        self.raw(name).is_some_and(is_true)
    }

    /// Given by the caller, not a default.
    pub fn given(&self, name: &str) -> bool {
        self.values.iter().any(|(n, _, explicit)| *n == name && *explicit)
    }
}

fn is_true(v: &str) -> bool {
    matches!(v.trim().to_ascii_lowercase().as_str(), "" | "true" | "1" | "yes")
}

fn check_value(p: &Param, v: &str, limits: &Limits) -> Result<(), AnalysisError> {
    match p.kind {
        ParamKind::Number { min, max } => {
            let x: f64 = v.trim().parse().map_err(|_| AnalysisError::BadParam(format!("{} '{v}' is not a number", p.name)))?;
            if !x.is_finite() || (limits.service && !(min..=max).contains(&x)) {
                return Err(AnalysisError::BadParam(format!("{} must lie in {min}–{max}, got {x}", p.name)));
            }
        }
        ParamKind::Flag => {
            if !matches!(v.trim().to_ascii_lowercase().as_str(), "" | "true" | "1" | "yes" | "false" | "0" | "no") {
                return Err(AnalysisError::BadParam(format!("{} '{v}' is not true or false", p.name)));
            }
        }
        ParamKind::Text => {}
    }
    Ok(())
}

/// A vector of numbers as result values.
pub(crate) fn reals(v: &[f64]) -> impl Iterator<Item = Value> + '_ {
    v.iter().map(|x| Value::from(*x))
}

/// Rows of an area analysis: one per input area, columns given field by field.
pub(crate) fn area_rows(layer: &Layer, columns: Vec<Vec<Value>>) -> Vec<Row> {
    let mut rows: Vec<Row> = (0..layer.y.len()).map(|k| Row { id: k.to_string(), geometry: None, values: Vec::with_capacity(columns.len()) }).collect();
    for col in columns {
        for (row, v) in rows.iter_mut().zip(col) {
            row.values.push(v);
        }
    }
    rows
}

/// Weights over the areas with the `weights` and `tolerance` parameters, islands as warnings.
pub(crate) fn area_weights(layer: &Layer, params: &Params) -> Result<(crate::stats::Weights, f64, Vec<String>), AnalysisError> {
    let spec: WeightsSpec = params.text("weights").unwrap_or("queen").parse()?;
    let tol = params.num("tolerance").unwrap_or(0.0);
    let w = build_weights(layer, &spec, tol)?;
    let warnings = describe_islands(&w, layer).into_iter().collect();
    Ok((w, tol, warnings))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_analysis_is_found_by_its_id_and_ids_are_unique() {
        let mut ids: Vec<&str> = REGISTRY.iter().map(|a| a.id()).collect();
        for id in &ids {
            assert_eq!(find(id).unwrap().id(), *id);
        }
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), REGISTRY.len());
        assert!(matches!(find("nope"), Err(AnalysisError::Unknown(..))));
    }

    #[test]
    fn the_service_refuses_parameters_it_cannot_bound_and_values_out_of_range() {
        let about = find("emerging").unwrap().about();
        let pairs = |k: &str, v: &str| vec![(k.to_string(), v.to_string())];
        assert!(matches!(Params::parse(&about, &pairs("distance", "100"), &Limits::SERVICE), Err(AnalysisError::UnknownParam { .. })));
        assert!(Params::parse(&about, &pairs("distance", "100"), &Limits::NONE).is_ok());
        assert!(matches!(Params::parse(&about, &pairs("cell", "10"), &Limits::SERVICE), Err(AnalysisError::BadParam(_))));
        assert!(matches!(Params::parse(&about, &pairs("cell", "abc"), &Limits::NONE), Err(AnalysisError::BadParam(_))));
        let p = Params::parse(&about, &pairs("cell", "500"), &Limits::SERVICE).unwrap();
        assert_eq!((p.num("cell"), p.given("cell"), p.num("step_days"), p.given("step_days")), (Some(500.0), true, Some(7.0), false));
    }
}
