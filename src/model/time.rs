//! Time as lagesbild reads and labels it: ISO 8601 weeks and the date-time forms import files
//! and API requests use.
//!
//! In memory a time is Swedish local wall-clock time (Europe/Stockholm, daylight saving
//! included): days, ISO weeks and periods are cut there. In the store it is a GeoPackage
//! DATETIME in UTC (`YYYY-MM-DDTHH:MM:SS.SSSZ`); in JSON it carries its offset.

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Europe::Stockholm;

/// The instant of a Swedish local time. In the autumn hour that occurs twice the first (summer
/// time) is taken; a time in the spring gap, which no clock showed, is read an hour later.
pub fn stockholm(local: NaiveDateTime) -> DateTime<chrono_tz::Tz> {
    Stockholm
        .from_local_datetime(&local)
        .earliest()
        .or_else(|| Stockholm.from_local_datetime(&(local + chrono::Duration::hours(1))).earliest())
        .unwrap_or_else(|| Stockholm.from_utc_datetime(&local))
}

/// Swedish local time of an instant.
pub fn local_of<Z: TimeZone>(t: &DateTime<Z>) -> NaiveDateTime {
    t.with_timezone(&Stockholm).naive_local()
}

/// A Swedish local time as a GeoPackage DATETIME in UTC: `2025-03-09T23:30:00.000Z`.
pub fn to_utc_text(local: NaiveDateTime) -> String {
    stockholm(local).with_timezone(&Utc).format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// Now, as a GeoPackage DATETIME in UTC: how every stored time of lagesbild's own (import,
/// audit, gallring) is written.
pub fn now_utc_text() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// A Swedish local time in RFC 3339 with its offset: `2025-03-10T00:30:00+01:00`.
pub fn with_offset(local: NaiveDateTime) -> String {
    stockholm(local).to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
}

/// ISO week label of a timestamp, e.g. `2025-W07`.
pub fn iso_week(t: &NaiveDateTime) -> String {
    let w = t.date().iso_week();
    format!("{}-W{:02}", w.year(), w.week())
}

/// RFC 3339, `YYYY-MM-DD HH:MM[:SS]` (with or without offset, `T` or space), `HH.MM`, or a bare
/// date (ISO, `YYYYMMDD`, `DD/MM/YYYY`, `DD.MM.YYYY`) at midnight. Without an offset the time
/// is Swedish local time; with one (`Z`, `+02:00`) it names an instant, given back as the
/// Swedish local time of that instant.
pub fn parse_datetime(raw: &str) -> Option<NaiveDateTime> {
    let t = raw.trim();
    if t.is_empty() {
        return None;
    }
    if let Some(d) = fixed_width_datetime(t) {
        return Some(d);
    }
    if let Ok(d) = chrono::DateTime::parse_from_rfc3339(t) {
        return Some(local_of(&d));
    }
    for f in ["%Y-%m-%d %H:%M:%S %:z", "%Y-%m-%d %H:%M:%S %z", "%Y-%m-%dT%H:%M:%S%.f%:z", "%Y-%m-%d %H:%M:%S%.f%:z", "%Y-%m-%d %H:%M:%S%#z"] {
        if let Ok(d) = chrono::DateTime::parse_from_str(t, f) {
            return Some(local_of(&d));
        }
    }
    if let Some(utc) = t.strip_suffix('Z').or_else(|| t.strip_suffix('z')) {
        for f in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M"] {
            if let Ok(d) = NaiveDateTime::parse_from_str(utc, f) {
                return Some(local_of(&Utc.from_utc_datetime(&d)));
            }
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

    #[test]
    fn offsets_name_an_instant_and_come_back_as_swedish_local_time() {
        let at = |d: &str| NaiveDateTime::parse_from_str(d, "%Y-%m-%d %H:%M").unwrap();
        // 17:30 UTC is 18:30 in Stockholm in March (CET, +01:00) and 19:30 in July (CEST, +02:00).
        assert_eq!(parse_datetime("2025-03-14T17:30:00Z"), Some(at("2025-03-14 18:30")));
        assert_eq!(parse_datetime("2025-07-14T17:30:00.000Z"), Some(at("2025-07-14 19:30")));
        assert_eq!(parse_datetime("2025-07-14T18:30:00+01:00"), Some(at("2025-07-14 19:30")));
        assert_eq!(parse_datetime("2025-07-14 19:30"), Some(at("2025-07-14 19:30")), "no offset: Swedish local time");
    }

    #[test]
    fn half_past_midnight_on_a_monday_is_stored_in_utc_and_falls_in_that_monday_s_week() {
        let at = |d: &str| NaiveDateTime::parse_from_str(d, "%Y-%m-%d %H:%M").unwrap();
        // 2025-03-10 and 2025-07-07 are Mondays (ISO weeks 11 and 28); in UTC it is still Sunday.
        let march = parse_datetime("2025-03-10 00:30").unwrap();
        assert_eq!(to_utc_text(march), "2025-03-09T23:30:00.000Z");
        assert_eq!(iso_week(&march), "2025-W11");
        let july = parse_datetime("2025-07-07 00:30").unwrap();
        assert_eq!(to_utc_text(july), "2025-07-06T22:30:00.000Z");
        assert_eq!(iso_week(&july), "2025-W28");
        // Stored and read back, the week is the same.
        assert_eq!(parse_datetime(&to_utc_text(july)), Some(at("2025-07-07 00:30")));
        assert_eq!(parse_datetime(&to_utc_text(march)), Some(at("2025-03-10 00:30")));
        assert_eq!(with_offset(march), "2025-03-10T00:30:00+01:00");
        assert_eq!(with_offset(july), "2025-07-07T00:30:00+02:00");
        // The autumn hour that occurs twice is read as summer time; the spring gap an hour later.
        assert_eq!(to_utc_text(at("2025-10-26 02:30")), "2025-10-26T00:30:00.000Z");
        assert_eq!(to_utc_text(at("2025-03-30 02:30")), "2025-03-30T01:30:00.000Z");
    }
}
