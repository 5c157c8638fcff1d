//! The yearly lägesbild (Lag 2023:196): crime and disorder by category and area over five
//! years per 1,000 residents against the municipality (and the county where the store has its
//! incidents), hot spots and how many years they persisted, Polisen's utsatta områden, the
//! social picture per area, goals, walk findings, the åtgärdsplan with its follow-up, and the
//! orsaksanalys people wrote for the year; sources used and left out last.

use super::est::{actions_table, sources_section};
use super::html::{bars, esc, num, opt, page};
use super::{followup, Followup, Inputs, ReportError};
use crate::classify::goals::{GoalStatus, Overlap};
use crate::model::Incident;
use crate::picture::{AreaPicture, Rules};
use crate::plan::CauseAnalysis;
use crate::units::Units;
use chrono::{Datelike, NaiveDate};
use serde::Serialize;
use std::collections::BTreeMap;

/// Number of years the report looks back over, the report's year included.
pub const YEARS: i32 = 5;

#[derive(Debug, Clone, Serialize)]
pub struct AreaYears {
    pub code: String,
    pub name: String,
    pub kind: String,
    pub population: Option<f64>,
    pub counts: BTreeMap<i32, u64>,
    pub per_1000: BTreeMap<i32, Option<f64>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Persistence {
    pub deso: String,
    pub name: String,
    /// Years in which the DeSO was a hot spot at 95 % confidence or more (Gi*, FDR).
    pub hot_years: Vec<i32>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Social {
    pub name: String,
    pub omradestyp: Option<u8>,
    pub omradestyp_label: Option<String>,
    pub rental_share: Option<f64>,
    pub crowding_pct: Option<f64>,
    pub income: Option<(String, f64)>,
    pub police_areas: Vec<Overlap>,
}

#[derive(Debug, Clone, Serialize)]
pub struct YearReport {
    pub year: i32,
    pub years: Vec<i32>,
    pub areas: Vec<AreaYears>,
    pub municipality: AreaYears,
    pub county: Option<AreaYears>,
    pub county_note: String,
    pub by_category: Vec<(String, BTreeMap<i32, u64>)>,
    pub hotspots: Vec<Persistence>,
    pub hotspot_method: String,
    pub social: Vec<Social>,
    pub goals: Vec<GoalStatus>,
    pub walks: usize,
    pub observations_by_status: Vec<(String, u64)>,
    pub open_observations: Vec<(String, String)>,
    pub actions: Vec<Followup>,
    pub cause_analysis: Option<CauseAnalysis>,
    pub cause_analysis_versions: usize,
    pub notes: Vec<String>,
    pub sources: Vec<String>,
    pub left_out: Vec<String>,
    pub rule: String,
    pub generated: String,
}

fn year_counts<'a>(inc: impl Iterator<Item = &'a Incident>, years: &[i32]) -> BTreeMap<i32, u64> {
    let mut m: BTreeMap<i32, u64> = years.iter().map(|y| (*y, 0)).collect();
    for i in inc {
        if let Some(c) = m.get_mut(&i.occurred_at.year()) {
            *c += 1;
        }
    }
    m
}

fn area_years(code: &str, name: &str, kind: &str, population: Option<f64>, counts: BTreeMap<i32, u64>) -> AreaYears {
    let per_1000 = counts.iter().map(|(y, n)| (*y, population.filter(|p| *p > 0.0).map(|p| 1000.0 * *n as f64 / p))).collect();
    AreaYears { code: code.into(), name: name.into(), kind: kind.into(), population, counts, per_1000 }
}

/// The municipality (the picture's areas) and, when the store holds incidents in more than one
/// municipality of the county, the county.
fn municipality_and_county(pic: &AreaPicture, years: &[i32]) -> (AreaYears, Option<AreaYears>, String) {
    let joined: Vec<(&Incident, &str)> =
        pic.incidents.iter().zip(&pic.area_of_incident).filter_map(|(i, a)| a.map(|a| (i, pic.areas[a as usize].area.kommun.as_str()))).collect();
    let mut kommuner: Vec<&str> = pic.areas.iter().map(|f| f.area.kommun.as_str()).collect();
    kommuner.sort_unstable();
    kommuner.dedup();
    let main = kommuner.first().copied().unwrap_or("");
    let pop = |k: Option<&str>| -> Option<f64> {
        let v: Vec<f64> = pic.areas.iter().filter(|f| k.is_none_or(|k| f.area.kommun == k)).filter_map(|f| f.population).collect();
        (!v.is_empty()).then(|| v.iter().sum())
    };
    let m = area_years(
        main,
        &format!("Kommunen ({main})"),
        "kommun",
        pop(Some(main)),
        year_counts(joined.iter().filter(|(_, k)| *k == main).map(|(i, _)| *i), years),
    );
    let with_incidents: std::collections::BTreeSet<&str> = joined.iter().map(|(_, k)| *k).collect();
    if with_incidents.len() > 1 {
        let c = area_years(&main[..2.min(main.len())], "Länet (lagrets kommuner)", "län", pop(None), year_counts(joined.iter().map(|(i, _)| *i), years));
        (m, Some(c), format!("Länet omfattar de {} kommuner i lagret som har händelser.", with_incidents.len()))
    } else {
        (m, None, "Jämförelse med länet saknas: lagret har händelser bara för en kommun (länets övriga kommuner har inte lämnat händelsedata).".into())
    }
}

/// Gi* per year over the picture's DeSO: the years each DeSO was a hot spot (bin 2 or 3).
fn persistence(pic: &AreaPicture, years: &[i32]) -> Vec<Persistence> {
    let areas = pic.area_list();
    let mut hot: BTreeMap<String, Vec<i32>> = BTreeMap::new();
    for y in years {
        let (Some(from), Some(to)) = (NaiveDate::from_ymd_opt(*y, 1, 1), NaiveDate::from_ymd_opt(*y, 12, 31)) else { continue };
        let inc: Vec<Incident> = pic.incidents.iter().filter(|i| (from..=to).contains(&i.occurred_at.date())).cloned().collect();
        // A thinned year is held as weekly counts only: Gi* on DeSO still runs on them.
        if inc.is_empty() && !pic.thinned.iter().any(|c| (from..=to).contains(&c.week_start)) {
            continue;
        }
        let yp =
            AreaPicture::build_with(&areas, vec![], inc, (pic.thinned.clone(), pic.thinned_before), Rules { period: Some((from, to)), ..pic.rules.clone() });
        for f in yp.areas.iter().filter(|f| f.gi_bin.is_some_and(|b| b >= 2)) {
            hot.entry(f.area.deso.clone()).or_default().push(*y);
        }
    }
    let mut out: Vec<Persistence> = hot
        .into_iter()
        .map(|(deso, hot_years)| {
            let name = pic.get(&deso).map(|f| f.area.regso_name.clone()).unwrap_or_default();
            Persistence { deso, name, hot_years }
        })
        .collect();
    out.sort_by(|a, b| b.hot_years.len().cmp(&a.hot_years.len()).then(a.deso.cmp(&b.deso)));
    out
}

/// Social picture, police overlap and goals per RegSO and place, from their profiles.
fn social_and_goals(pic: &AreaPicture, units: &Units, inputs: &Inputs) -> (Vec<Social>, Vec<GoalStatus>) {
    let opts = crate::profile::ProfileOptions {
        police: inputs.police.clone(),
        goals: inputs.goals.clone(),
        places: units.of_level("place").cloned().collect(),
        ..Default::default()
    };
    let mut social = Vec::new();
    let mut goals: Vec<GoalStatus> = Vec::new();
    for u in units.report_units() {
        let Ok(p) = crate::profile::build(pic, &u.code, &opts) else { continue };
        let line = |n: &str| p.indicators.iter().find(|l| l.indicator == n).map(|l| l.value);
        let income = ["income_med", "income"].iter().find_map(|n| line(n).map(|v| (crate::profile::indicator_label_sv(n), v)));
        social.push(Social {
            name: u.name.clone(),
            omradestyp: p.omradestyp,
            omradestyp_label: p.omradestyp_label.map(String::from),
            rental_share: line("share_hyresratt").or_else(|| line("renters")),
            crowding_pct: line("crowding_pct"),
            income,
            police_areas: p.police_areas.clone(),
        });
        for g in p.goals {
            if !goals.iter().any(|x| x.goal.name == g.goal.name) {
                goals.push(g);
            }
        }
    }
    (social, goals)
}

pub fn build(pic: &AreaPicture, units: &Units, inputs: &Inputs, year: i32) -> Result<YearReport, ReportError> {
    if !(2000..=2100).contains(&year) {
        return Err(ReportError::Year(year));
    }
    let years: Vec<i32> = (year - YEARS + 1..=year).collect();
    let areas = units.report_units().map(|u| area_years(&u.code, &u.name, &u.kind, u.population, year_counts(u.incidents(pic), &years))).collect();
    let (municipality, county, county_note) = municipality_and_county(pic, &years);
    let mut cats: BTreeMap<String, BTreeMap<i32, u64>> = BTreeMap::new();
    for (i, _) in pic.incidents.iter().zip(&pic.area_of_incident).filter(|(_, a)| a.is_some()) {
        if years.contains(&i.occurred_at.year()) {
            *cats.entry(i.category.label_sv().to_string()).or_default().entry(i.occurred_at.year()).or_default() += 1;
        }
    }
    let (social, goals) = social_and_goals(pic, units, inputs);
    let mut by_status: BTreeMap<String, u64> = BTreeMap::new();
    for o in &inputs.observations {
        *by_status.entry(o.status.label_sv().to_string()).or_default() += 1;
    }
    let open = inputs
        .observations
        .iter()
        .filter(|o| o.status.is_open())
        .map(|o| (crate::walks::category_label(&o.category).to_string(), o.description.clone()))
        .collect();
    let current = inputs.cause_analyses.iter().filter(|c| c.year == year).last().cloned();
    let mut notes = vec![super::REPORTING_CAVEAT.to_string()];
    if pic.incidents.iter().any(|i| i.description.starts_with("Syntetisk")) {
        notes.push("Händelserna i demodata är syntetiska (genererade), inte verkliga.".into());
    }
    let empty: Vec<String> = years.iter().filter(|y| municipality.counts.get(y).copied().unwrap_or(0) == 0).map(|y| y.to_string()).collect();
    if !empty.is_empty() {
        notes.push(format!("Lagret har inga händelser för {}.", empty.join(", ")));
    }
    let (sources, left_out) = sources(pic, inputs);
    Ok(YearReport {
        year,
        years: years.clone(),
        areas,
        municipality,
        county,
        county_note,
        by_category: cats.into_iter().collect(),
        hotspots: persistence(pic, &years),
        hotspot_method:
            "Getis-Ord Gi* per år på antal händelser per DeSO, queen-grannar, FDR; ett område räknas som hotspot ett år med 95 % konfidens eller mer.".into(),
        social,
        goals,
        walks: inputs.walks.len(),
        observations_by_status: by_status.into_iter().collect(),
        open_observations: open,
        actions: inputs.actions.iter().map(|a| followup(pic, units, a)).collect(),
        cause_analysis_versions: inputs.cause_analyses.iter().filter(|c| c.year == year).count(),
        cause_analysis: current,
        notes,
        sources,
        left_out,
        rule: pic.rules.est_rule.describe_sv(),
        generated: chrono::Local::now().format("%Y-%m-%d %H:%M").to_string(),
    })
}

fn sources(pic: &AreaPicture, inputs: &Inputs) -> (Vec<String>, Vec<String>) {
    let mut ind: std::collections::BTreeSet<String> = pic.indicators.iter().map(|v| v.source.clone()).filter(|s| !s.is_empty()).collect();
    let mut sources = vec![format!("SCB: DeSO {} och RegSO (områden, befolkning).", pic.edition())];
    sources.extend(std::mem::take(&mut ind).into_iter().map(|s| format!("Indikatorer: {s}.")));
    let reporters: std::collections::BTreeSet<&str> = pic.incidents.iter().map(|i| i.reported_by.as_str()).filter(|r| !r.is_empty()).collect();
    sources.push(format!("Händelser: {}.", reporters.into_iter().collect::<Vec<_>>().join(", ")));
    if !inputs.police.is_empty() {
        sources.push("Polisen: utsatta områden (lägesbild av utsatta områden).".into());
    }
    sources.push(format!("Trygghetsvandringar: {} vandringar, {} iakttagelser.", inputs.walks.len(), inputs.observations.len()));
    let mut left_out = vec![
        "Brå:s Nationella trygghetsundersökning och Polisens anmälningsstatistik per kommun finns inte i lagret.".into(),
        "Händelser kända bara på kommunnivå ingår i kommunens totaler men inte i områdena.".into(),
    ];
    if inputs.police.is_empty() {
        left_out.push("Polisens utsatta områden: ingen fil angiven (--uso).".into());
    }
    if inputs.goals.is_empty() {
        left_out.push("Mål: ingen målfil angiven (--goals).".into());
    }
    (sources, left_out)
}

fn years_table(r: &YearReport) -> String {
    let head: String = r.years.iter().map(|y| format!("<th class=n>{y}</th>")).collect();
    let mut h = format!("<table><thead><tr><th>Område</th>{head}</tr></thead><tbody>");
    let rows = r.areas.iter().chain(std::iter::once(&r.municipality)).chain(r.county.iter());
    for a in rows {
        let cells: String = r
            .years
            .iter()
            .map(|y| {
                format!(
                    "<td class=n>{}<br><span class=muted>{}</span></td>",
                    a.counts.get(y).copied().unwrap_or(0),
                    opt(a.per_1000.get(y).copied().flatten(), 1)
                )
            })
            .collect();
        h += &format!("<tr><td>{}<br><span class=muted>{}</span></td>{cells}</tr>", esc(&a.name), esc(&a.kind));
    }
    h + "</tbody></table><p class=muted>Antal händelser och, under, per 1 000 invånare (befolkning enligt senaste värde).</p>"
}

fn category_table(r: &YearReport) -> String {
    let head: String = r.years.iter().map(|y| format!("<th class=n>{y}</th>")).collect();
    let mut h = format!("<table><thead><tr><th>Kategori (kommunen)</th>{head}</tr></thead><tbody>");
    for (c, m) in &r.by_category {
        let cells: String = r.years.iter().map(|y| format!("<td class=n>{}</td>", m.get(y).copied().unwrap_or(0))).collect();
        h += &format!("<tr><td>{}</td>{cells}</tr>", esc(c));
    }
    h + "</tbody></table>"
}

fn social_table(r: &YearReport) -> String {
    let mut h = String::from("<table><thead><tr><th>Område</th><th>Områdestyp</th><th class=n>Hyresrätt %</th><th class=n>Trångbodda %</th><th>Inkomst</th><th>Utsatt område (Polisen)</th></tr></thead><tbody>");
    for s in &r.social {
        let police: Vec<String> = s.police_areas.iter().map(|o| format!("{} ({}, {} %)", o.name, o.class, num(o.share_pct, 0))).collect();
        h += &format!(
            "<tr><td>{}</td><td>{}</td><td class=n>{}</td><td class=n>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&s.name),
            s.omradestyp.map(|t| format!("{t} {}", s.omradestyp_label.clone().unwrap_or_default())).unwrap_or_else(|| "–".into()),
            opt(s.rental_share, 0),
            opt(s.crowding_pct, 1),
            s.income.as_ref().map(|(l, v)| format!("{} {}", num(*v, 0), esc(l))).unwrap_or_else(|| "–".into()),
            if police.is_empty() { "–".into() } else { esc(&police.join("; ")) }
        );
    }
    h + "</tbody></table>"
}

fn goals_table(goals: &[GoalStatus]) -> String {
    if goals.is_empty() {
        return "<p>Inga mål angivna.</p>".into();
    }
    let mut h =
        String::from("<table><thead><tr><th>Mål</th><th class=n>Basår</th><th class=n>Senast</th><th>Riktning</th><th>Bedömning</th></tr></thead><tbody>");
    for g in goals {
        let verdict = match g.on_track {
            Some(true) => "på väg",
            Some(false) => "inte på väg",
            None => "kan inte bedömas",
        };
        h += &format!(
            "<tr><td>{}</td><td class=n>{} {}</td><td class=n>{} {}</td><td>{}</td><td>{verdict}<br><span class=muted>{}</span></td></tr>",
            esc(&g.goal.name),
            g.goal.baseline_year,
            opt(g.baseline_value, 1),
            g.latest_year.map(|y| y.to_string()).unwrap_or_default(),
            opt(g.latest_value, 1),
            if g.goal.wanted == crate::classify::goals::Wanted::Decrease { "minska" } else { "öka" },
            esc(&g.note)
        );
    }
    h + "</tbody></table>"
}

fn followup_table(f: &[Followup]) -> String {
    if f.is_empty() {
        return String::new();
    }
    let mut h = String::from("<h3>Uppföljning: händelser i insatsens område före och efter start</h3><table><thead><tr><th>Insats</th><th>Före</th><th class=n>Antal</th><th>Efter</th><th class=n>Antal</th></tr></thead><tbody>");
    for x in f {
        h += &format!(
            "<tr><td>{}</td><td>{} – {}</td><td class=n>{}</td><td>{} – {}</td><td class=n>{}</td></tr>",
            esc(&x.action.title),
            x.before_from,
            x.before_to,
            x.before,
            x.after_from,
            x.after_to,
            x.after
        );
    }
    h + &format!("</tbody></table><p class=note>{}</p>", esc(super::REPORTING_CAVEAT))
}

fn walks_section(r: &YearReport) -> String {
    let status: String = r.observations_by_status.iter().map(|(s, n)| format!("<tr><td>{}</td><td class=n>{n}</td></tr>", esc(s))).collect();
    let open: String = r.open_observations.iter().map(|(c, d)| format!("<li>{}: {}</li>", esc(c), esc(d))).collect();
    format!(
        "<p>{} trygghetsvandringar i lagret.</p><table><thead><tr><th>Status</th><th class=n>Iakttagelser</th></tr></thead><tbody>{status}</tbody></table><h3>Öppna iakttagelser</h3><ul>{}</ul>",
        r.walks,
        if open.is_empty() { "<li>Inga.</li>".to_string() } else { open }
    )
}

pub fn to_html(r: &YearReport) -> String {
    let title = format!("Lägesbild {}", r.year);
    let totals: Vec<(String, f64)> = r.years.iter().map(|y| (y.to_string(), r.municipality.counts.get(y).copied().unwrap_or(0) as f64)).collect();
    let hot: String = r
        .hotspots
        .iter()
        .map(|p| {
            format!(
                "<tr><td>{} {}</td><td>{}</td><td class=n>{}</td></tr>",
                esc(&p.deso),
                esc(&p.name),
                p.hot_years.iter().map(|y| y.to_string()).collect::<Vec<_>>().join(", "),
                p.hot_years.len()
            )
        })
        .collect();
    let cause = match &r.cause_analysis {
        Some(c) => {
            let versions = if r.cause_analysis_versions == 1 { "1 version".to_string() } else { format!("{} versioner", r.cause_analysis_versions) };
            format!("<div class=text>{}</div><p class=muted>Senast ändrad {} av {} ({versions}).</p>", esc(&c.text), esc(&c.at), esc(&c.by))
        }
        None => format!("<p class=note>Ingen orsaksanalys har skrivits för {}. Skriv den med PUT /api/orsaksanalys/{} eller lagesbild report lagesbild --orsaksanalys FIL.</p>", r.year, r.year),
    };
    let body = format!(
        "<section class=first><h1>{}</h1><p>Lägesbild enligt lagen (2023:196) om kommuners ansvar för brottsförebyggande arbete: brott och ordningsstörningar {}–{}, orsaker och åtgärdsplan.</p>\
         <h2>Händelser per år i kommunen</h2>{}<p>{}</p></section>\
         <section><h2>Brott och ordningsstörningar per område</h2>{}<h3>Per kategori</h3>{}</section>\
         <section><h2>Hotspots och deras varaktighet</h2><p class=muted>{}</p><table><thead><tr><th>DeSO</th><th>Hotspot år</th><th class=n>Antal år</th></tr></thead><tbody>{}</tbody></table></section>\
         <section><h2>Social bild och Polisens utsatta områden</h2>{}<h3>Mål</h3>{}</section>\
         <section><h2>Trygghetsvandringar</h2>{}</section>\
         <section><h2>Orsaksanalys</h2>{}</section>\
         <section><h2>Åtgärdsplan</h2>{}{}</section>{}",
        esc(&title),
        r.years.first().unwrap_or(&r.year),
        r.year,
        bars(&totals, "händelser"),
        esc(&r.county_note),
        years_table(r),
        category_table(r),
        esc(&r.hotspot_method),
        if hot.is_empty() { "<tr><td colspan=3>Inga hotspots.</td></tr>".to_string() } else { hot },
        social_table(r),
        goals_table(&r.goals),
        walks_section(r),
        cause,
        actions_table(&r.actions.iter().map(|f| f.action.clone()).collect::<Vec<_>>()),
        followup_table(&r.actions),
        sources_section(&r.rule, &r.sources, &r.left_out, &r.notes, &r.generated)
    );
    page(&title, &body)
}
