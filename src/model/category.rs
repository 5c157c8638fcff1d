//! Canonical incident categories (the EST problem picture) and the mapping from free-text labels.

use super::fold;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::Path;

/// Canonical incident categories. The first group is the local problem picture of the EST
/// lägesbild (PRODUCT.md); the second covers what police API events report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    Skjutning,
    Sprangning,
    Upplopp,
    Inbrott,
    AnlagdBrand,
    Klotter,
    Skadegorelse,
    Nedskrapning,
    OppenDrogscen,
    Narkotika,
    OtrygghetsskapandeSamling,
    StokILokaler,
    Storningsarende,
    KriminellPaverkan,
    Vald,
    Ran,
    Stold,
    Brand,
    Trafik,
    Ovrigt,
}

impl Category {
    pub const ALL: [Category; 20] = [
        Category::Skjutning,
        Category::Sprangning,
        Category::Upplopp,
        Category::Inbrott,
        Category::AnlagdBrand,
        Category::Klotter,
        Category::Skadegorelse,
        Category::Nedskrapning,
        Category::OppenDrogscen,
        Category::Narkotika,
        Category::OtrygghetsskapandeSamling,
        Category::StokILokaler,
        Category::Storningsarende,
        Category::KriminellPaverkan,
        Category::Vald,
        Category::Ran,
        Category::Stold,
        Category::Brand,
        Category::Trafik,
        Category::Ovrigt,
    ];

    /// The machine name stored in the GeoPackage and used in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Skjutning => "skjutning",
            Category::Sprangning => "sprangning",
            Category::Upplopp => "upplopp",
            Category::Inbrott => "inbrott",
            Category::AnlagdBrand => "anlagd_brand",
            Category::Klotter => "klotter",
            Category::Skadegorelse => "skadegorelse",
            Category::Nedskrapning => "nedskrapning",
            Category::OppenDrogscen => "oppen_drogscen",
            Category::Narkotika => "narkotika",
            Category::OtrygghetsskapandeSamling => "otrygghetsskapande_samling",
            Category::StokILokaler => "stok_i_lokaler",
            Category::Storningsarende => "storningsarende",
            Category::KriminellPaverkan => "kriminell_paverkan",
            Category::Vald => "vald",
            Category::Ran => "ran",
            Category::Stold => "stold",
            Category::Brand => "brand",
            Category::Trafik => "trafik",
            Category::Ovrigt => "ovrigt",
        }
    }

    /// Swedish display name for maps and reports.
    pub fn label_sv(self) -> &'static str {
        match self {
            Category::Skjutning => "Skjutning",
            Category::Sprangning => "Sprängning",
            Category::Upplopp => "Upplopp",
            Category::Inbrott => "Inbrott",
            Category::AnlagdBrand => "Anlagd brand",
            Category::Klotter => "Klotter",
            Category::Skadegorelse => "Skadegörelse",
            Category::Nedskrapning => "Nedskräpning",
            Category::OppenDrogscen => "Öppen drogscen",
            Category::Narkotika => "Narkotikabruk och försäljning",
            Category::OtrygghetsskapandeSamling => "Otrygghetsskapande samling",
            Category::StokILokaler => "Stök i affärer/lokaler",
            Category::Storningsarende => "Störningsärende",
            Category::KriminellPaverkan => "Kriminell påverkan",
            Category::Vald => "Våld",
            Category::Ran => "Rån",
            Category::Stold => "Stöld",
            Category::Brand => "Brand",
            Category::Trafik => "Trafik",
            Category::Ovrigt => "Övrigt",
        }
    }

    pub fn from_canonical(s: &str) -> Option<Category> {
        Category::ALL.iter().copied().find(|c| c.as_str() == s)
    }
}

/// A label that no mapping knows.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("unknown category label '{0}' (add it to a --category-map file or use a canonical name)")]
pub struct UnknownCategory(pub String);

/// Maps free-text labels (folded: case, Swedish letters, separators) to canonical categories.
/// The default covers the EST template's wording and the Polisen API event types seen in
/// Stockholm county; a user CSV (`label;category`) extends or overrides it.
#[derive(Debug, Clone)]
pub struct CategoryMap {
    map: HashMap<String, Category>,
}

const DEFAULT_LABELS: &[(&str, Category)] = &[
    ("skjutning", Category::Skjutning),
    ("skjutningar", Category::Skjutning),
    ("skottlossning", Category::Skjutning),
    ("sprangning", Category::Sprangning),
    ("sprangningar", Category::Sprangning),
    ("detonation", Category::Sprangning),
    ("upplopp", Category::Upplopp),
    ("inbrott", Category::Inbrott),
    ("stold inbrott", Category::Inbrott),
    ("anlagd brand", Category::AnlagdBrand),
    ("anlagda brander", Category::AnlagdBrand),
    ("brand anlagd", Category::AnlagdBrand),
    ("klotter", Category::Klotter),
    ("skadegorelse", Category::Skadegorelse),
    ("klotter och skadegorelse", Category::Skadegorelse),
    ("skadegorelse och nedskrapning", Category::Skadegorelse),
    ("nedskrapning", Category::Nedskrapning),
    ("oppen drogscen", Category::OppenDrogscen),
    ("oppna drogscener", Category::OppenDrogscen),
    ("narkotika", Category::Narkotika),
    ("narkotikabrott", Category::Narkotika),
    ("narkotikabruk", Category::Narkotika),
    ("narkotikabruk och forsaljning", Category::Narkotika),
    ("otrygghetsskapande samling", Category::OtrygghetsskapandeSamling),
    ("otrygghetsskapande samlingar", Category::OtrygghetsskapandeSamling),
    ("otrygghetsskapande samlingar av personer", Category::OtrygghetsskapandeSamling),
    ("ungdomsgang", Category::OtrygghetsskapandeSamling),
    ("stok i lokaler", Category::StokILokaler),
    ("stok i affarer", Category::StokILokaler),
    ("stok i affarer bibliotek lokaler", Category::StokILokaler),
    ("stok i affarer bibliotek", Category::StokILokaler),
    ("storningsarende", Category::Storningsarende),
    ("storningsarenden", Category::Storningsarende),
    ("ofredande forargelse", Category::Storningsarende),
    ("brak", Category::Storningsarende),
    ("fylleri lob", Category::Storningsarende),
    ("kriminell paverkan", Category::KriminellPaverkan),
    ("kriminell paverkan pa boende naringsidkare", Category::KriminellPaverkan),
    ("olaga hot", Category::KriminellPaverkan),
    ("vald", Category::Vald),
    ("misshandel", Category::Vald),
    ("misshandel grov", Category::Vald),
    ("mord drap", Category::Vald),
    ("mord drap forsok", Category::Vald),
    ("sexualbrott", Category::Vald),
    ("knivlagen", Category::Vald),
    ("vapenlagen", Category::Vald),
    ("larm overfall", Category::Vald),
    ("ran", Category::Ran),
    ("ran ovrigt", Category::Ran),
    ("ran vapen", Category::Ran),
    ("stold", Category::Stold),
    ("motorfordon stold", Category::Stold),
    ("bedrageri", Category::Stold),
    ("aldringsbrott", Category::Stold),
    ("brand", Category::Brand),
    ("trafik", Category::Trafik),
    ("trafikolycka", Category::Trafik),
    ("trafikolycka personskada", Category::Trafik),
    ("trafikolycka singel", Category::Trafik),
    ("trafikolycka smitning fran", Category::Trafik),
    ("trafikbrott", Category::Trafik),
    ("trafikhinder", Category::Trafik),
    ("rattfylleri", Category::Trafik),
    ("ovrigt", Category::Ovrigt),
    ("kontroll person fordon", Category::Ovrigt),
    ("farligt foremal misstankt", Category::Ovrigt),
    ("efterlyst person", Category::Ovrigt),
    ("forsvunnen person", Category::Ovrigt),
    ("djur", Category::Ovrigt),
    ("arbetsplatsolycka", Category::Ovrigt),
    ("sammanfattning natt", Category::Ovrigt),
    ("sammanfattning kvall och natt", Category::Ovrigt),
];

impl Default for CategoryMap {
    fn default() -> Self {
        let mut map = HashMap::new();
        for c in Category::ALL {
            map.insert(fold(c.as_str()), c);
            map.insert(fold(c.label_sv()), c);
        }
        for (label, c) in DEFAULT_LABELS {
            map.insert(fold(label), *c);
        }
        CategoryMap { map }
    }
}

/// A category map file that cannot be used; the message names the file and line.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct CategoryMapError(String);

impl CategoryMap {
    /// Default map extended by a CSV file of `label;category` (or comma-separated) rows.
    pub fn with_file(path: &Path) -> Result<CategoryMap, CategoryMapError> {
        let mut me = CategoryMap::default();
        let text = std::fs::read_to_string(path).map_err(|e| CategoryMapError(format!("{}: cannot read category map: {e}", path.display())))?;
        for (i, line) in text.lines().enumerate() {
            let line = line.trim_start_matches('\u{feff}').trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (label, cat) = line
                .split_once(';')
                .or_else(|| line.split_once(','))
                .ok_or_else(|| CategoryMapError(format!("{}:{}: expected 'label;category'", path.display(), i + 1)))?;
            let cat_name = fold(cat).replace(' ', "_");
            if i == 0 && fold(label) == "label" {
                continue;
            }
            let c = Category::from_canonical(&cat_name).ok_or_else(|| {
                CategoryMapError(format!(
                    "{}:{}: '{}' is not a canonical category (one of: {})",
                    path.display(),
                    i + 1,
                    cat.trim(),
                    Category::ALL.map(|c| c.as_str()).join(", ")
                ))
            })?;
            me.map.insert(fold(label), c);
        }
        Ok(me)
    }

    pub fn lookup(&self, label: &str) -> Result<Category, UnknownCategory> {
        let key = fold(label).replace(',', "");
        let key = key.split_whitespace().collect::<Vec<_>>().join(" ");
        self.map.get(&key).or_else(|| self.map.get(&key.replace(' ', "_"))).copied().ok_or_else(|| UnknownCategory(label.trim().to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn est_and_police_labels_map_to_canonical_categories() {
        let m = CategoryMap::default();
        assert_eq!(m.lookup("Otrygghetsskapande samlingar av personer"), Ok(Category::OtrygghetsskapandeSamling));
        assert_eq!(m.lookup("anlagd_brand"), Ok(Category::AnlagdBrand));
        assert_eq!(m.lookup("Mord/dråp, försök"), Ok(Category::Vald));
        assert_eq!(m.lookup("Skottlossning"), Ok(Category::Skjutning));
        assert_eq!(m.lookup("KLOTTER"), Ok(Category::Klotter));
    }

    #[test]
    fn an_unknown_label_is_reported_as_written() {
        let m = CategoryMap::default();
        assert_eq!(m.lookup(" Ufo-observation "), Err(UnknownCategory("Ufo-observation".into())));
    }
}
