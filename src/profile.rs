//! The social area profile (social lägesbild) of a DeSO or a RegSO: indicators beside the
//! municipality and county, trends, incidents by category, hotspot status, områdestyp, EST
//! weeks, goals and overlap with Polisen's utsatta områden. Rendered as JSON, Swedish-Excel CSV
//! or a printable Swedish HTML page.

use crate::classify::est::{self, EstRule, Period, PeriodCount, WeekStatus};
use crate::classify::goals::{goal_status, Goal, GoalStatus, Overlap, PoliceArea};
use crate::classify::housing::{classify_housing, CrowdingRule, HousingClass};
use crate::classify::index::{composite, IndexConfig, IndexRow};
use crate::classify::omradestyp::type_label_sv;
use crate::model::{fold, Area, Category, Incident, IndicatorValue};
use crate::picture::AreaPicture;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error("no DeSO or RegSO matches '{0}' (use a DeSO code like 0163C1170, a RegSO code like 0163R002 or a RegSO name like Edsberg)")]
    UnknownArea(String),
}

#[derive(Debug, Clone, Serialize)]
pub struct AreaRef {
    /// `deso` or `regso`.
    pub level: &'static str,
    pub code: String,
    pub name: String,
    pub kommun: String,
    pub desos: Vec<String>,
    pub deso_version: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct IndicatorLine {
    pub indicator: String,
    pub label_sv: String,
    pub year: i32,
    pub value: f64,
    pub municipality: Option<f64>,
    pub county: Option<f64>,
    pub source: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct CategoryCount {
    pub category: Category,
    pub label_sv: &'static str,
    /// None when suppressed (a small count in a public view).
    pub count: Option<u64>,
    pub per_1000: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct HotspotLine {
    pub deso: String,
    pub incidents: u64,
    pub gi_z: f64,
    pub gi_bin: i8,
}

#[derive(Debug, Clone, Serialize)]
pub struct Profile {
    pub area: AreaRef,
    pub population: Option<f64>,
    pub omradestyp: Option<u8>,
    pub omradestyp_label: Option<&'static str>,
    pub omradestyp_source: Option<String>,
    pub indicators: Vec<IndicatorLine>,
    pub trends: BTreeMap<String, BTreeMap<i32, f64>>,
    pub housing: HousingClass,
    pub index: Option<IndexRow>,
    pub index_areas: usize,
    pub incidents_total: u64,
    pub incidents_by_category: Vec<CategoryCount>,
    pub incidents_by_quarter: Vec<(String, u64)>,
    pub hotspots: Vec<HotspotLine>,
    pub hotspot_method: String,
    pub est_rule: String,
    pub est_periods: Vec<PeriodCount>,
    pub est_last_week: Option<WeekStatus>,
    pub est_previous_week: Option<WeekStatus>,
    pub goals: Vec<GoalStatus>,
    pub police_areas: Vec<Overlap>,
    pub notes: Vec<String>,
    pub generated: String,
}

pub struct ProfileOptions {
    pub police: Vec<PoliceArea>,
    pub goals: Vec<Goal>,
    pub est_rule: EstRule,
    pub index: IndexConfig,
    pub crowding: CrowdingRule,
    /// Imported places (kommundelar, focus places, insats areas), found by name after DeSO and RegSO.
    pub places: Vec<crate::units::Unit>,
}

impl Default for ProfileOptions {
    fn default() -> Self {
        ProfileOptions {
            police: vec![],
            goals: vec![],
            est_rule: EstRule::default(),
            index: IndexConfig::default(),
            crowding: CrowdingRule::default(),
            places: vec![],
        }
    }
}

/// A place by name: the DeSO it covers (by area share) stand for its indicators; its incidents
/// are those inside its own polygon.
fn resolve_place<'a>(areas: &'a [Area], places: &'a [crate::units::Unit], query: &str) -> Option<(AreaRef, Vec<&'a Area>, &'a crate::units::Unit)> {
    let u = places.iter().find(|u| fold(&u.name) == fold(query.trim()))?;
    let members: Vec<&Area> = areas.iter().filter(|a| u.desos.iter().any(|(d, _)| *d == a.deso)).collect();
    let first = members.first()?;
    let aref = AreaRef {
        level: "place",
        code: u.name.clone(),
        name: format!("{} ({})", u.name, u.kind),
        kommun: first.kommun.clone(),
        desos: members.iter().map(|a| a.deso.clone()).collect(),
        deso_version: first.version.clone(),
    };
    Some((aref, members, u))
}

/// Swedish labels for the indicators the demo and SCB files carry.
pub fn indicator_label_sv(name: &str) -> String {
    match name {
        "population" => "Folkmängd",
        "growth" => "Befolkningsförändring (%)",
        "young" => "Andel barn och unga (%)",
        "single" => "Andel ensamstående (%)",
        "foreign" => "Andel utrikes födda (%)",
        "income" => "Medelinkomst (tkr)",
        "income_med" => "Medianinkomst (tkr)",
        "capital_inc" => "Kapitalinkomst (tkr)",
        "low_econ" => "Låg ekonomisk standard (%)",
        "unemp" => "Arbetslöshet (%)",
        "employment" => "Sysselsättningsgrad (%)",
        "higher_ed" => "Eftergymnasial utbildning (%)",
        "renters" => "Andel hyresrätt (%)",
        "flats" => "Andel lägenheter i flerbostadshus (%)",
        "tenure_hyresratt" => "Bostäder, hyresrätt",
        "tenure_bostadsratt" => "Bostäder, bostadsrätt",
        "tenure_aganderatt" => "Bostäder, äganderätt",
        "tenure_uppgift_saknas" => "Bostäder, uppgift saknas",
        "share_hyresratt" => "Andel hyresrätt av bostäderna (%)",
        "share_bostadsratt" => "Andel bostadsrätt (%)",
        "share_aganderatt" => "Andel äganderätt (%)",
        "share_uppgift_saknas" => "Andel uppgift saknas (%)",
        "crowding_pct" => "Trångbodda hushåll (%)",
        "omradestyp" => "Områdestyp (SCB)",
        other => other,
    }
    .to_string()
}

fn is_count(name: &str) -> bool {
    name == "population" || name.starts_with("tenure_") || name.ends_with("_count")
}

/// Population-weighted mean of shares and rates, sum of counts, over a set of DeSO.
fn aggregate(name: &str, year: i32, desos: &[&str], values: &BTreeMap<(String, String, i32), f64>, pop: &HashMap<String, f64>) -> Option<f64> {
    let vals: Vec<(f64, f64)> =
        desos.iter().filter_map(|d| values.get(&(d.to_string(), name.to_string(), year)).map(|v| (*v, pop.get(*d).copied().unwrap_or(0.0)))).collect();
    if vals.is_empty() {
        return None;
    }
    if is_count(name) {
        return Some(vals.iter().map(|v| v.0).sum());
    }
    // Tenure shares of several areas come from the summed dwelling counts, not from a mean of
    // shares (SCB's `renters` is 100 · hyresrätt / all dwellings, the same as share_hyresratt).
    let form = match name {
        "renters" => Some("hyresratt"),
        n => n.strip_prefix("share_"),
    };
    if let (Some(form), true) = (form, desos.len() > 1) {
        let sum = |f: &str| -> Option<f64> {
            let v: Vec<f64> = desos.iter().filter_map(|d| values.get(&(d.to_string(), format!("tenure_{f}"), year)).copied()).collect();
            (v.len() == desos.len()).then(|| v.iter().sum())
        };
        let forms = ["hyresratt", "bostadsratt", "aganderatt", "uppgift_saknas"];
        if let (Some(part), Some(total)) = (sum(form), forms.iter().map(|f| sum(f)).sum::<Option<f64>>()) {
            if total > 0.0 {
                return Some(100.0 * part / total);
            }
        }
    }
    let w: f64 = vals.iter().map(|v| v.1).sum();
    if w > 0.0 {
        Some(vals.iter().map(|v| v.0 * v.1).sum::<f64>() / w)
    } else {
        Some(vals.iter().map(|v| v.0).sum::<f64>() / vals.len() as f64)
    }
}

/// Resolves a DeSO code, RegSO code or RegSO name among the newest edition's areas.
pub fn resolve<'a>(areas: &'a [Area], query: &str) -> Option<(AreaRef, Vec<&'a Area>)> {
    let q = query.trim();
    if let Some(a) = areas.iter().find(|a| a.deso.eq_ignore_ascii_case(q)) {
        let name = if a.regso_name.is_empty() { a.deso.clone() } else { format!("{} ({})", a.deso, a.regso_name) };
        return Some((
            AreaRef { level: "deso", code: a.deso.clone(), name, kommun: a.kommun.clone(), desos: vec![a.deso.clone()], deso_version: a.version.clone() },
            vec![a],
        ));
    }
    let members: Vec<&Area> =
        areas.iter().filter(|a| a.regso.eq_ignore_ascii_case(q) || (!a.regso_name.is_empty() && fold(&a.regso_name) == fold(q))).collect();
    let first = members.first()?;
    Some((
        AreaRef {
            level: "regso",
            code: first.regso.clone(),
            name: first.regso_name.clone(),
            kommun: first.kommun.clone(),
            desos: members.iter().map(|a| a.deso.clone()).collect(),
            deso_version: first.version.clone(),
        },
        members,
    ))
}

/// Indicator values keyed by (DeSO, indicator, year), with their sources.
struct Values {
    values: BTreeMap<(String, String, i32), f64>,
    sources: BTreeMap<(String, i32), String>,
    source_of: BTreeMap<(String, String, i32), String>,
}

impl Values {
    fn new(indicators: &[IndicatorValue]) -> Values {
        let mut v = Values { values: BTreeMap::new(), sources: BTreeMap::new(), source_of: BTreeMap::new() };
        for x in indicators {
            v.values.insert((x.deso.clone(), x.indicator.clone(), x.year), x.value);
            v.source_of.insert((x.deso.clone(), x.indicator.clone(), x.year), x.source.clone());
            v.sources.entry((x.indicator.clone(), x.year)).or_insert_with(|| x.source.clone());
        }
        v
    }
}

/// The DeSO codes a profile compares with: the area's, its municipality's and its county's.
struct Scope<'a> {
    members: Vec<&'a str>,
    kommun: Vec<&'a str>,
    county: Vec<&'a str>,
}

/// Indicator lines (latest year, beside municipality and county) and trends of several years.
fn indicator_lines(
    scope: &Scope,
    v: &Values,
    pop: &HashMap<String, f64>,
    notes: &mut Vec<String>,
) -> (Vec<IndicatorLine>, BTreeMap<String, BTreeMap<i32, f64>>) {
    let mut names_years: BTreeMap<String, Vec<i32>> = BTreeMap::new();
    for (d, name, year) in v.values.keys() {
        if scope.members.contains(&d.as_str()) && name != "omradestyp" {
            names_years.entry(name.clone()).or_default().push(*year);
        }
    }
    let mut lines = Vec::new();
    let mut trends = BTreeMap::new();
    for (name, mut years) in names_years {
        years.sort_unstable();
        years.dedup();
        let series: BTreeMap<i32, f64> = years.iter().filter_map(|y| aggregate(&name, *y, &scope.members, &v.values, pop).map(|x| (*y, x))).collect();
        let latest = *years.last().expect("non-empty");
        if let Some(value) = series.get(&latest) {
            let source = v.sources.get(&(name.clone(), latest)).cloned().unwrap_or_default();
            if source.to_uppercase().contains("ILLUSTRATIV") && !notes.iter().any(|n: &String| n.contains(&name)) {
                notes.push(format!("{} är illustrativa värden, inte SCB-data.", indicator_label_sv(&name)));
            }
            // County values are shown only where the store holds the indicator outside the municipality too.
            let county_known = scope.county.iter().any(|d| !scope.kommun.contains(d) && v.values.contains_key(&(d.to_string(), name.clone(), latest)));
            lines.push(IndicatorLine {
                label_sv: indicator_label_sv(&name),
                year: latest,
                value: *value,
                municipality: aggregate(&name, latest, &scope.kommun, &v.values, pop),
                county: county_known.then(|| aggregate(&name, latest, &scope.county, &v.values, pop)).flatten(),
                source,
                indicator: name.clone(),
            });
        }
        if series.len() > 1 {
            trends.insert(name, series);
        }
    }
    (lines, trends)
}

/// Composite index among the municipality's DeSO (or RegSO), population-weighted for RegSO.
fn municipality_index(areas: &[Area], aref: &AreaRef, v: &Values, pop: &HashMap<String, f64>, cfg: &IndexConfig) -> Vec<IndexRow> {
    let unit_of = |a: &Area| if aref.level == "deso" { a.deso.clone() } else { a.regso.clone() };
    let mut groups: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for a in areas.iter().filter(|a| a.kommun == aref.kommun) {
        groups.entry(unit_of(a)).or_default().push(a.deso.as_str());
    }
    let mut table: BTreeMap<String, BTreeMap<String, f64>> = BTreeMap::new();
    for (unit, ds) in &groups {
        let mut m = BTreeMap::new();
        for var in &cfg.variables {
            let year = v.values.keys().filter(|(d, n, _)| ds.contains(&d.as_str()) && *n == var.indicator).map(|k| k.2).max();
            if let Some(x) = year.and_then(|y| aggregate(&var.indicator, y, ds, &v.values, pop)) {
                m.insert(var.indicator.clone(), x);
            }
        }
        table.insert(unit.clone(), m);
    }
    composite(&table, cfg)
}

/// Incidents by category and quarter, with rates over the area's residents.
fn incident_counts(mine: &[&Incident], area_pop: Option<f64>) -> (Vec<CategoryCount>, Vec<(String, u64)>) {
    let mut by_cat: BTreeMap<Category, u64> = BTreeMap::new();
    let mut by_quarter: BTreeMap<String, u64> = BTreeMap::new();
    for i in mine {
        *by_cat.entry(i.category).or_default() += 1;
        use chrono::Datelike;
        *by_quarter.entry(format!("{} K{}", i.occurred_at.year(), (i.occurred_at.month() - 1) / 3 + 1)).or_default() += 1;
    }
    (category_counts(by_cat, area_pop), by_quarter.into_iter().collect())
}

/// Counts by category, largest first, with rates per 1,000 residents when there are residents;
/// shared by the area profile and a plan area's picture.
pub(crate) fn category_counts(by_cat: BTreeMap<Category, u64>, residents: Option<f64>) -> Vec<CategoryCount> {
    let mut cats: Vec<CategoryCount> = by_cat
        .into_iter()
        .map(|(c, n)| CategoryCount {
            category: c,
            label_sv: c.label_sv(),
            count: Some(n),
            per_1000: residents.filter(|p| *p > 0.0).map(|p| 1000.0 * n as f64 / p),
        })
        .collect();
    cats.sort_by(|a, b| b.count.cmp(&a.count));
    cats
}

/// EST weeks of the area as a whole: tertial counts, the last and the previous week.
fn est_weeks(picture: &AreaPicture, aref: &AreaRef, mine: &[&Incident], rule: &EstRule) -> (Vec<PeriodCount>, Option<WeekStatus>, Option<WeekStatus>) {
    let times: Vec<_> = picture.point_incidents().map(|i| i.occurred_at).collect();
    let (Some(first), Some(last)) = (times.iter().min(), times.iter().max()) else { return (vec![], None, None) };
    let weeks = est::weeks_between(first.date(), last.date());
    let list: Vec<(Vec<String>, &Incident)> = mine.iter().map(|i| (vec![aref.code.clone()], *i)).collect();
    let statuses = est::weekly_status(std::slice::from_ref(&aref.code), &weeks, &list, rule);
    let prev = statuses.len().checked_sub(2).map(|k| statuses[k].clone());
    (est::period_counts(&statuses, Period::Tertial), statuses.last().cloned(), prev)
}

/// The goals set for the area (by code or name) or its municipality, judged on the same
/// aggregation as the indicator lines.
fn goal_lines(goals: &[Goal], aref: &AreaRef, scope: &Scope, v: &Values, pop: &HashMap<String, f64>) -> Vec<GoalStatus> {
    goals
        .iter()
        .filter(|g| fold(&g.area) == fold(&aref.code) || fold(&g.area) == fold(&aref.name) || g.area == aref.kommun)
        .map(|g| {
            let codes: &[&str] = if g.area == aref.kommun { &scope.kommun } else { &scope.members };
            let years: std::collections::BTreeSet<i32> = v.values.keys().filter(|(_, n, _)| *n == g.indicator).map(|k| k.2).collect();
            let series: BTreeMap<i32, f64> = years.into_iter().filter_map(|y| aggregate(&g.indicator, y, codes, &v.values, pop).map(|x| (y, x))).collect();
            let mut st = goal_status(g, &series);
            // A made-up baseline must say so wherever the goal is shown.
            let illustrative = codes
                .iter()
                .any(|d| v.source_of.get(&(d.to_string(), g.indicator.clone(), g.baseline_year)).is_some_and(|s| s.to_uppercase().contains("ILLUSTRATIV")));
            if illustrative {
                st.note = format!("{} Basåret {} är illustrativt, inte SCB-data.", st.note, g.baseline_year);
            }
            st
        })
        .collect()
}

/// How a place's figures were made: its own incidents, DeSO residents by area share.
fn place_note(u: &crate::units::Unit) -> String {
    let shares: Vec<String> = u.desos.iter().map(|(d, sh)| format!("{d} {:.0} %", 100.0 * sh)).collect();
    format!(
        "{} är ett eget område ({}): händelserna är de inom dess polygon; befolkningen är DeSO-befolkning × andel av DeSO:s yta inom området; indikatorerna är befolkningsvägda över de DeSO området täcker ({}).",
        u.name,
        u.kind,
        shares.join(", ")
    )
}

/// The profile of a DeSO or RegSO in a picture. Hotspot status is the picture's own Gi*, so the
/// profile and the map agree about every DeSO.
pub fn build(picture: &AreaPicture, query: &str, opts: &ProfileOptions) -> Result<Profile, ProfileError> {
    let areas = picture.area_list();
    let (aref, members, place) = match resolve(&areas, query) {
        Some((r, m)) => (r, m, None),
        None => resolve_place(&areas, &opts.places, query).map(|(r, m, u)| (r, m, Some(u))).ok_or_else(|| ProfileError::UnknownArea(query.to_string()))?,
    };
    let pop = &picture.population;
    let lan = &aref.kommun[..2];
    let scope = Scope {
        members: members.iter().map(|a| a.deso.as_str()).collect(),
        kommun: areas.iter().filter(|a| a.kommun == aref.kommun).map(|a| a.deso.as_str()).collect(),
        county: areas.iter().filter(|a| a.kommun.starts_with(lan)).map(|a| a.deso.as_str()).collect(),
    };
    let v = Values::new(&picture.indicators);
    let mut notes = Vec::new();
    let (lines, trends) = indicator_lines(&scope, &v, pop, &mut notes);
    // Områdestyp: the (inherited) type of the member DeSOs; a RegSO has one type.
    let typ = scope
        .members
        .iter()
        .filter_map(|d| v.values.iter().filter(|((dd, n, _), _)| dd == d && n == "omradestyp").map(|(k, x)| (k.2, *x, d.to_string())).max_by_key(|x| x.0))
        .max_by_key(|x| x.0);
    let omradestyp = typ.as_ref().map(|(_, x, _)| *x as u8);
    let omradestyp_source = typ.and_then(|(y, _, d)| v.source_of.get(&(d, "omradestyp".to_string(), y)).cloned());
    let latest_of = |name: &str| lines.iter().find(|l| l.indicator == name).map(|l| l.value);
    let housing = classify_housing(
        latest_of("tenure_hyresratt"),
        latest_of("tenure_bostadsratt"),
        latest_of("tenure_aganderatt"),
        latest_of("crowding_pct"),
        &opts.crowding,
    );
    let index_rows = municipality_index(&areas, &aref, &v, pop, &opts.index);
    let mine: Vec<&Incident> = match place {
        Some(u) => u.incidents(picture).collect(),
        None => picture
            .incidents
            .iter()
            .zip(&picture.area_of_incident)
            .filter(|(_, a)| a.is_some_and(|a| scope.members.contains(&picture.areas[a as usize].area.deso.as_str())))
            .map(|(i, _)| i)
            .collect(),
    };
    let area_pop: Option<f64> = match place {
        Some(u) => u.population,
        None => {
            let p: Vec<f64> = scope.members.iter().filter_map(|d| pop.get(*d).copied()).collect();
            (!p.is_empty()).then(|| p.iter().sum())
        }
    };
    if let Some(u) = place {
        notes.push(place_note(u));
    }
    let (incidents_by_category, incidents_by_quarter) = incident_counts(&mine, area_pop);
    if picture.incidents.iter().any(|i| i.description.starts_with("Syntetisk")) {
        notes.push("Händelserna i demodata är syntetiska (genererade), inte verkliga.".into());
    }
    let hotspots = members
        .iter()
        .filter_map(|a| picture.get(&a.deso))
        .filter_map(|f| Some(HotspotLine { deso: f.area.deso.clone(), incidents: f.incidents, gi_z: f.gi_z?, gi_bin: f.gi_bin? }))
        .collect();
    let hotspot_method = format!(
        "Getis-Ord Gi* på antal händelser per DeSO i lägesbildens {} områden, queen-grannar (tolerans {} m), binära vikter, FDR-korrigerade konfidensklasser",
        picture.areas.len(),
        picture.rules.tolerance_m
    );
    let (est_periods, last, prev) = est_weeks(picture, &aref, &mine, &opts.est_rule);
    let goals = goal_lines(&opts.goals, &aref, &scope, &v, pop);
    let geom = geo::MultiPolygon(members.iter().flat_map(|a| a.geometry.0.iter().cloned()).collect());
    Ok(Profile {
        population: area_pop,
        omradestyp,
        omradestyp_label: omradestyp.map(type_label_sv),
        omradestyp_source,
        indicators: lines,
        trends,
        housing,
        index: index_rows.iter().find(|r| r.area == aref.code).cloned(),
        index_areas: index_rows.iter().filter(|r| r.score.is_some()).count(),
        incidents_total: mine.len() as u64,
        incidents_by_category,
        incidents_by_quarter,
        hotspots,
        hotspot_method,
        est_rule: opts.est_rule.describe_sv(),
        est_periods,
        est_last_week: last,
        est_previous_week: prev,
        goals,
        police_areas: crate::classify::goals::police_overlap(&geom, &opts.police),
        notes,
        generated: chrono::Local::now().format("%Y-%m-%d %H:%M").to_string(),
        area: aref,
    })
}

fn n(v: f64) -> String {
    let r = if v.abs() >= 100.0 { (v * 10.0).round() / 10.0 } else { (v * 100.0).round() / 100.0 };
    crate::model::format_number_sv(r)
}

fn on(v: Option<f64>) -> String {
    v.map(n).unwrap_or_else(|| "–".into())
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// A flat table for Swedish Excel: `avsnitt;post;värde;kommun;län;år;not`.
pub fn to_csv(p: &Profile) -> String {
    let mut w = csv::WriterBuilder::new().delimiter(b';').from_writer(Vec::new());
    let mut row = |a: &str, b: &str, c: String, d: String, e: String, f: String, g: &str| {
        w.write_record([a, b, &c, &d, &e, &f, g]).expect("in-memory CSV");
    };
    row("avsnitt", "post", "värde".into(), "kommun".into(), "län".into(), "år".into(), "not");
    row("område", "namn", p.area.name.clone(), String::new(), String::new(), String::new(), p.area.level);
    row("område", "kod", p.area.code.clone(), p.area.kommun.clone(), String::new(), String::new(), &format!("DeSO {}", p.area.deso_version));
    row("område", "befolkning", on(p.population), String::new(), String::new(), String::new(), "");
    if let Some(t) = p.omradestyp {
        row("områdestyp", "områdestyp", t.to_string(), String::new(), String::new(), String::new(), p.omradestyp_source.as_deref().unwrap_or(""));
    }
    for l in &p.indicators {
        row("indikator", &l.label_sv, n(l.value), on(l.municipality), on(l.county), l.year.to_string(), &l.source);
    }
    for (name, s) in &p.trends {
        for (y, v) in s {
            row("trend", &indicator_label_sv(name), n(*v), String::new(), String::new(), y.to_string(), "");
        }
    }
    row("boende", "dominerande upplåtelseform", p.housing.dominant_tenure.clone(), String::new(), String::new(), String::new(), "");
    row("boende", "blandning (0–1)", on(p.housing.tenure_diversity), String::new(), String::new(), String::new(), "Shannon-entropi / ln 3");
    row("boende", "trångboddhetsklass", p.housing.crowding_class.unwrap_or("–").to_string(), String::new(), String::new(), String::new(), "");
    if let Some(i) = &p.index {
        row("index", "poäng", on(i.score), String::new(), String::new(), String::new(), "högre = bättre förutsättningar");
        row(
            "index",
            "rang",
            i.rank.map(|r| format!("{r} av {}", p.index_areas)).unwrap_or_default(),
            String::new(),
            String::new(),
            String::new(),
            "1 = störst utmaningar",
        );
        row("index", "kvintil", i.quintile.map(|q| q.to_string()).unwrap_or_default(), String::new(), String::new(), String::new(), "");
    }
    row("händelser", "totalt", p.incidents_total.to_string(), String::new(), String::new(), String::new(), "");
    for c in &p.incidents_by_category {
        row(
            "händelser",
            c.label_sv,
            c.count.map(|n| n.to_string()).unwrap_or_else(|| "<5".into()),
            String::new(),
            String::new(),
            String::new(),
            &format!("per 1 000 inv: {}", on(c.per_1000)),
        );
    }
    for (q, c) in &p.incidents_by_quarter {
        row("händelser per kvartal", q, c.to_string(), String::new(), String::new(), String::new(), "");
    }
    for h in &p.hotspots {
        row("hotspot", &h.deso, h.gi_bin.to_string(), String::new(), String::new(), String::new(), &format!("z = {}", n(h.gi_z)));
    }
    for e in &p.est_periods {
        row("EST-veckor", &e.period, format!("grön {} / gul {} / röd {}", e.green, e.yellow, e.red), String::new(), String::new(), String::new(), "");
    }
    for g in &p.goals {
        row(
            "mål",
            &g.goal.name,
            match g.on_track {
                Some(true) => "på väg".into(),
                Some(false) => "inte på väg".into(),
                None => "kan inte bedömas".into(),
            },
            String::new(),
            String::new(),
            g.latest_year.map(|y| y.to_string()).unwrap_or_default(),
            &g.note,
        );
    }
    for o in &p.police_areas {
        row("polisens områden", &o.name, n(o.share_pct), String::new(), String::new(), String::new(), &format!("{} sedan {}", o.class, o.since));
    }
    for note in &p.notes {
        row("not", "", note.clone(), String::new(), String::new(), String::new(), "");
    }
    let bytes = w.into_inner().expect("flush");
    format!("\u{feff}{}", String::from_utf8(bytes).expect("UTF-8"))
}

fn bar_svg(items: &[(String, f64)], color: &str) -> String {
    let max = items.iter().map(|i| i.1).fold(0.0f64, f64::max).max(1e-9);
    let bw = 28.0;
    let h = 120.0;
    let mut s = format!(r#"<svg width="{}" height="{}" role="img" xmlns="http://www.w3.org/2000/svg">"#, items.len() as f64 * bw + 10.0, h + 40.0);
    for (k, (label, v)) in items.iter().enumerate() {
        let bh = h * v / max;
        let x = 5.0 + k as f64 * bw;
        s += &format!(r#"<rect x="{x}" y="{}" width="{}" height="{bh}" fill="{color}"><title>{}: {}</title></rect>"#, h - bh, bw - 4.0, esc(label), n(*v));
        s += &format!(r#"<text x="{}" y="{}" font-size="8" transform="rotate(60 {} {})">{}</text>"#, x + 2.0, h + 8.0, x + 2.0, h + 8.0, esc(label));
    }
    s + "</svg>"
}

/// A printable Swedish HTML report, self-contained (inline CSS and SVG charts).
pub fn to_html(p: &Profile) -> String {
    let mut h = String::new();
    h += &format!(
        r#"<!doctype html><html lang="sv"><head><meta charset="utf-8"><title>Områdesprofil {name}</title>
<style>body{{font-family:sans-serif;max-width:60em;margin:2em auto;color:#222}}table{{border-collapse:collapse;margin:.5em 0 1.5em}}td,th{{border:1px solid #ccc;padding:.2em .5em;text-align:left}}td.n{{text-align:right}}h1{{margin-bottom:0}}.muted{{color:#666}}.green{{background:#cfe8cf}}.yellow{{background:#fff2b3}}.red{{background:#f4c2c2}}@media print{{body{{margin:0}}}}</style></head><body>
<h1>Områdesprofil: {name}</h1><p class="muted">{level} {code}, kommun {kommun}, DeSO {ver}. Skapad {gen}.</p>"#,
        name = esc(&p.area.name),
        level = match p.area.level {
            "deso" => "DeSO",
            "regso" => "RegSO",
            _ => "Eget område",
        },
        code = esc(&p.area.code),
        kommun = esc(&p.area.kommun),
        ver = esc(&p.area.deso_version),
        gen = esc(&p.generated)
    );
    h += &format!("<p>Befolkning: <b>{}</b>", on(p.population));
    if let (Some(t), Some(l)) = (p.omradestyp, p.omradestyp_label) {
        h += &format!(" · Områdestyp: <b>{t} – {}</b> <span class=\"muted\">({})</span>", esc(l), esc(p.omradestyp_source.as_deref().unwrap_or("SCB")));
    }
    h += "</p>";
    h += "<h2>Indikatorer</h2><table><tr><th>Indikator</th><th>År</th><th>Området</th><th>Kommunen</th><th>Länet</th><th>Källa</th></tr>";
    for l in &p.indicators {
        h += &format!(
            "<tr><td>{}</td><td>{}</td><td class=n>{}</td><td class=n>{}</td><td class=n>{}</td><td class=muted>{}</td></tr>",
            esc(&l.label_sv),
            l.year,
            n(l.value),
            on(l.municipality),
            on(l.county),
            esc(&l.source)
        );
    }
    h += "</table>";
    if !p.trends.is_empty() {
        h += "<h2>Trender</h2><table><tr><th>Indikator</th><th>Värden per år</th></tr>";
        for (name, s) in &p.trends {
            h += &format!(
                "<tr><td>{}</td><td>{}</td></tr>",
                esc(&indicator_label_sv(name)),
                s.iter().map(|(y, v)| format!("{y}: {}", n(*v))).collect::<Vec<_>>().join(" · ")
            );
        }
        h += "</table>";
    }
    h += &format!(
        "<h2>Boende</h2><p>Dominerande upplåtelseform: <b>{}</b> · Andel hyresrätt: {} % · Blandning: {} (0 = en form, 1 = jämn blandning) · Trångboddhet: {}</p>",
        esc(&p.housing.dominant_tenure),
        on(p.housing.rental_share_pct),
        on(p.housing.tenure_diversity),
        p.housing.crowding_class.unwrap_or("–")
    );
    if let Some(i) = &p.index {
        h += &format!(
            "<h2>Levnadsvillkorsindex</h2><p>Poäng {} · rang {} av {} (1 = störst utmaningar) · kvintil {}</p>",
            on(i.score),
            i.rank.map(|r| r.to_string()).unwrap_or("–".into()),
            p.index_areas,
            i.quintile.map(|q| q.to_string()).unwrap_or("–".into())
        );
        if !i.missing.is_empty() {
            h += &format!("<p class=muted>Saknade indata: {}</p>", esc(&i.missing.join(", ")));
        }
        h += "<table><tr><th>Variabel</th><th>Bidrag</th></tr>";
        for (k, v) in &i.contributions {
            h += &format!("<tr><td>{}</td><td class=n>{}</td></tr>", esc(&indicator_label_sv(k)), n(*v));
        }
        h += "</table>";
    }
    h += &html_incidents_and_after(p);
    h
}

/// The incident, hotspot, EST, goal and police sections of the HTML profile.
fn html_incidents_and_after(p: &Profile) -> String {
    let mut h = String::new();
    h += &format!("<h2>Händelser</h2><p>Totalt {} händelser med punktläge i området.</p>", p.incidents_total);
    h += "<table><tr><th>Kategori</th><th>Antal</th><th>Per 1 000 invånare</th></tr>";
    for c in &p.incidents_by_category {
        h += &format!(
            "<tr><td>{}</td><td class=n>{}</td><td class=n>{}</td></tr>",
            esc(c.label_sv),
            c.count.map(|n| n.to_string()).unwrap_or_else(|| "–".into()),
            on(c.per_1000)
        );
    }
    h += "</table>";
    if !p.incidents_by_quarter.is_empty() {
        h += "<p>Händelser per kvartal:</p>";
        h += &bar_svg(&p.incidents_by_quarter.iter().map(|(q, c)| (q.clone(), *c as f64)).collect::<Vec<_>>(), "#4a6fa5");
    }
    h += "<h2>Hotspot-status</h2><table><tr><th>DeSO</th><th>Händelser</th><th>Gi* z</th><th>Konfidensklass</th></tr>";
    for s in &p.hotspots {
        h += &format!("<tr><td>{}</td><td class=n>{}</td><td class=n>{}</td><td class=n>{}</td></tr>", esc(&s.deso), s.incidents, n(s.gi_z), s.gi_bin);
    }
    h += &format!("</table><p class=muted>{}</p>", esc(&p.hotspot_method));
    h += "<h2>EST-veckor</h2><table><tr><th>Period</th><th class=green>Gröna</th><th class=yellow>Gula</th><th class=red>Röda</th></tr>";
    for e in &p.est_periods {
        h += &format!("<tr><td>{}</td><td class=n>{}</td><td class=n>{}</td><td class=n>{}</td></tr>", esc(&e.period), e.green, e.yellow, e.red);
    }
    h += "</table>";
    if let Some(l) = &p.est_last_week {
        h += &format!(
            "<p>Senaste vecka {}: <b class=\"{}\">{}</b> (poäng {})",
            esc(&l.iso_week),
            serde_json::to_value(l.status).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default(),
            l.status.label_sv(),
            n(l.score)
        );
        if let Some(pw) = &p.est_previous_week {
            h += &format!(", veckan före: {} (poäng {})", pw.status.label_sv(), n(pw.score));
        }
        h += "</p>";
    }
    h += &format!("<p class=muted>Regel: {}</p>", esc(&p.est_rule));
    if !p.goals.is_empty() {
        h += "<h2>Mål</h2><table><tr><th>Mål</th><th>Status</th><th>Underlag</th></tr>";
        for g in &p.goals {
            let s = match g.on_track {
                Some(true) => "På väg",
                Some(false) => "Inte på väg",
                None => "Kan inte bedömas",
            };
            h += &format!("<tr><td>{}</td><td>{}</td><td>{}</td></tr>", esc(&g.goal.name), s, esc(&g.note));
        }
        h += "</table>";
    }
    h += "<h2>Polisens utsatta områden</h2>";
    if p.police_areas.is_empty() {
        h += "<p>Området överlappar inget av polisens utsatta områden i underlaget.</p>";
    } else {
        h += "<table><tr><th>Område</th><th>Klass</th><th>Sedan</th><th>Andel av ytan (%)</th></tr>";
        for o in &p.police_areas {
            h += &format!("<tr><td>{}</td><td>{}</td><td>{}</td><td class=n>{}</td></tr>", esc(&o.name), esc(&o.class), esc(&o.since), n(o.share_pct));
        }
        h += "</table>";
    }
    if !p.notes.is_empty() {
        h += "<h2>Noter</h2><ul>";
        for note in &p.notes {
            h += &format!("<li>{}</li>", esc(note));
        }
        h += "</ul>";
    }
    h += "<p class=muted>Källa: SCB (DeSO, RegSO, statistik), Polisen (utsatta områden). Beräknat med lagesbild.</p></body></html>";
    h
}

/// Reads Polisen's utsatta områden (GeoJSON with `name`, `class`, `since`) into EPSG:3006.
pub fn read_police_areas(path: &std::path::Path) -> Result<Vec<PoliceArea>, crate::io::IoError> {
    let (data, polys) = crate::io::read_polygons(path)?;
    Ok(data
        .records
        .iter()
        .zip(polys)
        .map(|(r, geometry)| PoliceArea {
            name: r.get("name").unwrap_or("").to_string(),
            class: r.get("class").unwrap_or("").to_string(),
            since: r.get("since").unwrap_or("").to_string(),
            geometry,
        })
        .collect())
}

/// Values of one indicator for the store, used by `classify` to write områdestyp.
pub fn omradestyp_values(inh: &crate::classify::omradestyp::Inheritance, year: i32, source: &str) -> Vec<IndicatorValue> {
    inh.per_deso
        .values()
        .map(|i| IndicatorValue {
            deso: i.deso.clone(),
            year,
            indicator: "omradestyp".into(),
            value: i.typ as f64,
            source: format!("{source}; ärvd från RegSO {} ({})", i.regso_name, i.regso),
        })
        .collect()
}

/// Hides indicator values that are small counts of people (social-services aggregates, chosen
/// by `sensitive`) for public and cross-organisation views, in the latest values and the trends.
pub fn suppress_values(p: &mut Profile, min: u64, sensitive: impl Fn(&str) -> bool) {
    let small = |v: f64| crate::privacy::is_small_value(v, min);
    let before = p.indicators.len();
    p.indicators.retain(|l| !(sensitive(l.indicator.as_str()) && (small(l.value) || l.municipality.is_some_and(small) || l.county.is_some_and(small))));
    let mut hidden = before != p.indicators.len();
    for (name, series) in p.trends.iter_mut() {
        if sensitive(name.as_str()) {
            let n = series.len();
            series.retain(|_, v| !small(*v));
            hidden |= n != series.len();
        }
    }
    if hidden {
        p.notes.push(format!("Socialtjänstens uppgifter under {min} visas inte i den öppna vyn."));
    }
}

/// Hides small incident counts (1 to `min − 1`) for public and cross-organisation views: by
/// category, by quarter and per DeSO in the hotspot table. Zero stays zero.
pub fn suppress_small_counts(p: &mut Profile, min: u64) {
    let small = |n: u64| n > 0 && n < min;
    let mut hidden = false;
    for c in p.incidents_by_category.iter_mut() {
        if c.count.is_some_and(small) {
            c.count = None;
            c.per_1000 = None;
            hidden = true;
        }
    }
    let before = p.incidents_by_quarter.len();
    p.incidents_by_quarter.retain(|(_, n)| !small(*n));
    hidden |= before != p.incidents_by_quarter.len();
    if small(p.incidents_total) {
        p.incidents_total = 0;
        hidden = true;
    }
    for h in p.hotspots.iter_mut() {
        if small(h.incidents) {
            h.incidents = 0;
            hidden = true;
        }
    }
    if hidden {
        p.notes.push(format!("Antal under {min} visas inte i den öppna vyn."));
    }
}
