//! The EST report of a week, month or tertial: each area's status this period (the mean weekly
//! score against the EST rule, and its green/yellow/red weeks), the change since the period
//! before, the incidents behind each change by category and reporter, the group's bedömningar
//! and the insatser that ran in the period.

use super::html::{bars, esc, num, page, swatch, week_strip};
use super::period::{self, Period};
use super::{est_week, Inputs, ReportError};
use crate::classify::est::Status;
use crate::model::Incident;
use crate::picture::AreaPicture;
use crate::plan::{Action, Assessment};
use crate::units::{Unit, Units};
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Serialize)]
pub struct WeekLine {
    pub week: String,
    pub incidents: u64,
    pub score: f64,
    pub status: Status,
}

/// Counts now and in the period before, by a key (category or reporter).
#[derive(Debug, Clone, Serialize)]
pub struct Delta {
    pub key: String,
    pub now: u64,
    pub before: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct EstArea {
    pub code: String,
    pub name: String,
    pub kind: String,
    pub incidents: u64,
    /// Mean weekly score of the period.
    pub score: f64,
    pub status: Status,
    pub weeks: Vec<WeekLine>,
    pub green: u32,
    pub yellow: u32,
    pub red: u32,
    pub previous_incidents: u64,
    pub previous_score: f64,
    pub previous_status: Status,
    pub changed: bool,
    pub by_category: Vec<Delta>,
    pub by_reporter: Vec<Delta>,
    /// The newest bedömning of one of the period's weeks.
    pub assessment: Option<Assessment>,
}

#[derive(Debug, Clone, Serialize)]
pub struct EstReport {
    pub period: Period,
    pub previous: Period,
    pub rule: String,
    pub areas: Vec<EstArea>,
    pub actions: Vec<Action>,
    pub notes: Vec<String>,
    pub sources: Vec<String>,
    pub left_out: Vec<String>,
    pub generated: String,
}

fn deltas(now: &[&Incident], before: &[&Incident], key: impl Fn(&Incident) -> String) -> Vec<Delta> {
    let mut m: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for i in now {
        m.entry(key(i)).or_default().0 += 1;
    }
    for i in before {
        m.entry(key(i)).or_default().1 += 1;
    }
    let mut v: Vec<Delta> = m.into_iter().map(|(key, (now, before))| Delta { key, now, before }).collect();
    v.sort_by(|a, b| (b.now.abs_diff(b.before)).cmp(&a.now.abs_diff(a.before)).then(a.key.cmp(&b.key)));
    v
}

fn area_line(pic: &AreaPicture, u: &Unit, p: &Period, prev: &Period, assessments: &[Assessment]) -> EstArea {
    let rule = &pic.rules.est_rule;
    let weeks: Vec<WeekLine> = p
        .weeks
        .iter()
        .map(|w| {
            let (n, s) = est_week(pic, u, w, rule);
            WeekLine { week: w.clone(), incidents: n, score: s, status: rule.status(s) }
        })
        .collect();
    let now: Vec<&Incident> = super::incidents_between(pic, u, p.from, p.to).collect();
    let before: Vec<&Incident> = super::incidents_between(pic, u, prev.from, prev.to).collect();
    let score_of = |inc: &[&Incident], n: usize| inc.iter().map(|i| rule.weight(i.category)).sum::<f64>() / n.max(1) as f64;
    let (score, previous_score) = (score_of(&now, p.weeks.len()), score_of(&before, prev.weeks.len()));
    let count = |s: Status| weeks.iter().filter(|w| w.status == s).count() as u32;
    let (status, previous_status) = (rule.status(score), rule.status(previous_score));
    EstArea {
        code: u.code.clone(),
        name: u.name.clone(),
        kind: u.kind.clone(),
        incidents: now.len() as u64,
        score,
        status,
        green: count(Status::Green),
        yellow: count(Status::Yellow),
        red: count(Status::Red),
        weeks,
        previous_incidents: before.len() as u64,
        previous_score,
        previous_status,
        changed: status != previous_status,
        by_category: deltas(&now, &before, |i| i.category.label_sv().to_string()),
        by_reporter: deltas(&now, &before, |i| if i.reported_by.is_empty() { "okänd".into() } else { i.reported_by.clone() }),
        assessment: assessments.iter().filter(|a| a.area == u.code && p.weeks.contains(&a.iso_week)).last().cloned(),
    }
}

pub fn build(pic: &AreaPicture, units: &Units, inputs: &Inputs, period: &str) -> Result<EstReport, ReportError> {
    let p = period::parse(period)?;
    let prev = period::previous(&p);
    let areas: Vec<EstArea> = units.report_units().map(|u| area_line(pic, u, &p, &prev, &inputs.assessments)).collect();
    let actions: Vec<Action> = inputs.actions.iter().filter(|a| a.start <= p.to && a.end.is_none_or(|e| e >= p.from)).cloned().collect();
    let mut notes = vec![super::REPORTING_CAVEAT.to_string()];
    if pic.incidents.iter().any(|i| i.description.starts_with("Syntetisk")) {
        notes.push("Händelserna i demodata är syntetiska (genererade), inte verkliga.".into());
    }
    let reporters: std::collections::BTreeSet<&str> = pic.incidents.iter().map(|i| i.reported_by.as_str()).filter(|r| !r.is_empty()).collect();
    Ok(EstReport {
        rule: pic.rules.est_rule.describe_sv(),
        sources: vec![
            format!("Händelser i lagret från: {}.", reporters.into_iter().collect::<Vec<_>>().join(", ")),
            format!("Områden: SCB:s DeSO {} och RegSO; egna områden importerade med lagesbild import places.", pic.edition()),
            "Bedömningar och insatser: EST-gruppens register i lägesbildens lager.".into(),
        ],
        left_out: vec![
            "Händelser som bara är kända på kommunnivå (t.ex. Polisens händelser på kommunens mittpunkt) ingår inte i områdenas status.".into(),
            "Inga personuppgifter: rapporten visar antal, aldrig enskilda händelser.".into(),
        ],
        period: p,
        previous: prev,
        areas,
        actions,
        notes,
        generated: chrono::Local::now().format("%Y-%m-%d %H:%M").to_string(),
    })
}

fn status_table(r: &EstReport) -> String {
    let mut h = String::from(
        "<table><thead><tr><th>Område</th><th>Status</th><th class=n>Händelser</th><th class=n>Poäng/vecka</th><th>Veckor</th><th>Föregående period</th><th>Bedömning</th></tr></thead><tbody>",
    );
    for a in &r.areas {
        let strip: Vec<(String, Status)> = a.weeks.iter().map(|w| (w.week.clone(), w.status)).collect();
        let judged = a.assessment.as_ref().map(|x| format!("{} {}", swatch(x.status), esc(&x.comment))).unwrap_or_else(|| "–".into());
        h += &format!(
            "<tr><td>{}<br><span class=muted>{}</span></td><td>{}</td><td class=n>{}</td><td class=n>{}</td><td>{}</td><td>{} ({} händelser){}</td><td>{}</td></tr>",
            esc(&a.name),
            esc(&a.kind),
            swatch(a.status),
            a.incidents,
            num(a.score, 1),
            week_strip(&strip),
            swatch(a.previous_status),
            a.previous_incidents,
            if a.changed { " <b>ändrad</b>" } else { "" },
            judged
        );
    }
    h + "</tbody></table>"
}

fn changes(r: &EstReport) -> String {
    let changed: Vec<&EstArea> = r.areas.iter().filter(|a| a.changed).collect();
    if changed.is_empty() {
        return format!("<p>Inget område har bytt status sedan {}.</p>", esc(&r.previous.label_sv));
    }
    let mut h = String::new();
    for a in changed {
        h += &format!("<h3>{}: {} → {}</h3>", esc(&a.name), swatch(a.previous_status), swatch(a.status));
        h += "<table><thead><tr><th>Kategori</th><th class=n>Nu</th><th class=n>Före</th></tr></thead><tbody>";
        for d in a.by_category.iter().filter(|d| d.now != d.before) {
            h += &format!("<tr><td>{}</td><td class=n>{}</td><td class=n>{}</td></tr>", esc(&d.key), d.now, d.before);
        }
        h += "</tbody></table><table><thead><tr><th>Rapportör</th><th class=n>Nu</th><th class=n>Före</th></tr></thead><tbody>";
        for d in &a.by_reporter {
            h += &format!("<tr><td>{}</td><td class=n>{}</td><td class=n>{}</td></tr>", esc(&d.key), d.now, d.before);
        }
        h += "</tbody></table>";
    }
    h
}

pub fn actions_table(actions: &[Action]) -> String {
    if actions.is_empty() {
        return "<p>Inga insatser registrerade för perioden.</p>".into();
    }
    let mut h = String::from("<table><thead><tr><th>Insats</th><th>Område</th><th>Ansvarig</th><th>Period</th><th>Status</th><th>Nivå</th><th>Önskvärt resultat / utfall</th></tr></thead><tbody>");
    for a in actions {
        h += &format!(
            "<tr><td>{}<br><span class=muted>{}</span></td><td>{}</td><td>{}</td><td>{} – {}</td><td>{}</td><td>{}</td><td>{}<br><i>{}</i></td></tr>",
            esc(&a.title),
            esc(&a.problem),
            esc(&a.area),
            esc(&a.responsible),
            a.start,
            a.end.map(|d| d.to_string()).unwrap_or_default(),
            a.status.label_sv(),
            a.level.label_sv(),
            esc(&a.desired_result),
            esc(&a.outcome)
        );
    }
    h + "</tbody></table>"
}

pub fn sources_section(rule: &str, sources: &[String], left_out: &[String], notes: &[String], generated: &str) -> String {
    let li = |v: &[String]| v.iter().map(|s| format!("<li>{}</li>", esc(s))).collect::<String>();
    format!(
        "<section><h2>Källor och metod</h2><h3>Källor</h3><ul>{}</ul><h3>Inte med</h3><ul>{}</ul><h3>Metod</h3><p>EST-status: {}</p><ul>{}</ul><p class=muted>Skapad {} med lagesbild {}.</p></section>",
        li(sources),
        li(left_out),
        esc(rule),
        li(notes),
        esc(generated),
        env!("CARGO_PKG_VERSION")
    )
}

pub fn to_html(r: &EstReport) -> String {
    let title = format!("EST-rapport {}", r.period.label_sv);
    let totals: Vec<(String, f64)> = r.areas.iter().map(|a| (a.name.clone(), a.incidents as f64)).collect();
    let body = format!(
        "<section class=first><h1>{}</h1><p>Period {} – {} (veckor {}). Jämförs med {}.</p><p class=muted>{}</p><h2>Status per område</h2>{}</section>\
         <section><h2>Förändring sedan förra perioden</h2>{}<h3>Händelser per område</h3>{}</section>\
         <section><h2>Vidtagna åtgärder</h2>{}</section>{}",
        esc(&title),
        r.period.from,
        r.period.to,
        r.period.weeks.iter().map(|w| w.rsplit('W').next().unwrap_or("")).collect::<Vec<_>>().join(", "),
        esc(&r.previous.label_sv),
        esc(&r.rule),
        status_table(r),
        changes(r),
        bars(&totals, "st"),
        actions_table(&r.actions),
        sources_section(&r.rule, &r.sources, &r.left_out, &r.notes, &r.generated)
    );
    page(&title, &body)
}
