//! The EST theme "Läget vecka N": `GET /api/est?week=&level=` gives every area's computed status
//! for a week beside the EST group's bedömning; `GET/PUT /api/est/{area}/{week}` reads and sets
//! a bedömning (editors), kept beside the computed status with its history.

use super::actions::{plan_store, require_writer};
use super::auth::Caller;
use super::error::{check_params, ApiError};
use super::walks::{blocking, parse_json, who};
use super::AppState;
use crate::classify::est::Status;
use crate::plan::{parse_iso_week, Assessment};
use crate::report::est_week;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

fn week_param(w: &str) -> Result<String, ApiError> {
    let (y, n) = parse_iso_week(w).ok_or_else(|| ApiError::BadRequest(format!("week '{w}' is not an ISO week (2026-W12)")))?;
    Ok(format!("{y}-W{n:02}"))
}

/// The computed status as a role may see it: a small count (and the score that gives it away)
/// is hidden below the analyst role; the colour stays.
fn computed_json(s: &AppState, caller: &Caller, n: u64, score: f64, status: Status) -> Value {
    let hide = caller.role.min_count(s.config.min_public_count).is_some_and(|m| crate::privacy::is_small(n, m));
    if hide {
        json!({"status": status, "status_sv": status.label_sv(), "incidents": null, "incidents_suppressed": true, "score": null})
    } else {
        json!({"status": status, "status_sv": status.label_sv(), "incidents": n, "score": score})
    }
}

fn assessment_json(a: &Assessment, caller: &Caller) -> Value {
    let mut v = json!({"status": a.status, "status_sv": a.status.label_sv(), "comment": a.comment, "at": a.at});
    // Who set it is for those who work with the plan.
    if caller.role.reads_reports() {
        v["by"] = a.by.clone().into();
    }
    v
}

/// `GET /api/est?week=2026-W12&level=deso|regso|place` (default: the last week with data, DeSO).
pub async fn weeks(State(s): State<AppState>, caller: Caller, RawQuery(q): RawQuery) -> Result<Response, ApiError> {
    let pairs = check_params(q.as_deref(), &["week", "level"])?;
    let get = |k: &str| pairs.iter().find(|(a, _)| a == k).map(|(_, v)| v.clone());
    let level = get("level").unwrap_or_else(|| "deso".into());
    if !["deso", "regso", "place"].contains(&level.as_str()) {
        return Err(ApiError::BadRequest(format!("level '{level}' is not one of deso, regso, place")));
    }
    let week = get("week").map(|w| week_param(&w)).transpose()?;
    let st = s.clone();
    let plan = s.plan.clone();
    let (all_weeks, week, rows, assessed) = blocking(move || {
        let pic = &st.layers.picture;
        let all_weeks = crate::report::data_weeks(pic);
        let week = week.or_else(|| all_weeks.last().cloned()).unwrap_or_default();
        let rule = &pic.rules.est_rule;
        let rows: Vec<(crate::units::Unit, u64, f64, Status)> = st
            .layers
            .units
            .of_level(&level)
            .map(|u| {
                let (n, score) = est_week(pic, u, &week, rule);
                (u.clone(), n, score, rule.status(score))
            })
            .collect();
        let assessed = match plan {
            Some(p) => crate::report::current_assessments(&p.assessments()?),
            None => Default::default(),
        };
        Ok((all_weeks, week, rows, assessed))
    })
    .await?;
    let pic = &s.layers.picture;
    let areas: Vec<Value> = rows
        .iter()
        .map(|(u, n, score, status)| {
            let a = assessed.get(&(u.code.clone(), week.clone()));
            json!({
                "area": u.code, "name": u.name, "kind": u.kind, "caveat": u.caveat,
                "computed": computed_json(&s, &caller, *n, *score, *status),
                "assessment": a.map(|a| assessment_json(a, &caller)),
                "shown": a.map(|a| a.status).unwrap_or(*status),
            })
        })
        .collect();
    let rule = &pic.rules.est_rule;
    let body = json!({
        "week": week, "weeks": all_weeks, "level": rows.first().map(|r| r.0.level).unwrap_or("deso"),
        "rule": rule.describe_sv(), "yellow_from": rule.yellow_from, "red_from": rule.red_from, "weights": rule.weights,
        "areas": areas,
    });
    let mut r = Json(body).into_response();
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static(crate::privacy::cache_control(caller.role, crate::privacy::Resource::Editable)));
    Ok(r)
}

fn one_json(s: &AppState, caller: &Caller, unit: &crate::units::Unit, week: &str, history: &[Assessment]) -> Value {
    let pic = &s.layers.picture;
    let (n, score) = est_week(pic, unit, week, &pic.rules.est_rule);
    let status = pic.rules.est_rule.status(score);
    let mine: Vec<&Assessment> = history.iter().filter(|a| a.area == unit.code && a.iso_week == week).collect();
    json!({
        "area": unit.code, "name": unit.name, "week": week,
        "computed": computed_json(s, caller, n, score, status),
        "assessment": mine.last().map(|a| assessment_json(a, caller)),
        "history": mine.iter().rev().map(|a| assessment_json(a, caller)).collect::<Vec<_>>(),
        "rule": pic.rules.est_rule.describe_sv(),
    })
}

fn unit_of(s: &AppState, area: &str) -> Result<crate::units::Unit, ApiError> {
    s.layers.units.resolve(area).cloned().ok_or_else(|| ApiError::NotFound(format!("no DeSO, RegSO or place matches '{area}'")))
}

/// `GET /api/est/{area}/{week}`: computed status, current bedömning and its history.
pub async fn one(State(s): State<AppState>, caller: Caller, Path((area, week)): Path<(String, String)>, RawQuery(q): RawQuery) -> Result<Response, ApiError> {
    check_params(q.as_deref(), &[])?;
    let week = week_param(&week)?;
    let unit = unit_of(&s, &area)?;
    let plan = s.plan.clone();
    let history = blocking(move || {
        Ok(match plan {
            Some(p) => p.assessments()?,
            None => vec![],
        })
    })
    .await?;
    let mut r = Json(one_json(&s, &caller, &unit, &week, &history)).into_response();
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static(crate::privacy::cache_control(caller.role, crate::privacy::Resource::Editable)));
    Ok(r)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AssessInput {
    status: String,
    #[serde(default)]
    comment: String,
}

/// `PUT /api/est/{area}/{week}` `{"status": "red", "comment": "…"}`: the group's bedömning.
pub async fn assess(State(s): State<AppState>, caller: Caller, Path((area, week)): Path<(String, String)>, body: Bytes) -> Result<Response, ApiError> {
    require_writer(&caller)?;
    let week = week_param(&week)?;
    let unit = unit_of(&s, &area)?;
    let input: AssessInput = parse_json(&body)?;
    super::input::text_max("comment", &input.comment, super::input::LONG)?;
    let status = match input.status.as_str() {
        "green" | "grön" => Status::Green,
        "yellow" | "gul" => Status::Yellow,
        "red" | "röd" => Status::Red,
        other => return Err(ApiError::Unprocessable(format!("status: '{other}' is not one of green, yellow, red"))),
    };
    if input.comment.chars().count() > 2000 {
        return Err(ApiError::Unprocessable("comment: at most 2000 characters".into()));
    }
    let a = Assessment {
        area: unit.code.clone(),
        iso_week: week.clone(),
        status,
        comment: input.comment.trim().to_string(),
        by: who(&caller),
        at: chrono::Local::now().format("%Y-%m-%dT%H:%M:%S").to_string(),
    };
    let store = plan_store(&s)?;
    let lock = s.plan_lock.clone();
    let history = blocking(move || {
        let _g = lock.lock();
        store.insert_assessment(&a)?;
        Ok(store.assessments()?)
    })
    .await?;
    let mut r = Json(one_json(&s, &caller, &unit, &week, &history)).into_response();
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static(crate::privacy::cache_control(caller.role, crate::privacy::Resource::Editable)));
    Ok(r)
}
