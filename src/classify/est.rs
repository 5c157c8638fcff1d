//! EST weekly status: per area and ISO week a weighted incident score, and thresholds that give
//! green, yellow or red, with the rule written next to the result. Per period (tertial, year) the
//! number of green, yellow and red weeks, as in the EST group's yearly report, and what changed
//! since last week.

use crate::model::{Category, Incident};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Green,
    Yellow,
    Red,
}

impl Status {
    pub fn label_sv(self) -> &'static str {
        match self {
            Status::Green => "grön",
            Status::Yellow => "gul",
            Status::Red => "röd",
        }
    }
}

/// Category weights and thresholds. A week is yellow from `yellow_from` points and red from
/// `red_from` points.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EstRule {
    pub weights: BTreeMap<Category, f64>,
    /// Weight of categories not listed.
    pub default_weight: f64,
    pub yellow_from: f64,
    pub red_from: f64,
}

impl Default for EstRule {
    /// Shootings and explosions weigh far more than graffiti; one serious event makes a red week.
    fn default() -> Self {
        use Category::*;
        let weights = [
            (Skjutning, 10.0),
            (Sprangning, 10.0),
            (Upplopp, 6.0),
            (KriminellPaverkan, 4.0),
            (AnlagdBrand, 3.0),
            (OppenDrogscen, 3.0),
            (Vald, 3.0),
            (Ran, 3.0),
            (Narkotika, 2.0),
            (OtrygghetsskapandeSamling, 2.0),
            (Inbrott, 2.0),
            (Skadegorelse, 1.0),
            (StokILokaler, 1.0),
            (Storningsarende, 1.0),
            (Stold, 1.0),
            (Brand, 1.0),
            (Klotter, 0.5),
            (Nedskrapning, 0.5),
            (Trafik, 0.0),
            (Ovrigt, 0.5),
        ]
        .into_iter()
        .collect();
        EstRule { weights, default_weight: 1.0, yellow_from: 3.0, red_from: 8.0 }
    }
}

impl EstRule {
    pub fn weight(&self, c: Category) -> f64 {
        self.weights.get(&c).copied().unwrap_or(self.default_weight)
    }

    pub fn status(&self, score: f64) -> Status {
        if score >= self.red_from {
            Status::Red
        } else if score >= self.yellow_from {
            Status::Yellow
        } else {
            Status::Green
        }
    }

    /// The rule in Swedish, shown next to every result.
    pub fn describe_sv(&self) -> String {
        format!(
            "Poäng = summan av kategorivikter för veckans händelser (t.ex. skjutning {}, klotter {}). Grön: under {}; gul: {} till under {}; röd: {} eller mer.",
            fmt(self.weight(Category::Skjutning)),
            fmt(self.weight(Category::Klotter)),
            fmt(self.yellow_from),
            fmt(self.yellow_from),
            fmt(self.red_from),
            fmt(self.red_from)
        )
    }
}

fn fmt(v: f64) -> String {
    crate::model::format_number_sv(v)
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WeekStatus {
    pub area: String,
    pub iso_week: String,
    pub incidents: u64,
    pub score: f64,
    pub status: Status,
}

/// Scores every area for every week in `weeks` (weeks without incidents are green with score 0).
/// `incidents` pairs each incident with the areas it falls in (one for DeSO/RegSO; custom areas
/// may overlap).
pub fn weekly_status(areas: &[String], weeks: &[String], incidents: &[(Vec<String>, &Incident)], rule: &EstRule) -> Vec<WeekStatus> {
    weekly_status_with_counts(areas, weeks, incidents, &[], rule)
}

/// Counts of one area, ISO week and category kept without their points (after gallring).
pub type KeptCount = (String, String, crate::model::Category, u64);

/// As [`weekly_status`], adding counts kept without points, so a thinned week scores as before.
pub fn weekly_status_with_counts(
    areas: &[String],
    weeks: &[String],
    incidents: &[(Vec<String>, &Incident)],
    kept: &[KeptCount],
    rule: &EstRule,
) -> Vec<WeekStatus> {
    let mut acc: HashMap<(&str, String), (u64, f64)> = HashMap::new();
    for (area, week, category, n) in kept {
        let e = acc.entry((area.as_str(), week.clone())).or_default();
        e.0 += n;
        e.1 += *n as f64 * rule.weight(*category);
    }
    for (in_areas, inc) in incidents {
        let w = crate::model::iso_week(&inc.occurred_at);
        for a in in_areas {
            let e = acc.entry((a.as_str(), w.clone())).or_default();
            e.0 += 1;
            e.1 += rule.weight(inc.category);
        }
    }
    let mut out = Vec::with_capacity(areas.len() * weeks.len());
    for a in areas {
        for w in weeks {
            let (n, score) = acc.get(&(a.as_str(), w.clone())).copied().unwrap_or((0, 0.0));
            out.push(WeekStatus { area: a.clone(), iso_week: w.clone(), incidents: n, score, status: rule.status(score) });
        }
    }
    out
}

/// All ISO weeks from `first` to `last` inclusive (both as timestamps), in order.
pub fn weeks_between(first: chrono::NaiveDate, last: chrono::NaiveDate) -> Vec<String> {
    let mut out = Vec::new();
    let mut d = first;
    while d <= last {
        let w = crate::model::iso_week(&d.and_hms_opt(0, 0, 0).expect("midnight"));
        if out.last() != Some(&w) {
            out.push(w);
        }
        d += chrono::Duration::days(1);
    }
    out
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Period {
    Tertial,
    Year,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PeriodCount {
    pub area: String,
    /// `2025` or `2025 T1` (T1 = weeks whose Thursday falls in January–April, T2 May–August, T3 September–December).
    pub period: String,
    pub green: u32,
    pub yellow: u32,
    pub red: u32,
}

fn period_of(iso_week: &str, p: Period) -> String {
    let (y, w) = iso_week.split_once("-W").expect("ISO week label");
    let year: i32 = y.parse().expect("year");
    let week: u32 = w.parse().expect("week");
    match p {
        Period::Year => y.to_string(),
        Period::Tertial => {
            let thursday = chrono::NaiveDate::from_isoywd_opt(year, week, chrono::Weekday::Thu).expect("valid ISO week");
            use chrono::Datelike;
            format!("{} T{}", y, (thursday.month() - 1) / 4 + 1)
        }
    }
}

pub fn period_counts(statuses: &[WeekStatus], p: Period) -> Vec<PeriodCount> {
    let mut m: BTreeMap<(String, String), [u32; 3]> = BTreeMap::new();
    for s in statuses {
        let e = m.entry((s.area.clone(), period_of(&s.iso_week, p))).or_default();
        e[s.status as usize] += 1;
    }
    m.into_iter().map(|((area, period), c)| PeriodCount { area, period, green: c[0], yellow: c[1], red: c[2] }).collect()
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    pub area: String,
    pub from: Status,
    pub to: Status,
    pub score_before: f64,
    pub score_now: f64,
}

/// Areas whose status differs between `week` and the week before it.
pub fn changes_since_last_week(statuses: &[WeekStatus], week: &str) -> Vec<Change> {
    let mut by_area: BTreeMap<&str, Vec<&WeekStatus>> = BTreeMap::new();
    for s in statuses {
        by_area.entry(&s.area).or_default().push(s);
    }
    let mut out = Vec::new();
    for (area, mut v) in by_area {
        v.sort_by(|a, b| a.iso_week.cmp(&b.iso_week));
        if let Some(k) = v.iter().position(|s| s.iso_week == week) {
            if k > 0 && v[k - 1].status != v[k].status {
                out.push(Change { area: area.to_string(), from: v[k - 1].status, to: v[k].status, score_before: v[k - 1].score, score_now: v[k].score });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Precision;

    fn inc(cat: Category, day: &str) -> Incident {
        Incident {
            id: day.into(),
            category: cat,
            source_label: String::new(),
            occurred_at: chrono::NaiveDateTime::parse_from_str(&format!("{day} 12:00"), "%Y-%m-%d %H:%M").unwrap(),
            reported_by: "kommun".into(),
            precision: Precision::Exact,
            description: String::new(),
            import_id: String::new(),
            location: geo::Point::new(0.0, 0.0),
        }
    }

    #[test]
    fn scores_thresholds_and_quiet_areas() {
        let rule = EstRule::default();
        let a = vec!["A".to_string(), "B".to_string(), "C".to_string()];
        let weeks = weeks_between(chrono::NaiveDate::from_ymd_opt(2025, 3, 3).unwrap(), chrono::NaiveDate::from_ymd_opt(2025, 3, 16).unwrap());
        assert_eq!(weeks, vec!["2025-W10", "2025-W11"]);
        let i1 = inc(Category::Klotter, "2025-03-04");
        let i2 = inc(Category::Skjutning, "2025-03-12");
        let i3 = inc(Category::Narkotika, "2025-03-05");
        let i4 = inc(Category::Skadegorelse, "2025-03-06");
        let list: Vec<(Vec<String>, &Incident)> = vec![(vec!["A".into()], &i1), (vec!["A".into()], &i2), (vec!["B".into()], &i3), (vec!["B".into()], &i4)];
        let s = weekly_status(&a, &weeks, &list, &rule);
        let get = |area: &str, w: &str| s.iter().find(|x| x.area == area && x.iso_week == w).unwrap().clone();
        assert_eq!((get("A", "2025-W10").score, get("A", "2025-W10").status), (0.5, Status::Green));
        assert_eq!((get("A", "2025-W11").score, get("A", "2025-W11").status), (10.0, Status::Red));
        // Exactly at the yellow threshold (2 + 1 = 3) is yellow.
        assert_eq!((get("B", "2025-W10").score, get("B", "2025-W10").status), (3.0, Status::Yellow));
        // An area with no incidents is green in every week, with zero counts.
        assert!(s.iter().filter(|x| x.area == "C").all(|x| x.status == Status::Green && x.incidents == 0));
        let ch = changes_since_last_week(&s, "2025-W11");
        assert_eq!(ch.len(), 2);
        assert_eq!((ch[0].area.as_str(), ch[0].from, ch[0].to), ("A", Status::Green, Status::Red));
        assert_eq!((ch[1].area.as_str(), ch[1].from, ch[1].to), ("B", Status::Yellow, Status::Green));
        let p = period_counts(&s, Period::Tertial);
        assert_eq!(p.iter().find(|x| x.area == "A").unwrap(), &PeriodCount { area: "A".into(), period: "2025 T1".into(), green: 1, yellow: 0, red: 1 });
        assert!(rule.describe_sv().contains("röd: 8 eller mer"));
    }

    #[test]
    fn tertials_follow_the_thursday_of_the_iso_week() {
        assert_eq!(period_of("2025-W18", Period::Tertial), "2025 T2"); // Thursday 1 May 2025
        assert_eq!(period_of("2025-W17", Period::Tertial), "2025 T1");
        assert_eq!(period_of("2026-W53", Period::Tertial), "2026 T3");
        assert_eq!(period_of("2025-W01", Period::Year), "2025");
    }
}
