//! Time as lagesbild reads and labels it: ISO 8601 weeks and the date-time forms import files
//! and API requests use.

use chrono::{Datelike, NaiveDate, NaiveDateTime};

/// ISO week label of a timestamp, e.g. `2025-W07`.
pub fn iso_week(t: &NaiveDateTime) -> String {
    let w = t.date().iso_week();
    format!("{}-W{:02}", w.year(), w.week())
}

/// RFC 3339, `YYYY-MM-DD HH:MM[:SS]` (with or without offset, `T` or space), `HH.MM`, or a bare
/// date (ISO, `YYYYMMDD`, `DD/MM/YYYY`, `DD.MM.YYYY`) at midnight. Offsets keep local time.
pub fn parse_datetime(raw: &str) -> Option<NaiveDateTime> {
    let t = raw.trim();
    if t.is_empty() {
        return None;
    }
    if let Some(d) = fixed_width_datetime(t) {
        return Some(d);
    }
    if let Ok(d) = chrono::DateTime::parse_from_rfc3339(t) {
        return Some(d.naive_local());
    }
    for f in ["%Y-%m-%d %H:%M:%S %:z", "%Y-%m-%d %H:%M:%S %z"] {
        if let Ok(d) = chrono::DateTime::parse_from_str(t, f) {
            return Some(d.naive_local());
        }
    }
    for f in ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d %H.%M"] {
        if let Ok(d) = NaiveDateTime::parse_from_str(t, f) {
            return Some(d);
        }
    }
    for f in ["%Y-%m-%d", "%Y%m%d", "%d/%m/%Y", "%d.%m.%Y"] {
        if let Ok(d) = NaiveDate::parse_from_str(t, f) {
            return d.and_hms_opt(0, 0, 0);
        }
    }
    None
}

/// The common zero-padded forms `2025-03-14`, `2025-03-14 18:30` and `2025-03-14T18:30:05`,
/// read without chrono's format machinery (the import reads millions of them). Anything else,
/// including impossible dates, is left to the general parser.
fn fixed_width_datetime(t: &str) -> Option<NaiveDateTime> {
    let b = t.as_bytes();
    if !matches!(b.len(), 10 | 16 | 19) || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> { b[r].iter().try_fold(0u32, |acc, &c| c.is_ascii_digit().then(|| acc * 10 + (c - b'0') as u32)) };
    let date = NaiveDate::from_ymd_opt(num(0..4)? as i32, num(5..7)?, num(8..10)?)?;
    if b.len() == 10 {
        return date.and_hms_opt(0, 0, 0);
    }
    if !matches!(b[10], b' ' | b'T') || b[13] != b':' || (b.len() == 19 && b[16] != b':') {
        return None;
    }
    let sec = if b.len() == 19 { num(17..19)? } else { 0 };
    date.and_hms_opt(num(11..13)?, num(14..16)?, sec)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_weeks_follow_iso_8601_at_year_ends() {
        let t = |s| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap();
        assert_eq!(iso_week(&t("2024-12-30 10:00")), "2025-W01");
        assert_eq!(iso_week(&t("2027-01-01 10:00")), "2026-W53");
        assert_eq!(iso_week(&t("2025-02-12 23:59")), "2025-W07");
    }

    #[test]
    fn swedish_date_forms_parse_to_the_same_time() {
        let want = NaiveDate::from_ymd_opt(2025, 3, 14).unwrap().and_hms_opt(18, 30, 0);
        assert_eq!(parse_datetime("2025-03-14 18.30"), want);
        assert_eq!(parse_datetime("2025-03-14T18:30:00+01:00"), want);
        assert_eq!(parse_datetime("14.03.2025"), NaiveDate::from_ymd_opt(2025, 3, 14).unwrap().and_hms_opt(0, 0, 0));
        assert_eq!(parse_datetime("den fjortonde"), None);
    }
}
