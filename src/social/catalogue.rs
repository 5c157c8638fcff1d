//! The indicator catalogue (`indicators.toml`): a Swedish label, unit, source, direction and
//! aggregation rule per indicator. Indicators the catalogue does not list are still usable: they
//! get their own name as label and the rule for their kind.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// The catalogue shipped with lagesbild (the repository's `indicators.toml`).
const BUILT_IN: &str = include_str!("../../indicators.toml");

#[derive(Debug, thiserror::Error)]
pub enum CatalogueError {
    #[error("cannot read the indicator catalogue {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("the indicator catalogue {path} is not valid: {reason}")]
    Parse { path: String, reason: String },
}

/// How a plan area's value is made from the values of the DeSO it touches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Aggregate {
    /// Counts of people or dwellings: Σ value × area share (residents assumed evenly spread).
    Sum,
    /// Shares and rates of residents: mean weighted by residents × area share.
    PopulationMean,
    /// Measures of the ground itself: mean weighted by the DeSO's area inside the plan area.
    AreaMean,
    /// Classes (områdestyp): listed per DeSO, never averaged.
    None,
}

impl Aggregate {
    /// How the value was made, in words for the profile.
    pub fn describe_sv(self) -> &'static str {
        match self {
            Aggregate::Sum => "summa av DeSO-värde × ytandel",
            Aggregate::PopulationMean => "befolkningsviktat medelvärde (invånare × ytandel)",
            Aggregate::AreaMean => "ytviktat medelvärde (yta inom planområdet)",
            Aggregate::None => "klass per DeSO, inget medelvärde",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    HigherIsBetter,
    HigherIsWorse,
    #[default]
    Neutral,
}

/// One indicator's metadata.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IndicatorMeta {
    pub name: String,
    pub label: String,
    #[serde(default)]
    pub unit: String,
    pub aggregate: Aggregate,
    #[serde(default)]
    pub direction: Direction,
    #[serde(default)]
    pub source: String,
    #[serde(default)]
    pub owner: String,
    #[serde(default)]
    pub target: Option<f64>,
    /// Counts from social services: hidden below the privacy threshold for roles below analyst.
    #[serde(default)]
    pub social_services: bool,
}

#[derive(Deserialize)]
struct File {
    #[serde(default)]
    indicator: Vec<IndicatorMeta>,
}

#[derive(Debug, Clone)]
pub struct Catalogue {
    by_name: BTreeMap<String, IndicatorMeta>,
}

impl Default for Catalogue {
    fn default() -> Self {
        Catalogue::parse(BUILT_IN, "indicators.toml (inbyggd)").expect("the built-in catalogue parses (tested)")
    }
}

impl Catalogue {
    pub fn parse(text: &str, path: &str) -> Result<Catalogue, CatalogueError> {
        let f: File = toml::from_str(text).map_err(|e| CatalogueError::Parse { path: path.into(), reason: e.to_string() })?;
        Ok(Catalogue { by_name: f.indicator.into_iter().map(|m| (m.name.clone(), m)).collect() })
    }

    /// The built-in catalogue with the entries of a file added or replaced.
    pub fn load(path: &Path) -> Result<Catalogue, CatalogueError> {
        let text = std::fs::read_to_string(path).map_err(|source| CatalogueError::Read { path: path.display().to_string(), source })?;
        let extra = Catalogue::parse(&text, &path.display().to_string())?;
        let mut c = Catalogue::default();
        c.by_name.extend(extra.by_name);
        Ok(c)
    }

    /// The metadata of an indicator; one the catalogue does not list gets its name as label and
    /// the rule for its kind (counts summed, everything else a population-weighted mean).
    pub fn get(&self, name: &str) -> IndicatorMeta {
        if let Some(m) = self.by_name.get(name) {
            return m.clone();
        }
        let count = name.starts_with("tenure_") || name.ends_with("_count") || name.starts_with("n_");
        IndicatorMeta {
            name: name.to_string(),
            label: crate::profile::indicator_label_sv(name),
            unit: String::new(),
            aggregate: if count { Aggregate::Sum } else { Aggregate::PopulationMean },
            direction: Direction::Neutral,
            source: String::new(),
            owner: String::new(),
            target: None,
            social_services: false,
        }
    }

    /// The label with its unit, as a table row shows it: "Låg ekonomisk standard (%)".
    pub fn label_with_unit(&self, name: &str) -> String {
        let m = self.get(name);
        if m.unit.is_empty() {
            m.label
        } else {
            format!("{} ({})", m.label, m.unit)
        }
    }

    pub fn is_social_services(&self, name: &str) -> bool {
        self.by_name.get(name).is_some_and(|m| m.social_services)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_catalogue_parses_and_labels_low_economic_standard_in_swedish() {
        let c = Catalogue::default();
        assert_eq!(c.label_with_unit("low_econ"), "Låg ekonomisk standard (%)");
        assert_eq!(c.get("tenure_hyresratt").aggregate, Aggregate::Sum);
        assert!(c.is_social_services("orosanmalningar"));
    }

    #[test]
    fn an_unlisted_indicator_keeps_its_name_and_is_averaged_by_population() {
        let m = Catalogue::default().get("trygghet_kvall");
        assert_eq!((m.label.as_str(), m.aggregate), ("trygghet_kvall", Aggregate::PopulationMean));
    }

    #[test]
    fn a_file_adds_an_indicator_to_the_built_in_ones() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("extra.toml");
        std::fs::write(&p, "[[indicator]]\nname = \"nojd\"\nlabel = \"Nöjda invånare\"\nunit = \"%\"\naggregate = \"population_mean\"\n").unwrap();
        let c = Catalogue::load(&p).unwrap();
        assert_eq!(c.label_with_unit("nojd"), "Nöjda invånare (%)");
        assert_eq!(c.label_with_unit("low_econ"), "Låg ekonomisk standard (%)");
    }

    #[test]
    fn an_unknown_aggregation_rule_is_refused_with_the_file_named() {
        let e = Catalogue::parse("[[indicator]]\nname = \"x\"\nlabel = \"X\"\naggregate = \"median\"\n", "x.toml").unwrap_err();
        assert!(e.to_string().contains("x.toml"), "{e}");
    }
}
