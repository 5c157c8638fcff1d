//! The åtgärdsplan and the EST group's own judgements: insatser (what, who, where, when, status)
//! and the bedömning a group sets beside a computed EST status. Plain data and its rules; the
//! store keeps it (`store/plan.rs`), the API and the reports read it. No personal data: an
//! insats names an organisation, never a person.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ActionStatus {
    Planned,
    Ongoing,
    Done,
    Cancelled,
}

impl ActionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ActionStatus::Planned => "planned",
            ActionStatus::Ongoing => "ongoing",
            ActionStatus::Done => "done",
            ActionStatus::Cancelled => "cancelled",
        }
    }
    pub fn parse(s: &str) -> Option<ActionStatus> {
        [ActionStatus::Planned, ActionStatus::Ongoing, ActionStatus::Done, ActionStatus::Cancelled].into_iter().find(|x| x.as_str() == s)
    }
    pub fn label_sv(self) -> &'static str {
        match self {
            ActionStatus::Planned => "planerad",
            ActionStatus::Ongoing => "pågående",
            ActionStatus::Done => "genomförd",
            ActionStatus::Cancelled => "avbruten",
        }
    }
}

/// The three levels of crime prevention (Brå): general, group-oriented, individual.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ActionLevel {
    General,
    Group,
    Individual,
}

impl ActionLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            ActionLevel::General => "general",
            ActionLevel::Group => "group",
            ActionLevel::Individual => "individual",
        }
    }
    pub fn parse(s: &str) -> Option<ActionLevel> {
        [ActionLevel::General, ActionLevel::Group, ActionLevel::Individual].into_iter().find(|x| x.as_str() == s)
    }
    pub fn label_sv(self) -> &'static str {
        match self {
            ActionLevel::General => "generell",
            ActionLevel::Group => "grupp",
            ActionLevel::Individual => "individ",
        }
    }
}

/// One insats of the åtgärdsplan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Action {
    pub id: String,
    pub title: String,
    /// A DeSO or RegSO code, a RegSO name or a place name.
    pub area: String,
    pub problem: String,
    /// The organisation responsible (never a person).
    pub responsible: String,
    pub start: NaiveDate,
    pub end: Option<NaiveDate>,
    /// Önskvärt resultat.
    pub desired_result: String,
    /// Utfall.
    pub outcome: String,
    pub status: ActionStatus,
    pub level: ActionLevel,
    /// A walk observation this insats answers.
    pub finding: Option<String>,
    /// A hotspot (DeSO code or grid cell id) this insats answers.
    pub hotspot: Option<String>,
    pub created_by: String,
    pub created_at: String,
    pub updated_by: String,
    pub updated_at: String,
    pub version: i64,
}

/// A field that breaks a rule of the register.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{field}: {message}")]
pub struct Invalid {
    pub field: &'static str,
    pub message: String,
}

fn invalid(field: &'static str, message: impl Into<String>) -> Invalid {
    Invalid { field, message: message.into() }
}

/// Checks what a client may set: a title, an area that exists, dates in order.
pub fn validate(a: &Action, area_exists: &dyn Fn(&str) -> bool) -> Result<(), Invalid> {
    if a.title.trim().is_empty() {
        return Err(invalid("title", "an insats needs a title"));
    }
    if a.title.chars().count() > 200 || a.problem.chars().count() > 4000 || a.outcome.chars().count() > 4000 || a.desired_result.chars().count() > 4000 {
        return Err(invalid("title", "title at most 200 characters; problem, desired_result and outcome at most 4000"));
    }
    if a.responsible.trim().is_empty() {
        return Err(invalid("responsible", "name the responsible organisation"));
    }
    if !area_exists(&a.area) {
        return Err(invalid("area", format!("'{}' is not a DeSO or RegSO code, a RegSO name or a place name in the store", a.area)));
    }
    if a.end.is_some_and(|e| e < a.start) {
        return Err(invalid("end", "end is before start"));
    }
    Ok(())
}

/// Parses `YYYY-MM-DD`.
pub fn parse_date(field: &'static str, s: &str) -> Result<NaiveDate, Invalid> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").map_err(|_| invalid(field, format!("'{s}' is not a date (ÅÅÅÅ-MM-DD)")))
}

/// The EST group's own status of an area in a week, kept beside the computed one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Assessment {
    pub area: String,
    pub iso_week: String,
    pub status: crate::classify::est::Status,
    pub comment: String,
    pub by: String,
    pub at: String,
}

/// The orsaksanalys of a year: free text written by people, kept per year with who and when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CauseAnalysis {
    pub year: i32,
    pub text: String,
    pub by: String,
    pub at: String,
}

/// `2026-W12` → (2026, 12) when the week exists.
pub fn parse_iso_week(s: &str) -> Option<(i32, u32)> {
    let (y, w) = s.split_once("-W")?;
    let (y, w): (i32, u32) = (y.parse().ok()?, w.parse().ok()?);
    NaiveDate::from_isoywd_opt(y, w, chrono::Weekday::Mon).map(|_| (y, w))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn action() -> Action {
        Action {
            id: "a".into(),
            title: "Belysning vid torget".into(),
            area: "Tureberg".into(),
            problem: "Mörkt".into(),
            responsible: "Tekniska kontoret".into(),
            start: NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(),
            end: Some(NaiveDate::from_ymd_opt(2026, 2, 1).unwrap()),
            desired_result: String::new(),
            outcome: String::new(),
            status: ActionStatus::Planned,
            level: ActionLevel::General,
            finding: None,
            hotspot: None,
            created_by: String::new(),
            created_at: String::new(),
            updated_by: String::new(),
            updated_at: String::new(),
            version: 1,
        }
    }

    #[test]
    fn an_insats_ending_before_it_starts_is_refused_by_its_end_field() {
        assert_eq!(validate(&action(), &|_| true).unwrap_err().field, "end");
    }

    #[test]
    fn an_insats_in_an_unknown_area_is_refused_by_its_area_field() {
        let a = Action { end: None, ..action() };
        assert_eq!(validate(&a, &|_| false).unwrap_err().field, "area");
        assert!(validate(&a, &|_| true).is_ok());
    }

    #[test]
    fn week_53_exists_only_in_long_iso_years() {
        // 2026 has 53 ISO weeks (1 January 2026 is a Thursday); 2025 has 52.
        assert_eq!(parse_iso_week("2026-W53"), Some((2026, 53)));
        assert_eq!(parse_iso_week("2025-W53"), None);
    }
}
