//! Reports over HTTP (analysts and up): `GET /api/reports/est?period=2026-W12|2026-03|2026-T1`
//! and `GET /api/reports/lagesbild?year=2026`, `format=html|pdf|json`; and the year's
//! orsaksanalys, `GET/PUT /api/orsaksanalys/{year}` (editors write; every save is kept).

use super::actions::{plan_store, require_reader, require_writer};
use super::auth::Caller;
use super::error::{check_params, ApiError};
use super::walks::{blocking, parse_json, who};
use super::AppState;
use crate::plan::CauseAnalysis;
use crate::report::{self, Inputs, ReportError};
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;

impl From<ReportError> for ApiError {
    fn from(e: ReportError) -> ApiError {
        match e {
            ReportError::Period(_) | ReportError::Year(_) => ApiError::BadRequest(e.to_string()),
            ReportError::Pdf(_) => ApiError::Internal(Box::new(e)),
            ReportError::Store(s) => s.into(),
        }
    }
}

fn inputs(s: &AppState) -> Result<Inputs, ApiError> {
    let mut i = Inputs { police: s.police.as_ref().clone(), goals: s.config.goals.clone(), ..Default::default() };
    if let Some(p) = &s.plan {
        i.actions = p.actions()?;
        i.assessments = p.assessments()?;
        i.cause_analyses = p.cause_analyses()?;
    }
    if let Some(w) = &s.walk_store {
        i.walks = w.walks()?;
        i.observations = w.observations(None)?;
    }
    Ok(i)
}

/// `GET /api/reports/{est|lagesbild}`.
pub async fn report(State(s): State<AppState>, caller: Caller, Path(kind): Path<String>, RawQuery(q): RawQuery) -> Result<Response, ApiError> {
    require_reader(&caller)?;
    let pairs = check_params(q.as_deref(), &["period", "year", "format"])?;
    let get = |k: &str| pairs.iter().find(|(a, _)| a == k).map(|(_, v)| v.clone());
    let format = get("format").unwrap_or_else(|| "html".into());
    if !["html", "pdf", "json"].contains(&format.as_str()) {
        return Err(ApiError::BadRequest(format!("format '{format}' is not one of html, pdf, json")));
    }
    enum Which {
        Est(String),
        Year(i32),
    }
    let which = match kind.as_str() {
        "est" => Which::Est(get("period").ok_or_else(|| ApiError::BadRequest("period is required (2026-W12, 2026-03 or 2026-T1)".into()))?),
        "lagesbild" => {
            let y = get("year").ok_or_else(|| ApiError::BadRequest("year is required (2026)".into()))?;
            Which::Year(y.parse().map_err(|_| ApiError::BadRequest(format!("year '{y}' is not a year")))?)
        }
        other => return Err(ApiError::NotFound(format!("no report '{other}' (est, lagesbild)"))),
    };
    // A report reads every incident (and a PDF starts a browser): it takes an analysis turn.
    let permit = s.analysis.limiter.acquire().await?;
    let st = s.clone();
    let fmt = format.clone();
    let (body, name) = blocking(move || {
        let _permit = permit;
        let inp = inputs(&st)?;
        let (pic, units) = (&st.layers.picture, &st.layers.units);
        let (html, json, name) = match which {
            Which::Est(p) => {
                let r = report::est::build(pic, units, &inp, &p)?;
                (report::est::to_html(&r), serde_json::to_vec(&r)?, format!("est-{}", r.period.label))
            }
            Which::Year(y) => {
                let r = report::yearly::build(pic, units, &inp, y)?;
                (report::yearly::to_html(&r), serde_json::to_vec(&r)?, format!("lagesbild-{y}"))
            }
        };
        let body = match fmt.as_str() {
            "pdf" => report::pdf::html_to_pdf_bytes(&html)?,
            "json" => json,
            _ => html.into_bytes(),
        };
        Ok((body, name))
    })
    .await?;
    let ctype = match format.as_str() {
        "pdf" => "application/pdf",
        "json" => "application/json",
        _ => "text/html; charset=utf-8",
    };
    let mut r = ([(header::CONTENT_TYPE, ctype)], body).into_response();
    if format == "pdf" {
        if let Ok(v) = HeaderValue::from_str(&format!("inline; filename=\"{name}.pdf\"")) {
            r.headers_mut().insert(header::CONTENT_DISPOSITION, v);
        }
    }
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static(crate::privacy::cache_control(caller.role, crate::privacy::Resource::Restricted)));
    Ok(r)
}

fn year_of(y: &str) -> Result<i32, ApiError> {
    y.parse::<i32>().ok().filter(|y| (2000..=2100).contains(y)).ok_or_else(|| ApiError::BadRequest(format!("year '{y}' is not a year (2000–2100)")))
}

/// `GET /api/orsaksanalys/{year}`: the current text and every earlier version.
pub async fn get_cause_analysis(State(s): State<AppState>, caller: Caller, Path(year): Path<String>, RawQuery(q): RawQuery) -> Result<Response, ApiError> {
    require_reader(&caller)?;
    check_params(q.as_deref(), &[])?;
    let year = year_of(&year)?;
    let store = plan_store(&s)?;
    let all = blocking(move || Ok(store.cause_analyses()?)).await?;
    let mine: Vec<&CauseAnalysis> = all.iter().filter(|c| c.year == year).collect();
    Ok(Json(serde_json::json!({"year": year, "current": mine.last(), "history": mine.iter().rev().collect::<Vec<_>>()})).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CauseInput {
    text: String,
}

/// `PUT /api/orsaksanalys/{year}` `{"text": "…"}`: a new version of the year's orsaksanalys.
pub async fn put_cause_analysis(State(s): State<AppState>, caller: Caller, Path(year): Path<String>, body: Bytes) -> Result<Response, ApiError> {
    require_writer(&caller)?;
    let year = year_of(&year)?;
    let input: CauseInput = parse_json(&body)?;
    super::input::text_max("text", &input.text, 100_000)?;
    if input.text.chars().count() > 100_000 {
        return Err(ApiError::Unprocessable("text: at most 100,000 characters".into()));
    }
    let c = CauseAnalysis { year, text: input.text, by: who(&caller), at: chrono::Local::now().format("%Y-%m-%dT%H:%M:%S").to_string() };
    let store = plan_store(&s)?;
    let lock = s.plan_lock.clone();
    let c2 = c.clone();
    blocking(move || {
        let _g = lock.lock();
        Ok(store.insert_cause_analysis(&c2)?)
    })
    .await?;
    Ok(Json(c).into_response())
}
