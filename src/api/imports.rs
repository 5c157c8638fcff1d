//! Imports over HTTP: `POST /api/imports/{kind}` (multipart, the CLI's options as text parts),
//! a dry run at `POST /api/imports/{kind}/preview`, the history at `GET /api/imports` and undo at
//! `DELETE /api/imports/{id}`. The upload is written to a temporary file and handed to
//! `import::run_import`, so the web and the command line share one validation and write path.

use super::auth::{Caller, Role};
use super::error::ApiError;
use super::AppState;
use crate::import::{run_import, ImportError, ImportKind, ImportOptions, ImportReport, Problem};
use crate::model::{Area, CategoryMap, ImportRecord, Incident, IndicatorValue};
use crate::store::{ImportBatch, Store, StoreError};
use axum::extract::{Multipart, Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::sync::Arc;

/// What the import endpoints need besides the picture: the store to write and the upload limit.
#[derive(Clone)]
pub struct ImportService {
    pub store: Arc<dyn Store>,
    pub max_upload_bytes: u64,
    /// One HTTP import or undo at a time: SQLite takes one writer anyway, and a queue of large
    /// uploads waiting on its lock would hold their temporary files meanwhile.
    pub write_lock: Arc<tokio::sync::Mutex<()>>,
}

/// Text parts an upload may carry, named like the CLI's options.
const OPTION_PARTS: &[&str] = &["columns", "crs", "year", "source", "deso_version", "category_map", "skip_invalid"];

fn service(s: &AppState) -> Result<&ImportService, ApiError> {
    s.imports.as_ref().ok_or_else(|| ApiError::NotFound("this service has no writable store".into()))
}

/// 401 without a token, 403 when the role is below `min`.
fn require(caller: &Caller, min: Role) -> Result<(), ApiError> {
    if caller.fingerprint.is_none() {
        return Err(ApiError::Unauthorized("sign in: this needs a token".into()));
    }
    if caller.role < min {
        return Err(ApiError::Forbidden(format!("role {} may not do this (needs {} or higher)", caller.role.as_str(), min.as_str())));
    }
    Ok(())
}

fn kind_of(kind: &str) -> Result<ImportKind, ApiError> {
    match kind {
        "incidents" => Ok(ImportKind::Incidents),
        "indicators" => Ok(ImportKind::Indicators),
        "areas" => Ok(ImportKind::Areas),
        other => Err(ApiError::NotFound(format!("no import kind '{other}' (incidents, indicators, areas)"))),
    }
}

/// The uploaded file in a temporary directory (removed when dropped) and the option parts.
struct Upload {
    dir: tempfile::TempDir,
    path: std::path::PathBuf,
    options: HashMap<String, String>,
}

/// Keeps the name's last component and its extension (the reader picks the format by it).
fn safe_name(raw: &str) -> String {
    let base = raw.rsplit(['/', '\\']).next().unwrap_or("");
    let clean: String = base.chars().map(|c| if c.is_alphanumeric() || "._- ".contains(c) { c } else { '_' }).collect();
    let clean = clean.trim().trim_start_matches('.').to_string();
    if clean.is_empty() {
        "upload.csv".into()
    } else {
        clean
    }
}

fn multipart_error(e: axum::extract::multipart::MultipartError) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::PayloadTooLarge(format!("the upload is larger than the limit: {}", e.body_text()))
    } else {
        // The deepest cause says why (a body arriving too slowly, cut off by `limits`).
        let mut why = e.body_text();
        let mut cause = std::error::Error::source(&e);
        while let Some(c) = cause {
            why = c.to_string();
            cause = c.source();
        }
        ApiError::BadRequest(format!("cannot read the multipart body: {why}"))
    }
}

async fn receive(svc: &ImportService, headers: &HeaderMap, mut mp: Multipart) -> Result<Upload, ApiError> {
    let limit = svc.max_upload_bytes;
    let too_large = || ApiError::PayloadTooLarge(format!("the upload exceeds {} MB (--max-upload-mb)", limit / (1024 * 1024)));
    if let Some(n) = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok()) {
        if n > limit {
            return Err(too_large());
        }
    }
    let dir = tempfile::Builder::new().prefix("lagesbild-upload-").tempdir().map_err(|e| ApiError::Internal(e.into()))?;
    let mut path = None;
    let mut options = HashMap::new();
    while let Some(mut field) = mp.next_field().await.map_err(multipart_error)? {
        let name = field.name().unwrap_or("").to_string();
        if name == "file" {
            if path.is_some() {
                return Err(ApiError::BadRequest("send one part named 'file'".into()));
            }
            let p = dir.path().join(safe_name(field.file_name().unwrap_or("upload.csv")));
            let mut out = std::fs::File::create(&p).map_err(|e| ApiError::Internal(e.into()))?;
            let mut written: u64 = 0;
            while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
                written += chunk.len() as u64;
                if written > limit {
                    return Err(too_large());
                }
                out.write_all(&chunk).map_err(|e| ApiError::Internal(e.into()))?;
            }
            path = Some(p);
        } else if OPTION_PARTS.contains(&name.as_str()) {
            let v = field.text().await.map_err(multipart_error)?;
            options.insert(name, v);
        } else {
            return Err(ApiError::BadRequest(format!("unknown part '{name}' (file, {})", OPTION_PARTS.join(", "))));
        }
    }
    let path = path.ok_or_else(|| ApiError::BadRequest("the upload has no part named 'file'".into()))?;
    Ok(Upload { dir, path, options })
}

/// The CLI's options from the text parts.
fn options(up: &Upload, by: String) -> Result<ImportOptions, ApiError> {
    let o = &up.options;
    let mut opts = ImportOptions { imported_by: Some(by), ..Default::default() };
    if let Some(c) = o.get("columns").filter(|c| !c.trim().is_empty()) {
        for pair in c.split(',').filter(|p| !p.trim().is_empty()) {
            let (k, v) = pair.split_once('=').ok_or_else(|| ApiError::BadRequest(format!("columns: expected NAME=COLUMN, got '{pair}'")))?;
            opts.columns.insert(k.trim().to_string(), v.trim().to_string());
        }
    }
    if let Some(c) = o.get("crs").map(|c| c.trim()).filter(|c| !c.is_empty()) {
        let code = c.strip_prefix("EPSG:").or_else(|| c.strip_prefix("epsg:")).unwrap_or(c);
        opts.source.crs_epsg = Some(code.parse().map_err(|_| ApiError::BadRequest(format!("crs '{c}' is not EPSG:NNNN")))?);
    }
    if let Some(y) = o.get("year").map(|y| y.trim()).filter(|y| !y.is_empty()) {
        opts.year = Some(y.parse().map_err(|_| ApiError::BadRequest(format!("year '{y}' is not a year")))?);
    }
    opts.source_label = o.get("source").map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
    if let Some(v) = o.get("deso_version").map(|v| v.trim()).filter(|v| !v.is_empty()) {
        if v != "2018" && v != "2025" {
            return Err(ApiError::BadRequest(format!("deso_version '{v}' is not 2018 or 2025")));
        }
        opts.deso_version = Some(v.to_string());
    }
    if let Some(text) = o.get("category_map").filter(|t| !t.trim().is_empty()) {
        let p = up.dir.path().join(".category_map.csv");
        std::fs::write(&p, text).map_err(|e| ApiError::Internal(e.into()))?;
        opts.category_map = Some(CategoryMap::with_file(&p).map_err(|e| ApiError::BadRequest(format!("category_map: {e}")))?);
    }
    opts.skip_invalid = match o.get("skip_invalid").map(|v| v.trim().to_ascii_lowercase()) {
        None => false,
        Some(v) if ["", "false", "0", "no", "off"].contains(&v.as_str()) => false,
        Some(v) if ["true", "1", "yes", "on"].contains(&v.as_str()) => true,
        Some(v) => return Err(ApiError::BadRequest(format!("skip_invalid '{v}' is not true or false"))),
    };
    Ok(opts)
}

/// `{"line": N, "reason"}` for CSV rows, `{"feature": N, "reason"}` for OGR features.
pub fn problem_json(p: &Problem) -> Value {
    if let Some((_, tail)) = p.location.rsplit_once(':') {
        if let Some(n) = tail.trim().strip_prefix("feature ").and_then(|n| n.parse::<u64>().ok()) {
            return json!({"feature": n, "reason": p.reason});
        }
        if let Ok(n) = tail.trim().parse::<u64>() {
            return json!({"line": n, "reason": p.reason});
        }
    }
    json!({"location": p.location, "reason": p.reason})
}

pub fn record_json(r: &ImportRecord) -> Value {
    json!({"id": r.import_id, "kind": r.kind, "file": r.file_name, "sha256": r.sha256, "accepted": r.accepted, "rejected": r.rejected, "by": r.imported_by, "at": r.imported_at})
}

fn who(caller: &Caller) -> String {
    format!("{}:{}", caller.role.as_str(), caller.fingerprint.as_deref().unwrap_or("-"))
}

/// Errors of a refused import as the 422 body; messages name the uploaded file, not the
/// temporary directory it was written to.
fn refusal(e: ImportError, up: &Upload) -> ApiError {
    let dir = format!("{}/", up.dir.path().display());
    let clean = |s: String| s.replace(&dir, "");
    match e {
        ImportError::Invalid { problems, .. } => ApiError::Rejected { total: problems.len(), problems: problems.iter().map(problem_json).collect() },
        ImportError::Store(e) => ApiError::Internal(e.into()),
        other => ApiError::Rejected { problems: vec![json!({"reason": clean(other.to_string())})], total: 1 },
    }
}

fn report_json(r: &ImportReport) -> Value {
    let mut v = record_json(&r.record);
    v["warnings"] = json!(r.warnings);
    v["columns"] = json!(r.columns_used);
    v["problems"] = Value::Array(r.rejects.iter().map(|(_, p)| problem_json(p)).collect());
    v
}

/// `POST /api/imports/{kind}`: 201 with the import record, 422 with every problem.
pub async fn upload(State(s): State<AppState>, caller: Caller, Path(kind): Path<String>, headers: HeaderMap, mp: Multipart) -> Result<Response, ApiError> {
    require(&caller, Role::Editor)?;
    let kind = kind_of(&kind)?;
    let svc = service(&s)?.clone();
    let up = receive(&svc, &headers, mp).await?;
    let opts = options(&up, who(&caller))?;
    let _turn = svc.write_lock.lock().await;
    let store = svc.store.clone();
    let path = up.path.clone();
    let result =
        tokio::task::spawn_blocking(move || run_import(store.as_ref(), kind, &path, &opts, &|_, _| {})).await.map_err(|e| ApiError::Internal(e.into()))?;
    let report = result.map_err(|e| refusal(e, &up))?;
    s.audit.record(&caller, "imports", &format!("POST /api/imports/{} {}", kind.as_str(), report.record.import_id), report.record.accepted as usize);
    s.request_reload();
    Ok((StatusCode::CREATED, Json(report_json(&report))).into_response())
}

/// A store that reads through to the real one and writes nothing: a dry run of an import.
struct DryRun<'a>(&'a dyn Store);

impl Store for DryRun<'_> {
    fn areas(&self) -> Result<Vec<Area>, StoreError> {
        self.0.areas()
    }
    fn indicators(&self) -> Result<Vec<IndicatorValue>, StoreError> {
        self.0.indicators()
    }
    fn incidents(&self) -> Result<Vec<Incident>, StoreError> {
        self.0.incidents()
    }
    fn imports(&self) -> Result<Vec<ImportRecord>, StoreError> {
        self.0.imports()
    }
    fn incident_ids(&self) -> Result<HashSet<String>, StoreError> {
        self.0.incident_ids()
    }
    fn area_keys(&self) -> Result<HashSet<(String, String)>, StoreError> {
        self.0.area_keys()
    }
    fn write_import(&self, _: &ImportBatch, _: &ImportRecord) -> Result<(), StoreError> {
        Ok(())
    }
    fn describe(&self) -> String {
        format!("dry run on {}", self.0.describe())
    }
}

/// `POST /api/imports/{kind}/preview`: the columns found, the first rows, the mapping the import
/// would use and every problem, from the same validation, without writing anything.
pub async fn preview(State(s): State<AppState>, caller: Caller, Path(kind): Path<String>, headers: HeaderMap, mp: Multipart) -> Result<Response, ApiError> {
    require(&caller, Role::Editor)?;
    let kind = kind_of(&kind)?;
    let svc = service(&s)?.clone();
    let up = receive(&svc, &headers, mp).await?;
    let mut opts = options(&up, who(&caller))?;
    let all_or_nothing = !opts.skip_invalid;
    // Validate every row and keep going past bad ones, so the editor sees all problems and the
    // mapping at once; whether they would refuse the file is reported as `would_import`.
    opts.skip_invalid = true;
    let store = svc.store.clone();
    let path = up.path.clone();
    let (head, result) = tokio::task::spawn_blocking(move || {
        let head = crate::io::read_source(&path, &opts.source).map(|d| {
            let rows: Vec<Vec<String>> = d.records.iter().take(10).map(|r| r.fields.iter().map(|(_, v)| v.clone()).collect()).collect();
            (d.file_name, d.columns, rows, d.records.len())
        });
        (head, run_import(&DryRun(store.as_ref()), kind, &path, &opts, &|_, _| {}))
    })
    .await
    .map_err(|e| ApiError::Internal(e.into()))?;
    let (file, columns, rows, total_rows) = head.map_err(|e| refusal(ImportError::Source(e), &up))?;
    let mut body = json!({"kind": kind.as_str(), "file": file, "columns": columns, "rows": rows, "total_rows": total_rows});
    match result {
        Ok(r) => {
            let problems: Vec<Value> = r.rejects.iter().map(|(_, p)| problem_json(p)).collect();
            body["would_import"] = (problems.is_empty() || !all_or_nothing).into();
            body["accepted"] = r.record.accepted.into();
            body["mapping"] = json!(r.columns_used);
            body["warnings"] = json!(r.warnings);
            body["total"] = problems.len().into();
            body["problems"] = Value::Array(problems);
        }
        Err(e) => {
            let (problems, total) = match refusal(e, &up) {
                ApiError::Rejected { problems, total } => (problems, total),
                other => return Err(other),
            };
            body["would_import"] = false.into();
            body["accepted"] = 0.into();
            body["mapping"] = json!({});
            body["total"] = total.into();
            body["problems"] = Value::Array(problems);
        }
    }
    Ok(Json(body).into_response())
}

/// `GET /api/imports`: the history, newest first.
pub async fn list(State(s): State<AppState>, caller: Caller) -> Result<Response, ApiError> {
    require(&caller, Role::Analyst)?;
    let store = service(&s)?.store.clone();
    let mut records = tokio::task::spawn_blocking(move || store.imports()).await.map_err(|e| ApiError::Internal(e.into()))?.or_else(|e| match e {
        StoreError::Missing { .. } => Ok(vec![]),
        e => Err(ApiError::Internal(e.into())),
    })?;
    records.sort_by(|a, b| b.imported_at.cmp(&a.imported_at));
    let items: Vec<Value> = records.iter().map(record_json).collect();
    Ok(Json(json!({"imports": items, "total": items.len(), "can_write": caller.role >= Role::Editor})).into_response())
}

/// `DELETE /api/imports/{id}`: removes what that import added, in one transaction; audited.
pub async fn delete(State(s): State<AppState>, caller: Caller, Path(id): Path<String>) -> Result<Response, ApiError> {
    require(&caller, Role::Editor)?;
    let svc = service(&s)?.clone();
    let _turn = svc.write_lock.lock().await;
    let store = svc.store.clone();
    let id2 = id.clone();
    let deleted = tokio::task::spawn_blocking(move || store.delete_import(&id2)).await.map_err(|e| ApiError::Internal(e.into()))?.map_err(|e| match e {
        StoreError::Corrupt { reason, .. } => ApiError::Conflict(reason),
        other => ApiError::Internal(other.into()),
    })?;
    let Some(d) = deleted else {
        return Err(ApiError::NotFound(format!("no import '{id}'")));
    };
    s.audit.record(&caller, "imports", &format!("DELETE /api/imports/{id}"), d.removed as usize);
    s.request_reload();
    let mut v = record_json(&d.record);
    v["removed"] = d.removed.into();
    v["undone_by"] = who(&caller).into();
    Ok(Json(v).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problems_name_the_line_for_csv_and_the_feature_for_ogr_sources() {
        let csv = Problem { location: "a.csv:3".into(), reason: "bad".into() };
        let ogr = Problem { location: "a.gpkg:feature 7".into(), reason: "bad".into() };
        assert_eq!(problem_json(&csv), json!({"line": 3, "reason": "bad"}));
        assert_eq!(problem_json(&ogr), json!({"feature": 7, "reason": "bad"}));
    }

    #[test]
    fn upload_names_keep_their_extension_and_lose_their_directories() {
        assert_eq!(safe_name("../../etc/händelser.csv"), "händelser.csv");
        assert_eq!(safe_name("C:\\data\\x.geojson"), "x.geojson");
        assert_eq!(safe_name(""), "upload.csv");
    }
}
