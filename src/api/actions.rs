//! The åtgärdsplan over HTTP: `GET/POST /api/actions`, `GET/PUT/DELETE /api/actions/{id}` and
//! `GET /api/actions/{id}/followup`. Analysts read, editors write; writes carry the ETag read
//! (`If-Match`: missing → 428, stale → 412), as walks do.

use super::auth::Caller;
use super::error::{check_params, ApiError};
use super::walks::{blocking, if_match, parse_json, who, with_etag};
use super::AppState;
use crate::plan::{self, Action, ActionLevel, ActionStatus};
use crate::store::PlanStore;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use std::sync::Arc;

impl From<plan::Invalid> for ApiError {
    fn from(e: plan::Invalid) -> ApiError {
        ApiError::Unprocessable(e.to_string())
    }
}

pub(super) fn plan_store(s: &AppState) -> Result<Arc<dyn PlanStore>, ApiError> {
    s.plan.clone().ok_or_else(|| ApiError::NotFound("this service keeps no åtgärdsplan".into()))
}

pub(super) fn require_reader(c: &Caller) -> Result<(), ApiError> {
    if c.role.reads_reports() {
        Ok(())
    } else if c.authenticated() {
        Err(ApiError::Forbidden("this needs the analyst role or higher".into()))
    } else {
        Err(ApiError::Unauthorized("this needs a token with the analyst role or higher".into()))
    }
}

pub(super) fn require_writer(c: &Caller) -> Result<(), ApiError> {
    if c.role.writes_plan() {
        Ok(())
    } else if c.authenticated() {
        Err(ApiError::Forbidden("writing needs the editor role".into()))
    } else {
        Err(ApiError::Unauthorized("writing needs a token with the editor role".into()))
    }
}

/// What a client sends: every field the register names, no others.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ActionInput {
    title: String,
    area: String,
    #[serde(default)]
    problem: String,
    responsible: String,
    start: String,
    #[serde(default)]
    end: Option<String>,
    #[serde(default)]
    desired_result: String,
    #[serde(default)]
    outcome: String,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    level: Option<String>,
    #[serde(default)]
    finding: Option<String>,
    #[serde(default)]
    hotspot: Option<String>,
}

fn from_input(i: ActionInput, id: String, by: &str, created: Option<&Action>, version: i64, s: &AppState) -> Result<Action, ApiError> {
    use super::input::{self, LONG, SHORT};
    input::title("title", &i.title)?;
    for (field, value, max) in [("area", &i.area, SHORT), ("problem", &i.problem, LONG), ("responsible", &i.responsible, SHORT), ("start", &i.start, SHORT)] {
        input::text_max(field, value, max)?;
    }
    for (field, value) in [("desired_result", &i.desired_result), ("outcome", &i.outcome)] {
        input::text_max(field, value, LONG)?;
    }
    let status = match i.status.as_deref() {
        None => ActionStatus::Planned,
        Some(x) => ActionStatus::parse(x).ok_or_else(|| ApiError::Unprocessable(format!("status: '{x}' is not one of planned, ongoing, done, cancelled")))?,
    };
    let level = match i.level.as_deref() {
        None => ActionLevel::General,
        Some(x) => ActionLevel::parse(x).ok_or_else(|| ApiError::Unprocessable(format!("level: '{x}' is not one of general, group, individual")))?,
    };
    let now = chrono::Local::now().format("%Y-%m-%dT%H:%M:%S").to_string();
    let a = Action {
        id,
        title: i.title.trim().to_string(),
        area: i.area.trim().to_string(),
        problem: i.problem,
        responsible: i.responsible.trim().to_string(),
        start: plan::parse_date("start", &i.start)?,
        end: i.end.filter(|e| !e.trim().is_empty()).map(|e| plan::parse_date("end", &e)).transpose()?,
        desired_result: i.desired_result,
        outcome: i.outcome,
        status,
        level,
        finding: i.finding.filter(|x| !x.trim().is_empty()),
        hotspot: i.hotspot.filter(|x| !x.trim().is_empty()),
        created_by: created.map(|c| c.created_by.clone()).unwrap_or_else(|| by.to_string()),
        created_at: created.map(|c| c.created_at.clone()).unwrap_or_else(|| now.clone()),
        updated_by: by.to_string(),
        updated_at: now,
        version,
    };
    let units = s.layers.units.clone();
    plan::validate(&a, &|name| units.resolve(name).is_some())?;
    Ok(a)
}

fn find(store: &dyn PlanStore, id: &str) -> Result<Action, ApiError> {
    store.actions()?.into_iter().find(|a| a.id == id).ok_or_else(|| ApiError::NotFound(format!("no insats '{id}'")))
}

/// `GET /api/actions?status=&area=`.
pub async fn list(State(s): State<AppState>, caller: Caller, RawQuery(q): RawQuery) -> Result<Response, ApiError> {
    require_reader(&caller)?;
    let pairs = check_params(q.as_deref(), &["status", "area"])?;
    let get = |k: &str| pairs.iter().find(|(a, _)| a == k).map(|(_, v)| v.clone());
    let (status, area) = (get("status"), get("area"));
    if let Some(st) = &status {
        ActionStatus::parse(st).ok_or_else(|| ApiError::BadRequest(format!("status '{st}' is not one of planned, ongoing, done, cancelled")))?;
    }
    let store = plan_store(&s)?;
    let all = blocking(move || Ok(store.actions()?)).await?;
    let list: Vec<&Action> = all
        .iter()
        .filter(|a| status.as_deref().is_none_or(|st| a.status.as_str() == st))
        .filter(|a| area.as_deref().is_none_or(|ar| crate::model::fold(&a.area) == crate::model::fold(ar)))
        .collect();
    let mut r = Json(serde_json::json!({ "actions": list })).into_response();
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static(crate::privacy::cache_control(caller.role, crate::privacy::Resource::Restricted)));
    Ok(r)
}

pub async fn create(State(s): State<AppState>, caller: Caller, body: Bytes) -> Result<Response, ApiError> {
    require_writer(&caller)?;
    let store = plan_store(&s)?;
    let input: ActionInput = parse_json(&body)?;
    let a = from_input(input, crate::walks::new_id("i"), &who(&caller), None, 1, &s)?;
    let (a2, lock) = (a.clone(), s.plan_lock.clone());
    blocking(move || {
        let _g = lock.lock();
        Ok(store.insert_action(&a2)?)
    })
    .await?;
    let mut r = (StatusCode::CREATED, Json(&a)).into_response();
    r.headers_mut().insert(header::LOCATION, HeaderValue::from_str(&format!("/api/actions/{}", a.id)).map_err(|_| ApiError::internal("id is not ASCII"))?);
    Ok(with_etag(r, a.version))
}

pub async fn get_one(State(s): State<AppState>, caller: Caller, Path(id): Path<String>, RawQuery(q): RawQuery) -> Result<Response, ApiError> {
    require_reader(&caller)?;
    check_params(q.as_deref(), &[])?;
    let store = plan_store(&s)?;
    let a = blocking(move || find(store.as_ref(), &id)).await?;
    Ok(with_etag(Json(&a).into_response(), a.version))
}

pub async fn update(State(s): State<AppState>, caller: Caller, headers: HeaderMap, Path(id): Path<String>, body: Bytes) -> Result<Response, ApiError> {
    require_writer(&caller)?;
    let expected = if_match(&headers)?;
    let store = plan_store(&s)?;
    let input: ActionInput = parse_json(&body)?;
    let (by, lock, st) = (who(&caller), s.plan_lock.clone(), s.clone());
    let a = blocking(move || {
        let _g = lock.lock();
        let old = find(store.as_ref(), &id)?;
        let a = from_input(input, old.id.clone(), &by, Some(&old), expected + 1, &st)?;
        store.replace_action(&a, expected).map_err(|e| ApiError::from_write(e, "insats"))?;
        Ok(a)
    })
    .await?;
    Ok(with_etag(Json(&a).into_response(), a.version))
}

pub async fn delete(State(s): State<AppState>, caller: Caller, headers: HeaderMap, Path(id): Path<String>) -> Result<Response, ApiError> {
    require_writer(&caller)?;
    let expected = if_match(&headers)?;
    let store = plan_store(&s)?;
    let lock = s.plan_lock.clone();
    blocking(move || {
        let _g = lock.lock();
        store.delete_action(&id, expected).map_err(|e| ApiError::from_write(e, "insats"))
    })
    .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET /api/actions/{id}/followup`: incidents in the insats's area before and after its start,
/// over periods of the same length.
pub async fn followup(State(s): State<AppState>, caller: Caller, Path(id): Path<String>, RawQuery(q): RawQuery) -> Result<Response, ApiError> {
    require_reader(&caller)?;
    check_params(q.as_deref(), &[])?;
    let store = plan_store(&s)?;
    let st = s.clone();
    let f = blocking(move || {
        let a = find(store.as_ref(), &id)?;
        Ok(crate::report::followup(&st.layers.picture, &st.layers.units, &a))
    })
    .await?;
    let mut r = Json(f).into_response();
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static(crate::privacy::cache_control(caller.role, crate::privacy::Resource::Restricted)));
    Ok(r)
}
