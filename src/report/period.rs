//! Report periods as the EST group names them: an ISO week (`2026-W12`), a month (`2026-03`) or
//! a tertial (`2026-T1`, January–April, as Sollentuna reports to its nämnder). A week belongs
//! to the month or tertial of its Thursday, as ISO weeks belong to years.

use super::ReportError;
use chrono::{Datelike, NaiveDate, Weekday};
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Period {
    /// As given, e.g. `2026-T1`.
    pub label: String,
    /// Swedish label, e.g. `tertial 1 2026`.
    pub label_sv: String,
    /// The ISO weeks of the period, in order.
    pub weeks: Vec<String>,
    pub from: NaiveDate,
    pub to: NaiveDate,
}

fn thursday(y: i32, w: u32) -> Option<NaiveDate> {
    NaiveDate::from_isoywd_opt(y, w, Weekday::Thu)
}

/// Weeks whose Thursday falls on `from..=to`, with the period's first Monday and last Sunday.
fn weeks_with_thursday_in(from: NaiveDate, to: NaiveDate) -> (Vec<String>, NaiveDate, NaiveDate) {
    let mut d = from;
    while d.weekday() != Weekday::Thu {
        d += chrono::Duration::days(1);
    }
    let first_monday = d - chrono::Duration::days(3);
    let mut weeks = Vec::new();
    let mut last_sunday = first_monday;
    while d <= to {
        let w = d.iso_week();
        weeks.push(format!("{}-W{:02}", w.year(), w.week()));
        last_sunday = d + chrono::Duration::days(3);
        d += chrono::Duration::days(7);
    }
    (weeks, first_monday, last_sunday)
}

const MONTHS_SV: [&str; 12] = ["januari", "februari", "mars", "april", "maj", "juni", "juli", "augusti", "september", "oktober", "november", "december"];

pub fn parse(s: &str) -> Result<Period, ReportError> {
    let bad = || ReportError::Period(s.to_string());
    let t = s.trim();
    let (y, rest) = t.split_once('-').ok_or_else(bad)?;
    let year: i32 = y.parse().map_err(|_| bad())?;
    if !(2000..=2100).contains(&year) {
        return Err(bad());
    }
    if let Some(w) = rest.strip_prefix('W') {
        let w: u32 = w.parse().map_err(|_| bad())?;
        let th = thursday(year, w).ok_or_else(bad)?;
        let mon = th - chrono::Duration::days(3);
        return Ok(Period {
            label: format!("{year}-W{w:02}"),
            label_sv: format!("vecka {w} {year}"),
            weeks: vec![format!("{year}-W{w:02}")],
            from: mon,
            to: mon + chrono::Duration::days(6),
        });
    }
    let (first, last, label, label_sv) = if let Some(tn) = rest.strip_prefix('T') {
        let tn: u32 = tn.parse().map_err(|_| bad())?;
        if !(1..=3).contains(&tn) {
            return Err(bad());
        }
        let first = NaiveDate::from_ymd_opt(year, 4 * (tn - 1) + 1, 1).ok_or_else(bad)?;
        let last = if tn == 3 {
            NaiveDate::from_ymd_opt(year, 12, 31)
        } else {
            NaiveDate::from_ymd_opt(year, 4 * tn + 1, 1).map(|d| d.pred_opt().expect("a day before"))
        }
        .ok_or_else(bad)?;
        (first, last, format!("{year}-T{tn}"), format!("tertial {tn} {year}"))
    } else {
        let m: u32 = rest.parse().map_err(|_| bad())?;
        let first = NaiveDate::from_ymd_opt(year, m, 1).ok_or_else(bad)?;
        let next = if m == 12 { NaiveDate::from_ymd_opt(year + 1, 1, 1) } else { NaiveDate::from_ymd_opt(year, m + 1, 1) }.ok_or_else(bad)?;
        (first, next.pred_opt().ok_or_else(bad)?, format!("{year}-{m:02}"), format!("{} {year}", MONTHS_SV[(m - 1) as usize]))
    };
    let (weeks, from, to) = weeks_with_thursday_in(first, last);
    Ok(Period { label, label_sv, weeks, from, to })
}

/// The period of the same kind just before (the week, month or tertial before).
pub fn previous(p: &Period) -> Period {
    let (y, rest) = p.label.split_once('-').expect("a parsed label");
    let year: i32 = y.parse().expect("a parsed year");
    let label = if rest.starts_with('W') {
        let prev = p.from - chrono::Duration::days(7);
        let w = prev.iso_week();
        format!("{}-W{:02}", w.year(), w.week())
    } else if let Some(tn) = rest.strip_prefix('T') {
        let tn: u32 = tn.parse().expect("a parsed tertial");
        if tn == 1 {
            format!("{}-T3", year - 1)
        } else {
            format!("{year}-T{}", tn - 1)
        }
    } else {
        let m: u32 = rest.parse().expect("a parsed month");
        if m == 1 {
            format!("{}-12", year - 1)
        } else {
            format!("{year}-{:02}", m - 1)
        }
    };
    parse(&label).expect("the period before a valid one is valid")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn march_2026_holds_the_weeks_whose_thursday_is_in_march() {
        // 2026-03-05 is the first Thursday of March 2026 (week 10); 2026-03-26 the last (week 13).
        let p = parse("2026-03").unwrap();
        assert_eq!(p.weeks, vec!["2026-W10", "2026-W11", "2026-W12", "2026-W13"]);
        assert_eq!((p.from.to_string(), p.to.to_string()), ("2026-03-02".into(), "2026-03-29".into()));
        assert_eq!(previous(&p).label, "2026-02");
    }

    #[test]
    fn the_first_tertial_follows_the_third_of_the_year_before() {
        let t1 = parse("2026-T1").unwrap();
        // 2026-01-01 is a Thursday, so week 1 belongs to T1; 2026-04-30 is a Thursday (week 18).
        assert_eq!(t1.weeks.first().map(String::as_str), Some("2026-W01"));
        assert_eq!(t1.weeks.last().map(String::as_str), Some("2026-W18"));
        assert_eq!(previous(&t1).label, "2025-T3");
        assert_eq!(previous(&parse("2026-W01").unwrap()).label, "2025-W52");
        assert!(parse("2026-T4").is_err() && parse("2026-W54").is_err() && parse("2026-13").is_err());
    }
}
