//! What the picture knows about one area.

use super::Latest;
use crate::classify::est::WeekStatus;
use crate::classify::housing::HousingClass;
use crate::classify::index::IndexRow;
use crate::model::{Area, Category};
use std::collections::{BTreeMap, HashMap};

#[derive(Debug, Clone)]
pub struct AreaFacts {
    pub area: Area,
    pub population: Option<f64>,
    /// Latest value and its year of each indicator.
    pub indicators: BTreeMap<String, (i32, f64)>,
    /// Point-precision incidents in the area.
    pub incidents: u64,
    pub by_category: BTreeMap<Category, u64>,
    pub eb_per_1000: Option<f64>,
    pub seb_per_1000: Option<f64>,
    pub gi_z: Option<f64>,
    /// Two-sided normal p of the Gi* z.
    pub gi_p: Option<f64>,
    /// ArcGIS confidence bin −3…3, FDR-corrected.
    pub gi_bin: Option<i8>,
    pub index: Option<IndexRow>,
    pub housing: HousingClass,
    /// SCB's områdestyp 1–5 (inherited from the RegSO).
    pub omradestyp: Option<u8>,
    /// EST status of the last week with incidents.
    pub est: Option<WeekStatus>,
}

impl AreaFacts {
    pub(super) fn new(area: Area, population: &HashMap<String, f64>, latest: &Latest) -> AreaFacts {
        let indicators = latest.get(&area.deso).cloned().unwrap_or_default();
        let omradestyp = indicators.get("omradestyp").map(|(_, v)| *v as u8);
        AreaFacts {
            population: population.get(&area.deso).copied(),
            area,
            indicators,
            incidents: 0,
            by_category: BTreeMap::new(),
            eb_per_1000: None,
            seb_per_1000: None,
            gi_z: None,
            gi_p: None,
            gi_bin: None,
            index: None,
            housing: HousingClass::default(),
            omradestyp,
            est: None,
        }
    }

    /// The latest value of an indicator.
    pub fn latest(&self, name: &str) -> Option<f64> {
        self.indicators.get(name).map(|(_, v)| *v)
    }

    /// Crude incidents per 1,000 residents.
    pub fn per_1000(&self) -> Option<f64> {
        self.population.filter(|p| *p > 0.0).map(|p| 1000.0 * self.incidents as f64 / p)
    }
}
